"""Similarity: alignment and baseline rescaling on hand-made unit vectors."""

from __future__ import annotations

import numpy as np
import pytest

from mlsd_grader.similarity import SIMILARITY_BASELINE, SIMILARITY_CEILING, align, rescale


def test_rescale_maps_baseline_to_zero_and_ceiling_to_one() -> None:
    out = rescale(np.array([SIMILARITY_BASELINE, SIMILARITY_CEILING, -1.0, 1.0]))
    assert out.tolist() == pytest.approx([0.0, 1.0, 0.0, 1.0])


def test_align_takes_best_match_per_model_sentence() -> None:
    model = np.array([[1.0, 0.0], [0.0, 1.0]])
    answer = np.array([[1.0, 0.0], [0.6, 0.8]])
    result = align(model, answer, baseline=0.0, ceiling=1.0, gist_weight=0.0)
    # sentence 1 matches answer 0 exactly (1.0); sentence 2 best matches answer 1 (0.8)
    assert result.best == (0, 1)
    assert result.score == pytest.approx((1.0 + 0.8) / 2)


def test_align_empty_is_zero() -> None:
    assert align(np.zeros((2, 3)), np.zeros((0, 3))).score == 0.0


def test_gist_is_the_cosine_of_centroids() -> None:
    model = np.array([[1.0, 0.0], [0.0, 1.0]])
    answer = np.array([[1.0, 0.0]])
    # centroids (0.5, 0.5) and (1, 0): cosine 1/sqrt(2)
    unit = dict(baseline=0.0, ceiling=1.0, gist_baseline=0.0, gist_ceiling=1.0)
    result = align(model, answer, gist_weight=1.0, **unit)
    assert result.score == pytest.approx(2**-0.5)
    mixed = align(model, answer, gist_weight=0.75, **unit)
    assert mixed.score == pytest.approx(0.75 * 2**-0.5 + 0.25 * (1.0 + 0.0) / 2)
