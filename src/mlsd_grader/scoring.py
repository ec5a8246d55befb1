"""Scoring: combine coverage and similarity per criterion, weight criteria into steps and steps into
the overall score, pick a band, and write feedback from the rubric."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from .config import GraderConfig
from .keywords import Evidence, WeightedText, concept_coverage
from .rubric import Criterion, Step
from .scale import IDENTITY, ScoreScale
from .similarity import align
from .steps import step_title

__all__ = [
    "Band",
    "ConceptMatch",
    "AntiPatternHit",
    "CriterionScore",
    "StepScore",
    "CriterionInput",
    "score_step",
    "overall_score",
    "band_for",
    "SCORE_DECIMALS",
    "OFF_TOPIC_SCORE",
]

Band = Literal["strong_hire", "hire", "lean_no_hire", "no_hire"]

# Reports round every score to this many decimals, so tiny float noise never changes the JSON bytes.
SCORE_DECIMALS = 4
# An answer scoring below this overall is flagged off_topic: the twelve off-topic texts of
# tests/data/off_topic score at most 0.075 against any bundled rubric, the weakest real example 0.27.
OFF_TOPIC_SCORE = 0.12
# Feedback: a criterion below WEAK_CRITERION needs work; one at or above GOOD_CRITERION is praised.
WEAK_CRITERION = 0.5
GOOD_CRITERION = 0.75
# Missing concepts named in one feedback sentence: the most useful few, not the whole list.
FEEDBACK_CONCEPTS = 3
# The first feedback line of a step whose score the integrity checks scaled down (warnings word_salad,
# keyword_stuffing): the criterion lines after it may name concepts the section does mention.
SCALED_DOWN_FEEDBACK = (
    "Scored down: this part reads as shuffled words or a bare list of terms, not as sentences (see the "
    "warnings); explain each point in a sentence of its own."
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class ConceptMatch(_Frozen):
    concept: str
    evidence: list[Evidence]


class AntiPatternHit(_Frozen):
    id: str
    penalty: float
    evidence: list[Evidence]


class CriterionScore(_Frozen):
    id: str
    score: float
    keyword_coverage: float
    similarity: float
    matched: list[ConceptMatch]
    missing: list[str]
    anti_patterns: list[AntiPatternHit]


class StepScore(_Frozen):
    id: str
    title: str
    score: float
    weight: float
    keyword_coverage: float
    similarity: float
    criteria: list[CriterionScore]
    feedback: list[str]


@dataclass(frozen=True, slots=True)
class CriterionInput:
    """What scoring needs for one criterion: its model-answer sentence vectors (None without embedder)."""

    criterion: Criterion
    model_vectors: np.ndarray | None


def _r(x: float) -> float:
    return round(float(x) + 0.0, SCORE_DECIMALS)


def score_step(
    step: Step,
    *,
    weight: float,
    text: WeightedText | None,
    answer_vectors: np.ndarray | None,
    inputs: Sequence[CriterionInput],
    config: GraderConfig,
    integrity: float = 1.0,
    vector_weights: np.ndarray | None = None,
    scale: ScoreScale = IDENTITY,
) -> StepScore:
    """Score one step. ``text`` weighs every part of the answer by how far it belongs to the step (None
    when nothing does); ``answer_vectors`` are the sentence vectors, weighted by ``vector_weights`` (None:
    all count fully). ``integrity`` (0-1: the word-order factor times the keyword-stuffing factor, see
    ``integrity.py``) scales what coverage and similarity earn, after ``scale`` has put what they earn
    on the default model's scale (``scale.py``)."""
    kw_weight, sim_weight = config.weights
    results: list[CriterionScore] = []
    coverages: list[float] = []
    sims: list[float] = []
    raw_scores: list[float] = []
    for item in inputs:
        crit = item.criterion
        found = [(c, *(text.concept(c) if text else (0.0, []))) for c in crit.concepts]
        coverage = concept_coverage([(c, credit) for c, credit, _ in found], config.coverage_target)
        sim = 0.0
        if sim_weight > 0 and item.model_vectors is not None and answer_vectors is not None:
            sim = align(item.model_vectors, answer_vectors, weights=vector_weights).score
        if crit.concepts:
            raw = kw_weight * coverage + sim_weight * sim
        else:  # nothing to cover: similarity alone decides (keywords-only backends give 0)
            raw = sim if sim_weight > 0 else 0.0
        if text is not None:  # a step nothing weighs for earns nothing on any scale
            raw = scale(raw)
        hits = [(a, text.anti_pattern(a, step.id)) for a in crit.anti_patterns] if text else []
        penalties = [AntiPatternHit(id=a.id, penalty=_r(a.weight), evidence=ev) for a, ev in hits if ev]
        score = min(max(integrity * raw + sum(a.weight for a, ev in hits if ev), 0.0), 1.0)
        coverages.append(coverage)
        sims.append(sim)
        raw_scores.append(score)
        results.append(
            CriterionScore(
                id=crit.id,
                score=_r(score),
                keyword_coverage=_r(coverage),
                similarity=_r(sim) if sim_weight > 0 else 0.0,
                matched=[ConceptMatch(concept=c.name, evidence=ev) for c, _, ev in found if ev],
                missing=[c.name for c, _, ev in found if not ev],
                anti_patterns=penalties,
            )
        )
    weights = np.array([i.criterion.weight for i in inputs], dtype=np.float64)

    def mean(xs: Sequence[float]) -> float:
        return float(np.dot(weights, xs) / weights.sum())

    return StepScore(
        id=step.id,
        title=step_title(step.id),
        score=_r(mean(raw_scores)),
        weight=_r(weight),
        keyword_coverage=_r(mean(coverages)),
        similarity=_r(mean(sims)) if sim_weight > 0 else 0.0,
        criteria=results,
        feedback=_feedback(step, text is not None, [i.criterion for i in inputs], results, integrity),
    )


def overall_score(steps: Sequence[StepScore]) -> float:
    """Weighted mean of the step scores (weights already normalised to sum to 1)."""
    total = sum(s.weight for s in steps)
    if total <= 0:
        return 0.0
    return _r(sum(s.weight * s.score for s in steps) / total)


def band_for(score: float, config: GraderConfig) -> Band:
    if score >= config.strong_hire_threshold:
        return "strong_hire"
    if score >= config.hire_threshold:
        return "hire"
    if score >= config.lean_no_hire_threshold:
        return "lean_no_hire"
    return "no_hire"


def _feedback(
    step: Step, has_section: bool, criteria: Sequence[Criterion], scores: Sequence[CriterionScore], integrity: float
) -> list[str]:
    title = step_title(step.id)
    lines: list[str] = []
    if not has_section:
        lines.append(f"No part of the answer covers {title[0].lower() + title[1:]}: add a section on it.")
    elif integrity < 1.0:  # the concepts may all be there: say why they earned less
        lines.append(SCALED_DOWN_FEEDBACK)
    for crit, res in zip(criteria, scores):
        goal = crit.description.rstrip(". ")
        for hit in res.anti_patterns:
            anti = next(a for a in crit.anti_patterns if a.id == hit.id)
            lines.append(f"Avoid: {anti.description.rstrip('. ')} (said as \"{hit.evidence[0].text}\").")
        if res.score >= GOOD_CRITERION:
            covered = ", ".join(m.concept for m in res.matched[:FEEDBACK_CONCEPTS])
            lines.append(f"Good: {goal}" + (f" ({covered})." if covered else "."))
        elif res.score < WEAK_CRITERION:
            missing = res.missing[:FEEDBACK_CONCEPTS]
            hint = f": mention {_or_list(missing)}" if missing else ": say it more concretely"
            lines.append(f"Strengthen: {goal}{hint}.")
        elif res.missing:
            lines.append(f"Go further: {goal}; consider {_or_list(res.missing[:FEEDBACK_CONCEPTS])}.")
    return lines


def _or_list(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]
