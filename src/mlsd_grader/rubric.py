"""Rubric models (pydantic) and loading from YAML/JSON files or bundled ids."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import RubricNotFoundError, RubricValidationError
from .steps import ANSWER_STEP, STEP_IDS

if TYPE_CHECKING:
    from .grader import Grader

__all__ = [
    "Concept",
    "AntiPattern",
    "Criterion",
    "Step",
    "Rubric",
    "RubricInfo",
    "load_rubric",
    "list_rubrics",
    "rubric_json_schema",
]

_ID_PATTERN = r"^[a-z0-9][a-z0-9_\-]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Concept(_Model):
    """An idea the answer should mention, with the phrasings that count as mentioning it."""

    name: str = Field(min_length=1, max_length=200)
    aliases: list[str] = Field(default_factory=list, description="Equivalent phrasings and abbreviations.")
    weight: float = Field(1.0, gt=0, le=100)
    shared: bool = Field(False, description="Legitimately belongs to more than one step.")

    @field_validator("aliases")
    @classmethod
    def _aliases_not_blank(cls, v: list[str]) -> list[str]:
        if any(not a.strip() for a in v):
            raise ValueError("aliases must not be blank")
        return v

    @property
    def phrases(self) -> list[str]:
        """The name followed by every alias."""
        return [self.name, *self.aliases]


class AntiPattern(_Model):
    """A common mistake: found when a trigger phrase occurs and no ``unless`` phrase does."""

    id: str = Field(pattern=_ID_PATTERN)
    description: str = Field(min_length=1)
    weight: float = Field(lt=0, ge=-1, description="Negative: subtracted from the criterion score.")
    triggers: list[str] = Field(min_length=1)
    unless: list[str] = Field(default_factory=list)


class Criterion(_Model):
    """One thing a grader looks for within a step."""

    id: str = Field(pattern=_ID_PATTERN)
    description: str = Field(min_length=1)
    weight: float = Field(1.0, gt=0, le=100)
    concepts: list[Concept] = Field(default_factory=list)
    model_answer: str = Field(min_length=1, description="What a strong candidate would say.")
    anti_patterns: list[AntiPattern] = Field(default_factory=list)


class Step(_Model):
    """A framework step of the rubric with its weight and criteria."""

    id: Literal[
        "requirements", "framing", "data", "modeling", "evaluation", "serving", "monitoring", "answer"
    ]
    weight: float = Field(1.0, gt=0, le=100)
    criteria: list[Criterion] = Field(min_length=1)


class Rubric(_Model):
    """A grading rubric: a question and the criteria of each step."""

    id: str = Field(pattern=_ID_PATTERN, max_length=100)
    version: str = Field(min_length=1, max_length=50)
    title: str = Field(min_length=1)
    question: str = Field(min_length=1)
    steps: list[Step] = Field(min_length=1)

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, v: object) -> object:
        # `version: 1` or `version: 1.2` in YAML is a number; authors mean the text
        return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v

    @model_validator(mode="after")
    def _check_steps(self) -> Rubric:
        ids = [s.id for s in self.steps]
        if ANSWER_STEP in ids:
            if len(ids) != 1:
                raise ValueError("a rubric with step 'answer' must have exactly that one step")
        else:
            if len(set(ids)) != len(ids):
                raise ValueError(f"duplicate step ids: {ids}")
            if ids != [s for s in STEP_IDS if s in ids]:
                raise ValueError(f"steps must be in framework order {list(STEP_IDS)}, got {ids}")
        seen: set[str] = set()
        for step in self.steps:
            for crit in step.criteria:
                for item in (crit.id, *(a.id for a in crit.anti_patterns)):
                    if item in seen:
                        raise ValueError(f"duplicate criterion or anti-pattern id {item!r}")
                    seen.add(item)
        return self

    @cached_property
    def content_hash(self) -> str:
        """First 12 hex digits of the SHA-256 of the rubric's canonical JSON."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]

    @property
    def is_short_answer(self) -> bool:
        return self.steps[0].id == ANSWER_STEP

    @classmethod
    def from_reference(
        cls, question: str, reference_answer: str, *, id: str | None = None, version: str = "1",  # noqa: A002
        title: str | None = None,
    ) -> Rubric:
        """A one-step short-answer rubric built from a question and its reference answer
        (see ``mlsd_grader.reference``)."""
        from .reference import rubric_from_reference

        return rubric_from_reference(question, reference_answer, id=id, version=version, title=title)

    @classmethod
    def draft(
        cls, model_answers: Sequence[str], *, id: str, title: str, question: str | None = None,
        version: str = "1", grader: Grader | None = None,
    ) -> Rubric:
        """A framework rubric drafted from model answers, to be read and edited before use (see
        ``mlsd_grader.draft``; ``draft_rubric`` also gives where each part came from and the YAML)."""
        from .draft import draft_rubric

        return draft_rubric(model_answers, id=id, title=title, question=question, version=version, grader=grader).rubric

    def info(self) -> RubricInfo:
        return RubricInfo(id=self.id, version=self.version, title=self.title, question=self.question)


class RubricInfo(_Model):
    """What ``list_rubrics`` tells about a rubric."""

    id: str
    version: str
    title: str
    question: str


def rubric_json_schema() -> dict[str, Any]:
    """The JSON Schema of a rubric file."""
    return Rubric.model_json_schema()


def _bundled_dir() -> Any:
    return resources.files("mlsd_grader.rubrics")


def bundled_rubric_ids() -> list[str]:
    """Ids of the rubrics shipped inside the package, sorted."""
    return sorted(
        p.name[: -len(".yaml")] for p in _bundled_dir().iterdir() if p.name.endswith(".yaml")
    )


def list_rubrics() -> list[RubricInfo]:
    """Every bundled rubric's id, version, title and question, sorted by id."""
    return [load_rubric(rid).info() for rid in bundled_rubric_ids()]


_CACHE: dict[str, Rubric] = {}


def load_rubric(id_or_path: str | Path) -> Rubric:
    """Load a bundled rubric by id, or a rubric file (YAML or JSON) by path."""
    key = str(id_or_path)
    path = Path(key)
    if path.suffix.lower() in {".yaml", ".yml", ".json"} or path.exists():
        if not path.is_file():
            raise RubricNotFoundError(f"no rubric file at {key}")
        return parse_rubric_text(_read_text(path), source=key, json_format=path.suffix.lower() == ".json")
    if key in _CACHE:
        return _CACHE[key]
    resource = _bundled_dir() / f"{key}.yaml"
    if "/" in key or "\\" in key or not resource.is_file():
        known = ", ".join(bundled_rubric_ids())
        raise RubricNotFoundError(f"unknown rubric {key!r}: not a file, and not a bundled id ({known})")
    rubric = parse_rubric_text(resource.read_text(encoding="utf-8"), source=f"{key}.yaml")
    _CACHE[key] = rubric
    return rubric


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise RubricValidationError(str(path), ["file is not valid UTF-8 text"]) from None
    except OSError as exc:
        raise RubricNotFoundError(f"cannot read rubric {path}: {exc.strerror or exc}") from None


def parse_rubric_text(text: str, *, source: str, json_format: bool = False) -> Rubric:
    """Parse and validate rubric text; errors name the source, field path and (YAML) line."""
    lines: dict[tuple[str | int, ...], int] = {}
    try:
        if json_format:
            data = json.loads(text)
        else:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            if node is not None:
                _record_lines(node, (), lines)
            data = yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise RubricValidationError(source, [f"line {exc.lineno}: invalid JSON: {exc.msg}"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RubricValidationError(source, [f"{where}invalid YAML: {problem}"]) from None
    if not isinstance(data, dict):
        raise RubricValidationError(source, ["the file must hold a mapping with id, version, steps ..."])
    try:
        return Rubric.model_validate(data)
    except ValidationError as exc:
        raise RubricValidationError(source, _describe(exc, lines)) from None


def _record_lines(node: yaml.Node, path: tuple[str | int, ...], out: dict[tuple[str | int, ...], int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.start_mark)
            out[(*path, key)] = key_node.start_mark.line + 1
            _record_lines(value_node, (*path, key), out)
            out[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            _record_lines(child, (*path, i), out)


def _describe(exc: ValidationError, lines: dict[tuple[str | int, ...], int]) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        field = ".".join(str(p) for p in loc) or "(top level)"
        line = None
        for n in range(len(loc), -1, -1):
            if loc[:n] in lines:
                line = lines[loc[:n]]
                break
        where = f"line {line}: " if line is not None and lines else ""
        problems.append(f"{where}{field}: {err['msg']}")
    return problems
