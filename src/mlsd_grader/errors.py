"""Typed errors: every failure the library reports is a subclass of MLSDGraderError."""

from __future__ import annotations

__all__ = [
    "MLSDGraderError",
    "RubricNotFoundError",
    "RubricValidationError",
    "AnswerReadError",
    "ConfigError",
    "ModelLoadError",
    "OutputWriteError",
    "ClusterError",
]


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type's name when it has none."""
    message = str(exc).strip()
    return message.splitlines()[0] if message else type(exc).__name__


class MLSDGraderError(Exception):
    """Base class of every error raised by mlsd_grader; its message is one line."""


class RubricNotFoundError(MLSDGraderError):
    """No bundled rubric has this id and no file exists at this path."""


class RubricValidationError(MLSDGraderError):
    """A rubric file does not parse or does not match the rubric schema."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        shown = "; ".join(problems[:5])
        more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"invalid rubric {source}: {shown}{more}")


class AnswerReadError(MLSDGraderError):
    """An answer could not be read (missing file, a directory, binary content)."""


class ConfigError(MLSDGraderError, ValueError):
    """The configuration (file, environment or arguments) is invalid."""


class ModelLoadError(MLSDGraderError):
    """The embedding model or backend could not be loaded."""


class OutputWriteError(MLSDGraderError):
    """A report could not be written where it was asked to go."""


class ClusterError(MLSDGraderError):
    """A Dask cluster could not be started or reached, or could not grade a partition."""
