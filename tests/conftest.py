"""Shared fixtures: a tiny deterministic embedder for unit tests, and the real model once per session."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mlsd_grader import Grader, GraderConfig, Rubric
from mlsd_grader.cache import CACHE_DIR_ENV
from mlsd_grader.scale import IDENTITY
from mlsd_grader.text import tokenize

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def assert_json_close(got: object, want: object, *, tolerance: float, path: str = "$") -> None:
    """Equal JSON data, numbers within ``tolerance``; the message names the first path that differs."""
    if isinstance(want, float) or isinstance(got, float):
        assert isinstance(got, (int, float)) and isinstance(want, (int, float)), path
        assert abs(got - want) <= tolerance, f"{path}: {got} != {want}"
    elif isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want), f"{path}: keys {list(got)} != {list(want)}"
        for key in want:
            assert_json_close(got[key], want[key], tolerance=tolerance, path=f"{path}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{path}: length {len(got)} != {len(want)}"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_json_close(g, w, tolerance=tolerance, path=f"{path}[{i}]")
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"


class HashingEmbedder:
    """Bag of word stems hashed into 512 buckets: identical wording gives cosine 1, disjoint gives 0.

    Case- and whitespace-blind like the real tokenizer, and fast, so unit and property tests can run
    the whole pipeline without the transformer.
    """

    dim = 512

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for tok in tokenize(text):
                bucket = int.from_bytes(hashlib.blake2b(tok.stem.encode(), digest_size=4).digest(), "little")
                out[row, bucket % self.dim] += 1.0
            norm = np.linalg.norm(out[row])
            if norm > 0:
                out[row] /= norm
        return out

    def signature(self) -> str:
        return "test:hashing-512"


class CountingEmbedder(HashingEmbedder):
    """The hashing embedder, keeping the texts of every encode call."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return super().encode(texts)


@pytest.fixture(scope="session", autouse=True)
def private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Embedding-cache entries go to a temporary directory, never to the user's cache."""
    path = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_DIR_ENV, str(path))
        yield path


@pytest.fixture(scope="session")
def hashing_embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture(scope="session")
def fake_grader(hashing_embedder: HashingEmbedder) -> Grader:
    # on the raw scale: unit tests check the pipeline's own numbers, not a fitted map (test_scale.py)
    return Grader(GraderConfig(), embedder=hashing_embedder, scale=IDENTITY)


@pytest.fixture(scope="session")
def real_grader() -> Grader:
    """The default model, loaded once for the whole session."""
    return Grader(GraderConfig())


TINY_RUBRIC = {
    "id": "tiny",
    "version": "1",
    "title": "Tiny",
    "question": "Design a ranking system.",
    "steps": [
        {
            "id": "evaluation",
            "weight": 1.0,
            "criteria": [
                {
                    "id": "metrics",
                    "description": "Names offline and online metrics.",
                    "weight": 1.0,
                    "concepts": [
                        {"name": "ndcg", "aliases": ["normalized discounted cumulative gain"]},
                        {"name": "a/b test", "aliases": ["online experiment"]},
                    ],
                    "model_answer": "Offline we measure nDCG on held out sessions. Online we run an A/B test.",
                    "anti_patterns": [
                        {
                            "id": "accuracy_only",
                            "description": "Uses accuracy as the only metric.",
                            "weight": -0.2,
                            "triggers": ["accuracy"],
                            "unless": ["precision", "recall"],
                        }
                    ],
                }
            ],
        },
        {
            "id": "monitoring",
            "weight": 3.0,
            "criteria": [
                {
                    "id": "drift",
                    "description": "Watches for drift and retrains.",
                    "concepts": [{"name": "drift"}, {"name": "retraining"}],
                    "model_answer": "We monitor feature drift and retrain the model every week.",
                }
            ],
        },
    ],
}


@pytest.fixture()
def tiny_rubric() -> Rubric:
    return Rubric.model_validate(TINY_RUBRIC)
