"""Similarity between a section of the answer and a criterion's model answer, from sentence embeddings.

Two views, each cosine rescaled so that unrelated text lands near 0 and a good answer near 1:
- alignment: for each model-answer sentence, the best-matching answer sentence, averaged (a soft recall
  of the model answer, as BERTScore computes recall over tokens, but over sentences);
- gist: the cosine between the centroids of the two sentence sets, which asks whether the section as a
  whole says what the model answer says, without any further encoder call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Alignment",
    "align",
    "rescale",
    "SIMILARITY_BASELINE",
    "SIMILARITY_CEILING",
    "GIST_BASELINE",
    "GIST_CEILING",
    "GIST_WEIGHT",
    "GIST_FULL_WEIGHT",
]

# Best-match cosine that unrelated text reaches: with all-MiniLM-L6-v2, the mean alignment of every
# bundled criterion's model answer with the twelve off-topic texts of tests/data/off_topic is 0.141
# (p95 0.25); measured by bench/similarity_constants.py. BERTScore likewise rescales by a mean baseline.
SIMILARITY_BASELINE = 0.14
# Best-match cosine of a good answer: the mean alignment of the bundled strong examples' step sections
# with their own rubric's criteria is 0.480 (p25 0.41, p75 0.54), same script. A section as close to the
# model answer as a typical strong answer earns full similarity.
SIMILARITY_CEILING = 0.48


# The gist view's own rescaling, measured the same way (bench/similarity_constants.py): centroid cosine
# with the off-topic texts 0.083 (p95 0.26), with the strong examples' sections 0.611 (p25 0.56).
GIST_BASELINE = 0.08
GIST_CEILING = 0.61
# Share of the gist view in the similarity (the rest is alignment). Chosen on SAF training.jsonl among
# 0, 0.25, 0.5, 0.75 and 1 with the grader's other defaults: Pearson 0.712, 0.722, 0.729, 0.733, 0.734;
# 0.75 keeps a quarter for the sentence alignment that explains which sentence matched.
GIST_WEIGHT = 0.75


# The weight (in sentences wholly about the step) from which the gist view counts in full: the centroid of
# a step's sentences is as close to the model answer whether they weigh a sentence or a fraction of one,
# so a stray sentence that is only partly the step's must not earn the whole gist. One sentence: 2 made a
# one-sentence step earn half its gist (bench/step_weights.py; docs/scoring.md).
GIST_FULL_WEIGHT = 1.0


def rescale(cosine: np.ndarray, baseline: float = SIMILARITY_BASELINE, ceiling: float = SIMILARITY_CEILING) -> np.ndarray:
    """Map cosines linearly so ``baseline`` -> 0 and ``ceiling`` -> 1, clipped to [0, 1]."""
    # np.minimum and np.maximum rather than np.clip: the same values, without np.clip's 8 us of
    # argument handling per call (grading calls this twice per criterion)
    return np.minimum(np.maximum((cosine - baseline) / (ceiling - baseline), 0.0), 1.0)


@dataclass(frozen=True, slots=True)
class Alignment:
    """The rescaled similarity and, per model-answer sentence, the index of its best answer sentence."""

    score: float
    best: tuple[int, ...]
    cosines: tuple[float, ...]


def align(
    model_vectors: np.ndarray,
    answer_vectors: np.ndarray,
    *,
    baseline: float = SIMILARITY_BASELINE,
    ceiling: float = SIMILARITY_CEILING,
    gist_weight: float = GIST_WEIGHT,
    gist_baseline: float = GIST_BASELINE,
    gist_ceiling: float = GIST_CEILING,
    weights: np.ndarray | None = None,
) -> Alignment:
    """Soft recall of the model answer's sentences among the answer's sentences (unit vectors).

    ``weights`` (one per answer sentence, 0 to 1: how far it counts as the step's content) scale each
    sentence's rescaled match, and weight its vector in the answer's centroid."""
    if model_vectors.shape[0] == 0 or answer_vectors.shape[0] == 0:
        return Alignment(0.0, (), ())
    if weights is not None:
        return _weighted_align(model_vectors, answer_vectors, weights, baseline, ceiling, gist_weight,
                               gist_baseline, gist_ceiling)
    cos = model_vectors @ answer_vectors.T
    best = np.argmax(cos, axis=1)
    best_cos = cos[np.arange(cos.shape[0]), best]
    alignment = float(np.mean(rescale(best_cos, baseline, ceiling)))
    centroid_cos = _cosine(model_vectors.mean(axis=0), answer_vectors.mean(axis=0))
    gist = float(rescale(np.array(centroid_cos), gist_baseline, gist_ceiling))
    score = gist_weight * gist + (1 - gist_weight) * alignment
    return Alignment(score, tuple(int(i) for i in best), tuple(float(c) for c in best_cos))


def _weighted_align(
    model_vectors: np.ndarray, answer_vectors: np.ndarray, weights: np.ndarray, baseline: float, ceiling: float,
    gist_weight: float, gist_baseline: float, gist_ceiling: float,
) -> Alignment:
    total = float(weights.sum())
    if total <= 0:
        return Alignment(0.0, (), ())
    cos = model_vectors @ answer_vectors.T
    credit = rescale(cos, baseline, ceiling) * weights[None, :]
    best = np.argmax(credit, axis=1)
    rows = np.arange(cos.shape[0])
    alignment = float(np.mean(credit[rows, best]))
    centroid = (weights[:, None] * answer_vectors).sum(axis=0) / total
    gist = float(rescale(np.array(_cosine(model_vectors.mean(axis=0), centroid)), gist_baseline, gist_ceiling))
    if GIST_FULL_WEIGHT > 0:
        gist *= min(1.0, total / GIST_FULL_WEIGHT)
    score = gist_weight * gist + (1 - gist_weight) * alignment
    return Alignment(score, tuple(int(i) for i in best), tuple(float(c) for c in cos[rows, best]))


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    # sqrt(x . x) is what np.linalg.norm computes for a real vector, without its checks
    norm = float(np.sqrt(a.dot(a)) * np.sqrt(b.dot(b)))
    return float(a @ b) / norm if norm > 0 else 0.0
