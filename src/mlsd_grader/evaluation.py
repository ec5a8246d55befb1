"""Agreement with human graders: correlation of raw scores, and of a monotone calibration fitted on
K-1 folds and applied to the held-out fold."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .calibration import fit_calibration
from .errors import AnswerReadError
from .rubric import Rubric, load_rubric

if TYPE_CHECKING:
    from .grader import Grader

__all__ = [
    "LabelledRecord",
    "RawAgreement",
    "CalibratedAgreement",
    "EvaluationResult",
    "read_labelled",
    "grade_labelled",
    "evaluate_scores",
    "human_scale",
    "FOLD_SEED",
]

# Fold assignment is a seeded permutation, so the same input gives the same numbers.
FOLD_SEED = 20261122


class LabelledRecord(BaseModel):
    """One human-graded answer: the shared record schema with ``score`` required."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str | None = None
    answer: str
    score: float
    max_score: float | None = Field(None, gt=0)
    rubric: str | None = None
    question: str | None = None
    reference_answer: str | None = None

    @model_validator(mode="after")
    def _has_rubric(self) -> LabelledRecord:
        if self.rubric is None and not (self.question and self.reference_answer):
            raise ValueError("needs `rubric`, or `question` and `reference_answer`")
        return self


def read_labelled(path: str | Path) -> list[LabelledRecord]:
    """Read a JSONL file of labelled records; a bad line is an error naming the file and line."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise AnswerReadError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(LabelledRecord.model_validate(json.loads(line)))
        except json.JSONDecodeError as exc:
            raise AnswerReadError(f"{path}:{number}: not JSON: {exc.msg}") from None
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise AnswerReadError(f"{path}:{number}: {where + ': ' if where else ''}{err['msg']}") from None
    if len(records) < 3:
        raise AnswerReadError(f"{path}: at least 3 labelled answers are needed, found {len(records)}")
    return records


def grade_labelled(grader: Grader, records: Sequence[LabelledRecord]) -> Iterator[float]:
    """The grader's raw score for each record, in order (rubrics built once per question)."""
    rubrics: dict[tuple[str | None, str | None, str | None], Rubric] = {}
    for record in records:
        key = (record.rubric, record.question, record.reference_answer)
        if key not in rubrics:
            if record.rubric is not None:
                rubrics[key] = load_rubric(record.rubric)
            else:
                assert record.question is not None and record.reference_answer is not None
                rubrics[key] = Rubric.from_reference(record.question, record.reference_answer)
        yield grader.grade(record.answer, rubrics[key]).score


class RawAgreement(BaseModel):
    model_config = ConfigDict(frozen=True)

    pearson: float | None
    spearman: float | None


class CalibratedAgreement(RawAgreement):
    rmse: float | None
    qwk: float | None


class EvaluationResult(BaseModel):
    """What ``mlsd-grader evaluate`` reports; ``model_dump(mode="json")`` is its JSON."""

    model_config = ConfigDict(frozen=True)

    n: int
    raw: RawAgreement
    calibrated: CalibratedAgreement


def human_scale(scores: Sequence[float], max_scores: Sequence[float | None]) -> list[float]:
    """Human scores in their own units; where records disagree on max_score, as a fraction of it."""
    maxima = {m for m in max_scores if m is not None}
    if len(maxima) <= 1:
        return [float(s) for s in scores]
    return [float(s) / float(m) if m else float(s) for s, m in zip(scores, max_scores)]


def _r(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 4)


def _correlations(x: np.ndarray, y: np.ndarray) -> tuple[float | None, float | None]:
    from scipy.stats import pearsonr, spearmanr

    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None, None
    return _r(pearsonr(x, y).statistic), _r(spearmanr(x, y).statistic)


def _qwk(human: np.ndarray, predicted: np.ndarray) -> float | None:
    """Quadratic weighted kappa on half points, when every human score is a whole or half point."""
    from sklearn.metrics import cohen_kappa_score

    doubled = human * 2
    if not np.allclose(doubled, np.round(doubled), atol=1e-9):
        return None
    labels = np.round(doubled).astype(int)
    guess = np.clip(np.round(predicted * 2).astype(int), labels.min(), labels.max())
    if len(set(labels.tolist()) | set(guess.tolist())) < 2:
        return None
    return _r(cohen_kappa_score(labels, guess, weights="quadratic"))


def evaluate_scores(raw: Sequence[float], human: Sequence[float], *, folds: int = 5) -> EvaluationResult:
    """Agreement of raw grader scores with human scores, before and after K-fold calibration."""
    x = np.asarray(raw, dtype=np.float64)
    y = np.asarray(human, dtype=np.float64)
    n = len(x)
    pearson, spearman = _correlations(x, y)
    k = max(2, min(folds, n))
    predicted = np.empty(n)
    fold_of = np.random.default_rng(FOLD_SEED).permutation(n) % k
    for fold in range(k):
        held = fold_of == fold
        if held.all() or not held.any():
            continue
        calibration = fit_calibration(x[~held].tolist(), y[~held].tolist())
        predicted[held] = calibration.apply_many(x[held].tolist())
    c_pearson, c_spearman = _correlations(predicted, y)
    rmse = _r(float(np.sqrt(np.mean((predicted - y) ** 2)))) if n else None
    return EvaluationResult(
        n=n,
        raw=RawAgreement(pearson=pearson, spearman=spearman),
        calibrated=CalibratedAgreement(pearson=c_pearson, spearman=c_spearman, rmse=rmse, qwk=_qwk(y, predicted)),
    )
