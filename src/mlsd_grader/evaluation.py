"""Agreement with human graders: correlation of raw scores, and of a monotone calibration fitted on
K-1 folds and applied to the held-out fold."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict

from .batch import BatchRecord, InputFailure, read_inputs
from .calibration import fit_calibration
from .errors import AnswerReadError

if TYPE_CHECKING:
    from .grader import Grader

__all__ = [
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


def read_labelled(path: str | Path) -> list[BatchRecord]:
    """Read a JSONL file of the shared record schema, every record with a ``score`` and a rubric (its
    own ``rubric``, or ``question`` + ``reference_answer``); a bad line is an error naming file and line."""
    records: list[BatchRecord] = []
    for item in read_inputs([str(path)]):
        if isinstance(item, InputFailure):
            raise AnswerReadError(f"{item.source}: {item.error}")
        if item.score is None:
            raise AnswerReadError(f"{item.source}: score: a labelled record needs a human score")
        if item.rubric is None and not (item.question and item.reference_answer):
            raise AnswerReadError(f"{item.source}: needs `rubric`, or `question` and `reference_answer`")
        records.append(item)
    if len(records) < 3:
        raise AnswerReadError(f"{path}: at least 3 labelled answers are needed, found {len(records)}")
    return records


def grade_labelled(grader: Grader, records: Sequence[BatchRecord]) -> Iterator[float]:
    """The grader's raw score for each record, in order, graded in batches; a record that cannot be
    graded (an unknown rubric, a duplicate id) is an error, since agreement needs every score."""
    for result in grader.grade_many(records):
        if result.report is None:
            raise AnswerReadError(f"{result.source}: {result.error}")
        yield result.report.score


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
