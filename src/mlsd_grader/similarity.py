"""Sentence-level alignment between a section of the answer and a criterion's model answer.

For each model-answer sentence, the best-matching answer sentence (cosine of unit embeddings), rescaled
so that unrelated text lands near 0 and a close paraphrase near 1, then averaged: a soft recall of the
model answer, as BERTScore computes recall over tokens, but over sentences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Alignment", "align", "rescale", "SIMILARITY_BASELINE", "SIMILARITY_CEILING"]

# Best-match cosine that unrelated text reaches. Measured with all-MiniLM-L6-v2 as the mean, over every
# bundled rubric criterion, of the alignment (best match per model sentence, averaged) of its model answer
# with ten off-topic texts (recipes, cover letters, lorem ipsum...): 0.16; see docs/scoring.md.
SIMILARITY_BASELINE = 0.16
# Best-match cosine of a good paraphrase. Measured as the mean alignment of the bundled strong examples'
# sections with their rubric's model answers (all-MiniLM-L6-v2): 0.62; a section at that level scores 1.
SIMILARITY_CEILING = 0.62


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
