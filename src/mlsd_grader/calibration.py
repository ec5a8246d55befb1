"""Calibration: a monotone map from the grader's 0-1 score to a user's own scale, fitted on labelled
answers (isotonic regression, scikit-learn) and stored as a small JSON file of breakpoints."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ConfigError

__all__ = ["Calibration", "fit_calibration", "load_calibration"]


class Calibration(BaseModel):
    """Piecewise-linear, non-decreasing map from raw score to the user's scale."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["mlsd_grader.calibration"] = "mlsd_grader.calibration"
    version: Literal[1] = 1
    x: list[float] = Field(min_length=1, description="Raw grader scores, increasing.")
    y: list[float] = Field(min_length=1, description="Calibrated scores at x, non-decreasing.")
    n: int = Field(ge=1, description="How many labelled answers it was fitted on.")
    grader: str = Field("", description="Signature of the grader whose scores it was fitted on.")

    @model_validator(mode="after")
    def _check(self) -> Calibration:
        if len(self.x) != len(self.y):
            raise ValueError("x and y must have the same length")
        if any(b < a for a, b in zip(self.x, self.x[1:])) or any(b < a for a, b in zip(self.y, self.y[1:])):
            raise ValueError("x and y must be non-decreasing")
        return self

    def apply(self, score: float) -> float:
        """The calibrated score (clipped to the fitted range outside it)."""
        return float(np.interp(score, self.x, self.y))

    def apply_many(self, scores: Sequence[float]) -> np.ndarray:
        return np.interp(np.asarray(scores, dtype=np.float64), self.x, self.y)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2) + "\n"

    @cached_property
    def content_hash(self) -> str:
        """First 12 hex digits of the SHA-256 of its canonical JSON (named in report signatures)."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def fit_calibration(raw: Sequence[float], human: Sequence[float], *, grader: str = "") -> Calibration:
    """Fit the non-decreasing map from ``raw`` grader scores to ``human`` scores."""
    from sklearn.isotonic import IsotonicRegression

    if len(raw) != len(human) or len(raw) < 2:
        raise ConfigError("a calibration needs at least two labelled answers")
    iso = IsotonicRegression(increasing=True, out_of_bounds="clip")
    iso.fit(np.asarray(raw, dtype=np.float64), np.asarray(human, dtype=np.float64))
    x = [round(float(v), 6) for v in iso.X_thresholds_]
    y = [round(float(v), 6) for v in iso.y_thresholds_]
    return Calibration(x=x, y=y, n=len(raw), grader=grader)


def load_calibration(path: str | Path) -> Calibration:
    """Read a calibration file written by ``mlsd-grader calibrate``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read calibration {path}: {exc.strerror or exc}") from None
    try:
        return Calibration.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "file"
        raise ConfigError(f"invalid calibration {path}: {where}: {first['msg']}") from None
