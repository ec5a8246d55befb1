"""The on-disk cache of rubric model-answer vectors: hit, miss, corrupt entries, unwritable directories."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import numpy as np
import platformdirs
import pytest
from conftest import CountingEmbedder

import mlsd_grader.cache as cache_module
from mlsd_grader.scale import IDENTITY
from mlsd_grader import Grader, load_rubric
from mlsd_grader.cache import CACHE_DIR_ENV, VectorCache, cache_dir

ANSWER = "## Evaluation\nWe track nDCG offline, zebracorn-42, and run an A/B test.\n"
RUBRIC = load_rubric("generic")
FIRST_MODEL_SENTENCE = RUBRIC.steps[0].criteria[0].model_answer.split(". ")[0]


def grade_counting(answer: str = ANSWER) -> tuple[CountingEmbedder, str]:
    """Grade with a fresh Grader: its embedder (with the calls it saw) and the report as JSON."""
    embedder = CountingEmbedder()
    report = Grader(embedder=embedder, scale=IDENTITY).grade(answer, RUBRIC)
    return embedder, report.to_json()


def encoded_rubric(embedder: CountingEmbedder) -> bool:
    return any(any(text.startswith(FIRST_MODEL_SENTENCE) for text in call) for call in embedder.calls)


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache" / "rubric-vectors"


def test_tests_never_use_the_real_user_cache(private_cache_dir: Path) -> None:
    assert cache_dir() == private_cache_dir


def test_default_directory_is_the_user_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_DIR_ENV, "")
    assert cache_dir() == Path(platformdirs.user_cache_dir("mlsd-grader", appauthor=False))


def test_miss_then_hit(cache: Path) -> None:
    first, report = grade_counting()
    assert encoded_rubric(first)
    assert sorted(p.suffix for p in cache.iterdir()) == [".json", ".npy"]
    second, again = grade_counting()
    assert not encoded_rubric(second) and len(second.calls) == len(first.calls) - 1
    assert again == report  # cached vectors give the same report, byte for byte


def test_answers_are_never_stored(cache: Path) -> None:
    grade_counting()
    for path in cache.iterdir():
        assert b"zebracorn" not in path.read_bytes()


@pytest.mark.parametrize("damage", ["array bytes", "array truncated", "header", "header checksum"])
def test_corrupt_entry_is_detected_and_rebuilt(cache: Path, damage: str) -> None:
    _, report = grade_counting()
    array = next(cache.glob("*.npy"))
    header = next(cache.glob("*.json"))
    if damage == "array bytes":
        data = bytearray(array.read_bytes())
        data[-5] ^= 0xFF
        array.write_bytes(bytes(data))
    elif damage == "array truncated":
        array.write_bytes(array.read_bytes()[:40])
    elif damage == "header":
        header.write_text("{not json")
    else:
        header.write_text(json.dumps({**json.loads(header.read_text()), "sha256": "0" * 64}))
    rebuilt, again = grade_counting()
    assert encoded_rubric(rebuilt) and again == report
    after, _ = grade_counting()
    assert not encoded_rubric(after)  # the rebuilt entry is good again


def test_entry_of_other_sentences_is_not_used(tmp_path: Path) -> None:
    store = VectorCache(tmp_path)
    vectors = np.eye(2, 4, dtype=np.float32)
    assert store.store("emb", "hash", ["one.", "two."], vectors)
    assert np.array_equal(store.load("emb", "hash", ["one.", "two."]), vectors)  # type: ignore[arg-type]
    assert store.load("emb", "hash", ["one.", "three."]) is None  # e.g. a changed sentence splitter
    assert store.load("other-emb", "hash", ["one.", "two."]) is None


def test_unusable_directory_means_no_caching(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(CACHE_DIR_ENV, str(blocker / "cache"))
    first, report = grade_counting()
    second, again = grade_counting()
    assert encoded_rubric(first) and encoded_rubric(second) and again == report


def test_read_only_directory_still_serves_its_entries(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, report = grade_counting()

    def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, "Permission denied")

    # what a read-only directory does to a write (tests may run as root, who can write anywhere)
    monkeypatch.setattr(cache_module.tempfile, "mkstemp", refuse)
    hit, again = grade_counting()
    assert not encoded_rubric(hit) and again == report
    assert VectorCache(cache.parent).store("emb", "hash", ["a."], np.ones((1, 2), dtype=np.float32)) is False
    other = Grader(embedder=CountingEmbedder(), scale=IDENTITY)
    other.grade(ANSWER, "news_feed")  # not cached yet, and cannot be: graded all the same
    assert not list(cache.glob(".*"))  # no temporary file left behind
