"""The service's settings, with their defaults and how each was chosen; no FastAPI here, so the CLI can
show them in ``serve --help`` without importing the web stack."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..config import ENV_PREFIX
from ..errors import ConfigError

__all__ = [
    "API_KEYS_ENV",
    "BATCH_WINDOW_MS",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "JSON_BYTES_PER_CHAR",
    "MAX_BATCH_ITEMS",
    "QUEUE_LIMIT",
    "RUBRIC_ROOM_BYTES",
    "ServiceSettings",
    "load_api_keys",
]

# Comma-separated API keys; with any key set, every /v1 route wants `Authorization: Bearer KEY`.
API_KEYS_ENV = ENV_PREFIX + "API_KEYS"

# Loopback only unless told otherwise: the service has no TLS, and without keys no authentication.
DEFAULT_HOST = "127.0.0.1"
# The usual port of a local development web service.
DEFAULT_PORT = 8000

# How long the grading worker waits, after a request arrives at an idle queue, for more requests to
# grade in the same Grader.grade_many call. Requests that arrive while a call runs are gathered anyway;
# the window only matters when the worker is idle, and it is the most a lone request waits for company.
# Measured with bench/load.py (docs/service.md, "Batching window").
BATCH_WINDOW_MS = 10.0

# Answers waiting for the grading worker (not counting those being graded) before a request is refused
# with 503: room for two full batch requests and more, so an idle server never refuses a batch. A full
# queue drains in about 11 s on the static backend (24 medium answers/s in grade_many) and about 2 min
# on the default model (2.4/s; docs/benchmarks.md "Speed"): past that a client is better told to retry.
QUEUE_LIMIT = 256

# Items in one POST /v1/grade/batch: the limit; larger sets belong to `mlsd-grader batch`.
MAX_BATCH_ITEMS = 100

# Body limits follow max_answer_chars: an answer of that many characters takes at most this many bytes
# per character in JSON as clients write it (Python's json.dumps writes every non-ASCII character as a
# six-byte \uXXXX escape; browsers write UTF-8, at most 4 bytes) ...
JSON_BYTES_PER_CHAR = 6
# ... plus room for an inline rubric: 8x the largest bundled rubric written as JSON (30 KB).
RUBRIC_ROOM_BYTES = 256 * 1024


class ServiceSettings(BaseModel):
    """How the service runs: where it listens, who may call it, and how it gathers work."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(DEFAULT_HOST, description="Address to bind.")
    port: int = Field(DEFAULT_PORT, ge=0, le=65535, description="Port to bind (0: any free port).")
    api_keys: tuple[str, ...] = Field((), description="Bearer keys accepted on /v1; none means open.")
    cors_origins: tuple[str, ...] = Field((), description="Origins allowed by CORS; none by default.")
    batch_window_ms: float = Field(BATCH_WINDOW_MS, ge=0, le=1000)
    queue_limit: int = Field(QUEUE_LIMIT, ge=1, description="Answers waiting before 503.")

    @classmethod
    def build(cls, **values: Any) -> ServiceSettings:
        """Settings from the given values, ``None`` meaning the default; ConfigError if one is invalid."""
        try:
            return cls.model_validate({k: v for k, v in values.items() if v is not None})
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ConfigError(f"invalid service setting: {problems}") from None


def load_api_keys(key_file: str | Path | None = None, *, environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Keys from ``MLSD_GRADER_API_KEYS`` (comma-separated) and a key file (one per line, ``#`` comments)."""
    env = os.environ if environ is None else environ
    keys = [k.strip() for k in env.get(API_KEYS_ENV, "").split(",")]
    if key_file is not None:
        try:
            lines = Path(key_file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read API key file {key_file}: {getattr(exc, 'strerror', None) or exc}") from None
        keys += [ln.strip() for ln in lines if not ln.lstrip().startswith("#")]
    return tuple(dict.fromkeys(k for k in keys if k))
