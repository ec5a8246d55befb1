"""A drafted rubric as commented YAML (ordered as docs/rubrics.md) and as an explanation of its sources."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

from .steps import step_title

if TYPE_CHECKING:
    from .draft import CriterionOrigin, RubricDraft
    from .draft_terms import SourceSentence

__all__ = ["render_explanation", "render_yaml"]

# Wide enough for a description on one line, narrow enough to read model answers without scrolling.
YAML_WIDTH = 100


def _dump(value: Any, indent: int) -> list[str]:
    text = yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=YAML_WIDTH, default_flow_style=False)
    return [" " * indent + line if line else line for line in text.rstrip("\n").split("\n")]


def _ordered_criterion(crit: dict[str, Any]) -> dict[str, Any]:
    """A criterion's fields in the format's order, defaults left out except the weight."""
    out: dict[str, Any] = {"id": crit["id"], "description": crit["description"], "weight": crit["weight"]}
    concepts = []
    for c in crit["concepts"]:
        concept: dict[str, Any] = {"name": c["name"]}
        if c.get("aliases"):
            concept["aliases"] = c["aliases"]
        if c.get("weight", 1.0) != 1.0:
            concept["weight"] = c["weight"]
        if c.get("shared"):
            concept["shared"] = True
        concepts.append(concept)
    out["concepts"] = concepts
    out["model_answer"] = crit["model_answer"]
    if crit.get("anti_patterns"):
        out["anti_patterns"] = [
            {k: a[k] for k in ("id", "description", "weight", "triggers", "unless") if a.get(k) or k != "unless"}
            for a in crit["anti_patterns"]
        ]
    return out


def _lines_of(sentences: tuple[SourceSentence, ...], sources: tuple[str, ...]) -> str:
    by_answer: dict[int, list[int]] = {}
    for s in sentences:
        by_answer.setdefault(s.answer, []).append(s.line)
    parts = []
    for answer, lines in sorted(by_answer.items()):
        runs: list[list[int]] = []
        for n in sorted(set(lines)):
            if runs and n == runs[-1][1] + 1:
                runs[-1][1] = n
            else:
                runs.append([n, n])
        shown = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
        parts.append(f"{sources[answer]} line{'s' if len(set(lines)) > 1 else ''} {shown}")
    return "; ".join(parts)


def _criterion_comment(origin: CriterionOrigin, sources: tuple[str, ...]) -> list[str]:
    if origin.generic:
        return ["# from rubrics/generic.yaml: no model answer covers this step"]
    return [f"# from {_lines_of(origin.sentences, sources)}"]


def render_yaml(draft: RubricDraft) -> str:
    """The draft as YAML with comments saying where each step and criterion came from."""
    rubric = draft.rubric
    data = rubric.model_dump(mode="json")
    n = len(draft.sources)
    lines = [
        f"# Drafted by `mlsd-grader rubrics draft` from {n} model answer{'s' if n > 1 else ''}:",
        *(f"#   {name}" for name in draft.sources),
        f"# Sentences grouped with {draft.grouping}.",
        "# A starting point: read each criterion, rewrite its description, prune or add concepts and",
        "# aliases, then `mlsd-grader rubrics validate` and `mlsd-grader rubrics lint` it",
        "# (docs/rubrics.md, 'Add your own question').",
    ]
    lines += _dump({k: data[k] for k in ("id", "version", "title", "question")}, 0)
    lines.append("steps:")
    origins = {o.criterion_id: o for o in draft.origins}
    for step in data["steps"]:
        share = draft.step_shares.get(step["id"], 0.0)
        lines.append("")
        if step["id"] in draft.uncovered:
            lines.append(f"  # {step_title(step['id'])}: not covered by the model answers; weight at the floor,")
            lines.append("  # criteria copied from the generic rubric.")
        else:
            lines.append(f"  # {step_title(step['id'])}: {share:.0%} of the model answers' words.")
        lines += _dump([{"id": step["id"], "weight": step["weight"]}], 2)
        lines.append("    criteria:")
        for crit in step["criteria"]:
            lines += ["      " + c for c in _criterion_comment(origins[crit["id"]], draft.sources)]
            lines += _dump([_ordered_criterion(crit)], 6)
    return "\n".join(lines) + "\n"


def render_explanation(draft: RubricDraft) -> str:
    """Each step's share and each criterion's sentences, concepts and aliases, with where they came from."""
    out = [f"draft {draft.rubric.id} from {len(draft.sources)} model answer(s); sentences grouped with {draft.grouping}"]
    origins: dict[str, list[CriterionOrigin]] = {}
    for o in draft.origins:
        origins.setdefault(o.step, []).append(o)
    for step in draft.rubric.steps:
        share = draft.step_shares.get(step.id, 0.0)
        if step.id in draft.uncovered:
            ids = ", ".join(c.id for c in step.criteria)
            out.append(f"{step.id}: weight {step.weight:g}, {share:.0%} of the words: not covered; "
                       f"criteria {ids} from rubrics/generic.yaml")
            continue
        out.append(f"{step.id}: weight {step.weight:g}, {share:.0%} of the words")
        weights = {c.id: c.weight for c in step.criteria}
        for o in origins.get(step.id, []):
            out.append(f"  {o.criterion_id} (weight {weights[o.criterion_id]:g}): "
                       f"{len(o.sentences)} sentence(s) from {_lines_of(o.sentences, draft.sources)}")
            for c in o.concepts:
                kind = "" if c.rare else ", no rarer term in these sentences"
                out.append(f"    concept {c.name!r}: {c.count}x here, in {c.answers} answer(s), Zipf {c.zipf:g}{kind}")
                for alias, why in c.aliases:
                    out.append(f"      alias {alias!r}: {why}")
    return "\n".join(out) + "\n"
