"""Embedding backends: the static backend (model2vec) on tiny models built here, and which heavy modules
each torch-free path imports (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import EXAMPLES

from mlsd_grader import Grader, GraderConfig, ModelLoadError
from mlsd_grader.embeddings import (
    StaticEmbedder,
    load_embedder,
    static_model_dir,
    write_static_model,
)

# Modules that must stay out of a torch-free grading process.
HEAVY = ("torch", "sentence_transformers", "transformers")
ANSWER = EXAMPLES / "news_feed" / "middling.md"

# Runs the CLI in this interpreter, then reports on stderr which HEAVY modules it imported.
_PROBE = """
import json, sys
from mlsd_grader.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print("HEAVY=" + json.dumps([m for m in {heavy!r} if m in sys.modules]), file=sys.stderr)
sys.exit(code)
"""


def run_cli_probe(
    *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run ``mlsd-grader ARGS`` in a fresh interpreter; return the process and the heavy modules loaded."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=HEAVY), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("HEAVY="))
    return proc, json.loads(line[len("HEAVY=") :])


def tiny_static_model(folder: Path) -> tuple[dict[str, int], np.ndarray]:
    """A static model over a six-word vocabulary with hand-picked 3-d vectors, in StaticEmbedder's layout."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    vocab = {"[UNK]": 0, "drift": 1, "retrain": 2, "monitor": 3, "ndcg": 4, "offline": 5}
    tokenizer = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    vectors = np.array(
        [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1], [0, 0, 3]], dtype=np.float32
    )
    write_static_model(
        folder, vectors=vectors, tokenizer=tokenizer, config={"normalize": True}, source="tiny"
    )
    return vocab, vectors


def test_static_sentence_is_the_normalised_mean_of_its_token_vectors(tmp_path: Path) -> None:
    tiny_static_model(tmp_path / "tiny")
    embedder = StaticEmbedder("tiny", directory=tmp_path / "tiny")
    out = embedder.encode(
        ["drift retrain", "drift", "ndcg offline", "nothing known here", "drift drift monitor"]
    )
    assert out.dtype == np.float32 and out.shape == (5, 3)
    np.testing.assert_allclose(
        out[0], [2**-0.5, 2**-0.5, 0], atol=1e-6
    )  # mean (0.5, 0.5, 0), normalised
    np.testing.assert_allclose(out[1], [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(out[2], [0, 0, 1], atol=1e-6)  # mean (0, 0, 2)
    np.testing.assert_allclose(out[3], [0, 0, 0])  # no known token: a zero row
    np.testing.assert_allclose(
        out[4], np.array([3, 1, 0]) / 10**0.5, atol=1e-6
    )  # (1+1+1, 0+0+1, 0) / 3
    assert embedder.encode([]).shape == (0, 3)


def test_static_signature_names_source_and_vectors(tmp_path: Path) -> None:
    _, vectors = tiny_static_model(tmp_path / "tiny")
    import hashlib

    digest = hashlib.sha256(vectors.tobytes()).hexdigest()[:12]
    assert (
        StaticEmbedder("tiny", directory=tmp_path / "tiny").signature()
        == f"static:tiny+model2vec#{digest}"
    )


def test_static_model_cache_dir_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLSD_GRADER_CACHE_DIR", str(tmp_path))
    first = static_model_dir()
    assert first.parent == tmp_path / "static-models"
    assert first.name.startswith("all-MiniLM-L6-v2-")
    assert static_model_dir() == first
    assert static_model_dir(str(tmp_path / "my-model")) != first


def test_damaged_static_cache_is_a_clear_error(tmp_path: Path) -> None:
    tiny_static_model(tmp_path / "tiny")
    (tmp_path / "tiny" / "vectors.npy").write_bytes(b"not an array")
    with pytest.raises(ModelLoadError, match="cannot load the static model"):
        StaticEmbedder("tiny", directory=tmp_path / "tiny")


def test_backend_none_never_imports_torch() -> None:
    proc, heavy = run_cli_probe(
        "grade", str(ANSWER), "--rubric", "news_feed", "--backend", "none", "--format", "json"
    )
    assert proc.returncode == 0, proc.stderr
    assert "backend:none" in json.loads(proc.stdout)["signature"]
    assert heavy == []


@pytest.fixture(scope="module")
def tiny_transformer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised one-layer BERT with a 63-token vocabulary, saved as a local model folder."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    words = (
        "drift retrain monitor dashboard alert latency serving cache ndcg recall precision offline online "
        "test metric label feature data model train loss baseline click user item rank"
    ).split()
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, *[f"##{w[:3]}" for w in words]]
    BertTokenizerFast(vocab={token: i for i, token in enumerate(vocab)}).save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(folder)
    return folder


@pytest.mark.integration
def test_static_backend_distils_once_then_grades_without_torch(
    tiny_transformer: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLSD_GRADER_CACHE_DIR", str(tmp_path))
    config = GraderConfig(backend="static", model=str(tiny_transformer))
    embedder = load_embedder(config)
    assert isinstance(embedder, StaticEmbedder)
    assert (static_model_dir(str(tiny_transformer)) / "static.json").is_file()
    vectors = embedder.encode(["monitor drift and retrain", "offline ndcg and recall"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    in_process = Grader(config).grade(ANSWER.read_bytes(), "news_feed")
    assert f"backend:{embedder.signature()}" in in_process.signature

    env = {"MLSD_GRADER_CACHE_DIR": str(tmp_path)}
    proc, heavy = run_cli_probe(
        "grade",
        str(ANSWER),
        "--rubric",
        "news_feed",
        "--backend",
        "static",
        "--model",
        str(tiny_transformer),
        "--format",
        "json",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "making static embeddings" not in proc.stderr  # cached: not distilled again
    assert heavy == []
    report = json.loads(proc.stdout)
    assert report["signature"] == in_process.signature
    assert report["score"] == in_process.score
