"""On-disk cache of the rubrics' model-answer sentence vectors, so a new process does not encode them again.

One entry per (embedder signature, rubric content hash): a ``.npy`` array and a small JSON header that
names what it holds and the SHA-256 of the array file. An entry that does not match its header, or was
made from other sentences (a changed sentence splitter), counts as absent and is rebuilt. The directory
is platformdirs' user cache directory, or ``MLSD_GRADER_CACHE_DIR``. A cache that cannot be written
(read-only, full, not a directory) only means no caching. Answers are never stored here.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import platformdirs

__all__ = ["CACHE_DIR_ENV", "CACHE_FORMAT", "cache_dir", "VectorCache"]

# Environment variable that overrides where the cache lives (an empty value counts as unset).
CACHE_DIR_ENV = "MLSD_GRADER_CACHE_DIR"
# Bumped when the entry layout changes; entries of another format are simply not found.
CACHE_FORMAT = 1
_APP = "mlsd-grader"
_SUBDIR = "rubric-vectors"


def cache_dir() -> Path:
    """The cache directory in force now: ``$MLSD_GRADER_CACHE_DIR``, else the user cache directory."""
    override = os.environ.get(CACHE_DIR_ENV, "")
    return Path(override) if override else Path(platformdirs.user_cache_dir(_APP, appauthor=False))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sentences_digest(sentences: Sequence[str]) -> str:
    return _sha256(json.dumps(list(sentences), ensure_ascii=False).encode("utf-8", "surrogatepass"))


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class VectorCache:
    """Model-answer sentence vectors on disk, keyed by embedder signature and rubric content hash.

    ``directory`` None means ``cache_dir()``, looked up at each use so the environment can change.
    """

    def __init__(self, directory: str | Path | None = None) -> None:
        self._directory = Path(directory) if directory is not None else None

    @property
    def directory(self) -> Path:
        return (self._directory if self._directory is not None else cache_dir()) / _SUBDIR

    def _paths(self, embedder: str, rubric_hash: str) -> tuple[Path, Path]:
        stem = _sha256(f"{CACHE_FORMAT}\x00{embedder}\x00{rubric_hash}".encode("utf-8", "surrogatepass"))[:32]
        return self.directory / f"{stem}.npy", self.directory / f"{stem}.json"

    def _header(self, embedder: str, rubric_hash: str, sentences: Sequence[str]) -> dict[str, Any]:
        return {"format": CACHE_FORMAT, "embedder": embedder, "rubric": rubric_hash,
                "sentences": _sentences_digest(sentences), "rows": len(sentences)}

    def load(self, embedder: str, rubric_hash: str, sentences: Sequence[str]) -> np.ndarray | None:
        """The vectors of ``sentences`` stored for this embedder and rubric; None if absent or corrupt."""
        array_path, header_path = self._paths(embedder, rubric_hash)
        try:
            header = json.loads(header_path.read_text(encoding="utf-8"))
            data = array_path.read_bytes()
        except (OSError, ValueError):
            return None
        expected = self._header(embedder, rubric_hash, sentences)
        if not isinstance(header, dict) or any(header.get(k) != v for k, v in expected.items()):
            return None
        if header.get("sha256") != _sha256(data):
            return None
        try:
            vectors = cast(np.ndarray, np.load(io.BytesIO(data), allow_pickle=False))
        except (OSError, ValueError, EOFError):
            return None
        if vectors.dtype != np.float32 or vectors.ndim != 2 or vectors.shape[0] != len(sentences):
            return None
        return vectors

    def store(self, embedder: str, rubric_hash: str, sentences: Sequence[str], vectors: np.ndarray) -> bool:
        """Keep the vectors of ``sentences``; False (and nothing raised) when the cache cannot be written."""
        array_path, header_path = self._paths(embedder, rubric_hash)
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
        data = buffer.getvalue()
        header = {**self._header(embedder, rubric_hash, sentences), "sha256": _sha256(data)}
        try:
            array_path.parent.mkdir(parents=True, exist_ok=True)
            # the array first: a header always describes a complete array, and a reader that sees an
            # old header beside a new array finds the checksum differs and rebuilds
            _write_atomically(array_path, data)
            _write_atomically(header_path, json.dumps(header, indent=2).encode("utf-8"))
        except OSError:
            return False
        return True
