"""Draft a framework rubric from one or more model answers (issue 16).

Each answer is segmented into steps with the grader's own segmentation; each step's sentences, from all
answers, are grouped by embedding similarity into a few criteria whose model answers are the answers'
own sentences. A criterion's concepts are the terms that carry it: rare in English (wordfreq), frequent
in its sentences, not already said by the question; aliases come from abbreviations an answer defines
("click-through rate (CTR)") and from spellings that differ between answers. Steps weigh by their share
of the answers' words; a step no answer covers takes the generic rubric's criteria. The result is a
``RubricDraft``: the rubric and where each part came from, rendered as commented YAML by
``draft_render``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import ValidationError

from .draft_terms import ConceptOrigin, ConceptRegistry, SourceSentence, Terms, clean_sentence
from .errors import RubricValidationError
from .grader import Grader
from .lint import MAX_WEIGHT_RATIO, MIN_MODEL_ANSWER_WORDS
from .rubric import Rubric, load_rubric
from .segmentation import body_sentences, find_headings
from .steps import STEP_IDS
from .text import normalize_line_ends, normalize_phrase

__all__ = [
    "DESCRIPTION_CONCEPTS",
    "GENERIC_RUBRIC",
    "MAX_CRITERIA_PER_STEP",
    "MAX_STEP_WEIGHT",
    "MIN_SENTENCE_WORDS",
    "MIN_STEP_WEIGHT",
    "WORDS_PER_CRITERION",
    "CriterionOrigin",
    "RubricDraft",
    "draft_rubric",
]

# One criterion per this many words of a step's sentences: the bundled model answers are 49 to 87 words
# (median 69).
WORDS_PER_CRITERION = 70
# The bundled question rubrics have 2 to 4 criteria a step.
MAX_CRITERIA_PER_STEP = 4
# Step and criterion weights are their share of the words, times the number of siblings, clipped to this
# band: the bundled weights run from 0.7 to 1.75; 0.5 to 2.0 lets a step the answers barely touch count
# little, and its ratio (4) stays under lint's MAX_WEIGHT_RATIO.
MIN_STEP_WEIGHT = 0.5
MAX_STEP_WEIGHT = 2.0
assert MAX_STEP_WEIGHT <= MAX_WEIGHT_RATIO * MIN_STEP_WEIGHT
# Sentences of fewer words are labels ("Questions and assumptions:"), not content.
MIN_SENTENCE_WORDS = 3
# Where criteria of steps no model answer covers come from.
GENERIC_RUBRIC = "generic"
# Words a description names from the criterion's concepts.
DESCRIPTION_CONCEPTS = 3

_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class CriterionOrigin:
    """Where a criterion of the draft came from: the answers' sentences, or the generic rubric."""

    step: str
    criterion_id: str
    generic: bool
    sentences: tuple[SourceSentence, ...] = ()
    concepts: tuple[ConceptOrigin, ...] = ()


@dataclass(frozen=True)
class RubricDraft:
    """A drafted rubric with the provenance of each step and criterion."""

    rubric: Rubric
    origins: tuple[CriterionOrigin, ...]
    step_shares: dict[str, float]  # share of the answers' words, per step
    sources: tuple[str, ...]  # a name per model answer
    grouping: str  # what grouped the sentences (embedder signature or tf-idf)
    uncovered: tuple[str, ...] = field(default=())  # steps given the generic rubric's criteria

    def to_yaml(self) -> str:
        """The draft as commented YAML, ordered as docs/rubrics.md; it parses back to ``rubric``."""
        from .draft_render import render_yaml

        return render_yaml(self)

    def explain(self) -> str:
        """What was taken from where, as text."""
        from .draft_render import render_explanation

        return render_explanation(self)


def draft_rubric(
    model_answers: Sequence[str],
    *,
    id: str,
    title: str,
    question: str | None = None,
    version: str = "1",
    grader: Grader | None = None,
    sources: Sequence[str] | None = None,
) -> RubricDraft:
    """Draft a rubric from model answers; ``question`` defaults to the title, ``grader`` (its
    segmentation and embedder) to a default Grader, ``sources`` (names in comments) to 'answer N'."""
    texts = [normalize_line_ends(a) for a in model_answers]
    if not texts or not any(t.strip() for t in texts):
        raise ValueError("draft_rubric needs at least one non-empty model answer")
    names = tuple(sources) if sources is not None else tuple(f"answer {i + 1}" for i in range(len(texts)))
    if len(names) != len(texts):
        raise ValueError("sources must name each model answer")
    grader = grader if grader is not None else Grader()
    question = question if question is not None and question.strip() else title
    by_step = _step_sentences(texts, grader)
    total_words = sum(s.words for group in by_step.values() for s in group)
    covered = [step for step in STEP_IDS if sum(s.words for s in by_step.get(step, [])) >= MIN_MODEL_ANSWER_WORDS]
    shares = {step: sum(s.words for s in by_step.get(step, [])) / total_words if total_words else 0.0 for step in STEP_IDS}
    generic = load_rubric(GENERIC_RUBRIC)
    registry = ConceptRegistry()
    for step in generic.steps:
        if step.id not in covered:
            for crit in step.criteria:
                for concept in crit.concepts:
                    registry.claim(concept.model_dump(mode="json"), step.id)
    background = [p for s in generic.steps for c in s.criteria for k in c.concepts for p in k.phrases]
    background += [c.model_answer for s in generic.steps for c in s.criteria]
    terms = Terms(texts, question, background=background)
    encode = _Encoder(grader)
    steps: list[dict[str, Any]] = []
    origins: list[CriterionOrigin] = []
    used_ids: set[str] = {c.id for s in generic.steps if s.id not in covered for c in s.criteria}
    for step_id in STEP_IDS:
        weight = _clip_weight(shares[step_id] * len(STEP_IDS))
        if step_id not in covered:
            gstep = next(s for s in generic.steps if s.id == step_id)
            crits = [c.model_dump(mode="json", exclude_defaults=False) for c in gstep.criteria]
            steps.append({"id": step_id, "weight": MIN_STEP_WEIGHT, "criteria": crits})
            origins += [CriterionOrigin(step_id, c.id, True) for c in gstep.criteria]
            continue
        groups = _group(by_step[step_id], encode)
        step_words = sum(s.words for s in by_step[step_id])
        crits = []
        for group in groups:
            chosen = terms.choose(group, registry, step_id, encode)
            crit_id = _unique(f"{step_id}_{_slug(chosen[0].name) if chosen else 'part'}", used_ids)
            share = sum(s.words for s in group) / step_words
            crits.append({
                "id": crit_id,
                "description": _description([c.name for c in chosen[:DESCRIPTION_CONCEPTS]], group),
                "weight": _clip_weight(share * len(groups)),
                "concepts": [registry.concept(c.name) for c in chosen],
                "model_answer": " ".join(s.text for s in group),
            })
            origins.append(CriterionOrigin(step_id, crit_id, False, tuple(group), tuple(chosen)))
        steps.append({"id": step_id, "weight": weight, "criteria": crits})
    registry.mark_shared(steps)
    try:
        rubric = Rubric.model_validate(
            {"id": id, "version": version, "title": title, "question": question, "steps": steps}
        )
    except ValidationError as exc:  # an id, title or version the format refuses
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise RubricValidationError(f"draft {id!r}", problems) from None
    return RubricDraft(
        rubric=rubric, origins=tuple(origins), step_shares=shares, sources=names, grouping=encode.name,
        uncovered=tuple(s for s in STEP_IDS if s not in covered),
    )


def _clip_weight(value: float) -> float:
    return round(min(MAX_STEP_WEIGHT, max(MIN_STEP_WEIGHT, value)), 2)


def _slug(name: str) -> str:
    return _SLUG.sub("_", name.casefold()).strip("_")[:40].rstrip("_") or "part"


def _unique(base: str, used: set[str]) -> str:
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}_{n}", n + 1
    used.add(candidate)
    return candidate


def _description(names: list[str], group: Sequence[SourceSentence]) -> str:
    if not names:
        return group[0].text
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"Covers {listed}."


# ---------------------------------------------------------------- sentences by step


def _step_sentences(texts: Sequence[str], grader: Grader) -> dict[str, list[SourceSentence]]:
    """Each step's sentences, from every answer, in answer and text order (headings left out)."""
    out: dict[str, list[SourceSentence]] = defaultdict(list)
    seen: set[str] = set()
    for index, text in enumerate(texts):
        if not text.strip():
            continue
        sections = [s for s in grader.segment(text) if s.step is not None]
        code = _code_lines(text)
        for span in body_sentences(text, find_headings(text)):
            step = next((s.step for s in sections if s.start <= span.start < s.end), None)
            cleaned = clean_sentence(text[span.start : span.end])
            words = len(cleaned.split())
            line = text.count("\n", 0, span.start) + 1
            if step is None or words < MIN_SENTENCE_WORDS or line in code or cleaned in seen:
                continue  # a sentence said before (in an earlier answer) is quoted once
            seen.add(cleaned)
            out[step].append(SourceSentence(index, line, step, cleaned, words))
    return out


def _code_lines(text: str) -> set[int]:
    """1-based numbers of the lines inside markdown code blocks (code is not what a candidate says)."""
    from markdown_it import MarkdownIt

    lines: set[int] = set()
    for token in MarkdownIt("commonmark").parse(text):
        if token.type in ("fence", "code_block") and token.map is not None:
            lines.update(range(token.map[0] + 1, token.map[1] + 1))
    return lines


# ---------------------------------------------------------------- grouping into criteria


class _Encoder:
    """Sentence vectors for grouping: the grader's embedder, or tf-idf over stems without one."""

    def __init__(self, grader: Grader) -> None:
        self.embedder = grader.embedder
        self.name = self.embedder.signature() if self.embedder is not None else "tfidf-stems"

    def __call__(self, sentences: list[str]) -> np.ndarray:
        if self.embedder is not None:
            vectors = np.asarray(self.embedder.encode(sentences), dtype=np.float64)
        else:
            from sklearn.feature_extraction.text import TfidfVectorizer

            vectorizer = TfidfVectorizer(analyzer=lambda s: list(normalize_phrase(s)))
            vectors = vectorizer.fit_transform(sentences).toarray()
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        unit: np.ndarray = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
        return unit


def _group(sentences: list[SourceSentence], encode: _Encoder) -> list[list[SourceSentence]]:
    """Similar sentences together: agglomerative clustering (average linkage, cosine) into one group per
    WORDS_PER_CRITERION words, then any group short of lint's MIN_MODEL_ANSWER_WORDS merged into its
    nearest; groups ordered by their first sentence."""
    words = sum(s.words for s in sentences)
    k = max(1, min(MAX_CRITERIA_PER_STEP, len(sentences), round(words / WORDS_PER_CRITERION)))
    if k == 1:
        return [sentences]
    from sklearn.cluster import AgglomerativeClustering

    vectors = encode([s.text for s in sentences])
    labels = AgglomerativeClustering(n_clusters=k, metric="cosine", linkage="average").fit_predict(vectors)
    groups: dict[int, list[int]] = defaultdict(list)
    for row, label in enumerate(labels):
        groups[int(label)].append(row)
    members = sorted(groups.values())
    while len(members) > 1:
        sizes = [sum(sentences[i].words for i in m) for m in members]
        small = min(range(len(members)), key=lambda g: (sizes[g], members[g][0]))
        if sizes[small] >= MIN_MODEL_ANSWER_WORDS:
            break
        centroids = [vectors[m].mean(axis=0) for m in members]
        near = max((g for g in range(len(members)) if g != small),
                   key=lambda g: (float(centroids[small] @ centroids[g]), -g))
        members[near] = sorted(members[near] + members[small])
        del members[small]
    members.sort()
    return [[sentences[i] for i in m] for m in members]

