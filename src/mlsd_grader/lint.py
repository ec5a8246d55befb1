"""Rubric lint: problems a valid rubric can still have that make its grades worse."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from .keywords import SectionText, find_anti_pattern
from .rubric import Concept, Rubric
from .text import normalize_phrase

__all__ = ["LintWarning", "lint_rubric", "MIN_MODEL_ANSWER_WORDS", "MAX_WEIGHT_RATIO"]

# A model answer below this many words gives the encoder too little to align with: one short sentence
# matches generic phrasing in any answer. The bundled model answers are 40-110 words.
MIN_MODEL_ANSWER_WORDS = 20
# Weights of siblings (steps of a rubric, criteria of a step) more than this far apart are probably a
# typo (10 for 1.0); the bundled rubrics stay within a factor of 3.5.
MAX_WEIGHT_RATIO = 5.0


@dataclass(frozen=True, slots=True)
class LintWarning:
    """One finding: where (a field path like ``steps.2.criteria.0``) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def _key(phrase: str) -> str:
    return "".join(normalize_phrase(phrase))


def lint_rubric(rubric: Rubric) -> list[LintWarning]:
    """Every lint finding of ``rubric``, in rubric order."""
    out: list[LintWarning] = []
    # phrase key -> [(step index, concept name, shared, path)]
    owners: dict[str, list[tuple[int, str, bool, str]]] = defaultdict(list)
    step_weights = [s.weight for s in rubric.steps]
    if max(step_weights) > MAX_WEIGHT_RATIO * min(step_weights):
        out.append(LintWarning("steps", f"step weights range from {min(step_weights)} to {max(step_weights)}"))
    for si, step in enumerate(rubric.steps):
        crit_weights = [c.weight for c in step.criteria]
        if max(crit_weights) > MAX_WEIGHT_RATIO * min(crit_weights):
            out.append(LintWarning(f"steps.{si}", f"criterion weights range from {min(crit_weights)} to {max(crit_weights)}"))
        for ci, crit in enumerate(step.criteria):
            path = f"steps.{si}.criteria.{ci}"
            if not crit.concepts:
                out.append(LintWarning(path, f"criterion {crit.id!r} has no concepts: only similarity can score it"))
            words = len(crit.model_answer.split())
            if words < MIN_MODEL_ANSWER_WORDS:
                out.append(LintWarning(f"{path}.model_answer", f"model answer of {crit.id!r} has {words} words; "
                                       f"write at least {MIN_MODEL_ANSWER_WORDS}"))
            answer = SectionText(crit.model_answer, [(0, len(crit.model_answer))])
            if crit.concepts and not any(answer.positive_evidence(c.phrases) for c in crit.concepts):
                out.append(LintWarning(f"{path}.model_answer", f"model answer of {crit.id!r} mentions none of its concepts"))
            for ai, anti in enumerate(crit.anti_patterns):
                if find_anti_pattern(answer, anti):
                    out.append(LintWarning(f"{path}.anti_patterns.{ai}",
                                           f"anti-pattern {anti.id!r} fires on its own criterion's model answer"))
            for ki, concept in enumerate(crit.concepts):
                _collect(concept, si, f"{path}.concepts.{ki}", owners, out)
    for key, uses in owners.items():
        names = {name for _, name, _, _ in uses}
        if len(names) > 1:
            where = ", ".join(f"{p} ({n})" for _, n, _, p in uses)
            out.append(LintWarning(uses[1][3], f"phrase {key!r} belongs to several concepts: {where}"))
            continue
        steps = {si for si, _, _, _ in uses}
        if len(steps) > 1 and not all(shared for _, _, shared, _ in uses):
            out.append(LintWarning(uses[1][3], f"concept {uses[0][1]!r} is in several steps without shared: true"))
    return out


def _collect(concept: Concept, step_index: int, path: str,
             owners: dict[str, list[tuple[int, str, bool, str]]], out: list[LintWarning]) -> None:
    seen: set[str] = set()
    for phrase in concept.phrases:
        key = _key(phrase)
        if not key:
            out.append(LintWarning(path, f"phrase {phrase!r} has no words and can never match"))
            continue
        if key in seen:
            continue
        seen.add(key)
        if not any(u[3] == path for u in owners[key]):
            owners[key].append((step_index, concept.name, concept.shared, path))
