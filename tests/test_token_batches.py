"""Token-aware encoder batches: the pure batch-forming function, and the real model through it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlsd_grader import Grader
from mlsd_grader.embeddings import (
    SentenceTransformerEmbedder,
    encode_in_token_batches,
    token_batches,
)


def padded(batch: list[int], counts: list[int]) -> int:
    return len(batch) * max(counts[i] for i in batch)


def test_batches_by_hand() -> None:
    counts = [10, 50, 12, 11, 50, 300]
    # longest first, ties in input order: 5 (300), 1 and 4 (50), 2 (12), 3 (11), 0 (10)
    # budget 100: 300 alone (over budget); 50+50 = 100; 12+11+10 padded to 12 = 36
    assert token_batches(counts, budget=100, cap=8) == [[5], [1, 4], [2, 3, 0]]
    # cap 2 closes the last batch after two texts
    assert token_batches(counts, budget=100, cap=2) == [[5], [1, 4], [2, 3], [0]]
    # budget 99: the two 50s no longer fit together
    assert token_batches(counts, budget=99, cap=8) == [[5], [1], [4], [2, 3, 0]]
    assert token_batches([], budget=100, cap=8) == []


def test_rows_come_back_in_input_order() -> None:
    texts = ["a", "bbbbb", "cc", "dddd", "eee"]
    counts = [len(t) for t in texts]
    calls: list[list[str]] = []

    def encode_batch(batch: list[str]) -> np.ndarray:
        calls.append(batch)
        return np.array([[float(len(t)), 1.0] for t in batch], dtype=np.float32)

    out = encode_in_token_batches(texts, counts, encode_batch, budget=8, cap=3)
    assert calls == [["bbbbb"], ["dddd", "eee"], ["cc", "a"]]
    assert out[:, 0].tolist() == [1.0, 5.0, 2.0, 4.0, 3.0]


def test_bad_budget_or_cap() -> None:
    with pytest.raises(ValueError):
        token_batches([1, 2], budget=0, cap=4)
    with pytest.raises(ValueError):
        token_batches([1, 2], budget=10, cap=0)


@given(
    counts=st.lists(st.integers(min_value=0, max_value=300), max_size=60),
    budget=st.integers(min_value=1, max_value=2000),
    cap=st.integers(min_value=1, max_value=70),
)
def test_batches_respect_budget_and_cap_and_cover_every_index_once(
    counts: list[int], budget: int, cap: int
) -> None:
    batches = token_batches(counts, budget=budget, cap=cap)
    flat = [i for batch in batches for i in batch]
    assert sorted(flat) == list(range(len(counts)))
    for batch in batches:
        assert 1 <= len(batch) <= cap
        assert len(batch) == 1 or padded(batch, counts) <= budget
    # longest first, so each batch pads to its first text; and no batch could have taken the next text
    assert flat == sorted(range(len(counts)), key=lambda i: (-counts[i], i))
    for batch in batches[:-1]:
        assert len(batch) == cap or (len(batch) + 1) * max(counts[batch[0]], 1) > budget
    # the rows of each batch, put back, are the input order
    rows = np.empty(len(counts), dtype=np.int64)
    for batch in batches:
        rows[batch] = batch
    assert rows.tolist() == list(range(len(counts)))


TEXTS = [
    "Yes.",
    "We log impressions, clicks and watch time, and join them with the user's features in a daily job.",
    "AUC.",
    (
        "The ranking model is a two-tower network trained on last month's sessions, with negatives sampled "
        "from impressions that were not clicked, and it is retrained every night on fresh data."
    ),
    "Monitor drift.",
]


@pytest.mark.integration
def test_token_batches_equal_one_by_one_with_the_real_model(real_grader: Grader) -> None:
    embedder = real_grader.embedder
    assert isinstance(embedder, SentenceTransformerEmbedder)
    counts = embedder.token_counts(TEXTS)
    assert counts[0] < 8 and counts[3] > 30  # very different lengths, so batches are padded
    alone = np.vstack([embedder.encode([t]) for t in TEXTS])

    def encode_batch(batch: list[str]) -> np.ndarray:
        out: np.ndarray = embedder.model.encode(
            batch, batch_size=len(batch), normalize_embeddings=True, show_progress_bar=False
        )
        return out

    for budget, cap in ((embedder.token_budget, embedder.batch_size), (80, 64), (10_000, 2)):
        together = encode_in_token_batches(TEXTS, counts, encode_batch, budget=budget, cap=cap)
        np.testing.assert_allclose(together, alone, rtol=0, atol=1e-6)
    np.testing.assert_allclose(embedder.encode(TEXTS), alone, rtol=0, atol=1e-6)
