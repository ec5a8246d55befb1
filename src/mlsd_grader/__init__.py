"""mlsd_grader: offline, deterministic, explainable grading of ML system design interview answers."""

from .batch import BatchRecord, BatchResult
from .config import GraderConfig
from .embeddings import Embedder
from .errors import (
    AnswerReadError,
    ConfigError,
    MLSDGraderError,
    ModelLoadError,
    RubricNotFoundError,
    RubricValidationError,
)
from .grader import Grader, grade, segment
from .report import GradeReport
from .rubric import AntiPattern, Concept, Criterion, Rubric, RubricInfo, Step, list_rubrics, load_rubric
from .scoring import CriterionScore, StepScore
from .segmentation import Section
from .steps import STEP_IDS

__all__ = [
    "AnswerReadError",
    "AntiPattern",
    "BatchRecord",
    "BatchResult",
    "Concept",
    "ConfigError",
    "Criterion",
    "CriterionScore",
    "Embedder",
    "GradeReport",
    "Grader",
    "GraderConfig",
    "MLSDGraderError",
    "ModelLoadError",
    "Rubric",
    "RubricInfo",
    "RubricNotFoundError",
    "RubricValidationError",
    "STEP_IDS",
    "Section",
    "Step",
    "StepScore",
    "grade",
    "list_rubrics",
    "load_rubric",
    "segment",
]
