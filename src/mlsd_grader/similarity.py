"""Sentence-level alignment between a section of the answer and a criterion's model answer.

For each model-answer sentence, the best-matching answer sentence (cosine of unit embeddings), rescaled
so that unrelated text lands near 0 and a close paraphrase near 1, then averaged: a soft recall of the
model answer, as BERTScore computes recall over tokens, but over sentences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Alignment", "align", "rescale", "SIMILARITY_BASELINE", "SIMILARITY_CEILING"]

# Best-match cosine that unrelated text reaches: with all-MiniLM-L6-v2, the mean alignment of every
# bundled criterion's model answer with the twelve off-topic texts of tests/data/off_topic is 0.141
# (p95 0.25); measured by bench/similarity_constants.py. BERTScore likewise rescales by a mean baseline.
SIMILARITY_BASELINE = 0.14
# Best-match cosine of a good answer: the mean alignment of the bundled strong examples' step sections
# with their own rubric's criteria is 0.480 (p25 0.41, p75 0.54), same script. A section as close to the
# model answer as a typical strong answer earns full similarity.
SIMILARITY_CEILING = 0.48


def rescale(cosine: np.ndarray, baseline: float = SIMILARITY_BASELINE, ceiling: float = SIMILARITY_CEILING) -> np.ndarray:
    """Map cosines linearly so ``baseline`` -> 0 and ``ceiling`` -> 1, clipped to [0, 1]."""
    return np.clip((cosine - baseline) / (ceiling - baseline), 0.0, 1.0)


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
) -> Alignment:
    """Soft recall of the model answer's sentences among the answer's sentences (unit vectors)."""
    if model_vectors.shape[0] == 0 or answer_vectors.shape[0] == 0:
        return Alignment(0.0, (), ())
    cos = model_vectors @ answer_vectors.T
    best = np.argmax(cos, axis=1)
    best_cos = cos[np.arange(cos.shape[0]), best]
    score = float(np.mean(rescale(best_cos, baseline, ceiling)))
    return Alignment(score, tuple(int(i) for i in best), tuple(float(c) for c in best_cos))
