"""GradeReport, the one result type, and its renderings as JSON, text and markdown."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .scoring import Band, StepScore
from .segmentation import Section

__all__ = [
    "SCHEMA_VERSION",
    "WARNING_CODES",
    "RubricRef",
    "Warning",
    "GradeReport",
    "render",
    "report_json_schema",
    "Format",
]

# Bumped on any breaking change of the JSON report; see CHANGELOG.md.
SCHEMA_VERSION: Literal["1"] = "1"

# Every warning a report can carry, with what it means (docs/report.md repeats this table).
WARNING_CODES: dict[str, str] = {
    "empty_answer": "The answer is empty or only whitespace; it is graded 0.",
    "invalid_utf8": "The answer held bytes that are not UTF-8; they were replaced by U+FFFD.",
    "truncated": "The answer was longer than max_answer_chars; only its beginning was graded.",
    "missing_steps": "For some rubric steps no sentence of the answer weighs anything; they score 0.",
    "off_topic": "The answer says little or nothing about this question.",
    "word_salad": "The words do not read as English sentences (shuffled words?); scores are scaled down.",
    "copied_model_answer": "Much of the answer is a near-verbatim copy of the rubric's model answers.",
    "keyword_stuffing": "Some sections are mostly a list of the rubric's terms; their scores are scaled down.",
    "approximate_scores": (
        "Graded on keywords alone (backend none): the scores are mapped onto the default model's scale, "
        "but only approximately (0.09 from the default model on average over the bench answers)."
    ),
}

Format = Literal["json", "text", "markdown"]


class RubricRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    version: str
    title: str


class Warning(BaseModel):  # noqa: A001 - the report's own term
    model_config = ConfigDict(frozen=True)

    code: str
    message: str


class GradeReport(BaseModel):
    """A graded answer. ``model_dump(mode="json")`` is exactly the CLI's JSON output."""

    model_config = ConfigDict(frozen=True)

    schema_version: Literal["1"] = SCHEMA_VERSION
    rubric: RubricRef
    score: float
    calibrated_score: float | None = None
    band: Band
    steps: list[StepScore]
    sections: list[Section]
    warnings: list[Warning]
    signature: str

    def to_json(self) -> str:
        """The report as JSON text: keys in contract order, two-space indent, UTF-8 characters kept."""
        return json.dumps(self.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def report_json_schema() -> dict[str, Any]:
    """The JSON Schema of a report (every report carries ``schema_version``, so it is required)."""
    schema = GradeReport.model_json_schema()
    schema["required"] = ["schema_version", *[r for r in schema.get("required", []) if r != "schema_version"]]
    return schema


def _bar(score: float, width: int = 20) -> str:
    filled = int(round(score * width))
    return "#" * filled + "." * (width - filled)


def render_text(report: GradeReport) -> str:
    out = [
        f"{report.rubric.title} ({report.rubric.id} {report.rubric.version})",
        f"Score: {report.score:.2f}  Band: {report.band}",
        "",
    ]
    for step in report.steps:
        out.append(f"{step.title:<34} {_bar(step.score)} {step.score:.2f}  (weight {step.weight:.2f})")
        for line in step.feedback:
            out.append(f"    - {line}")
    if report.warnings:
        out.append("")
        out.extend(f"warning {w.code}: {w.message}" for w in report.warnings)
    out.extend(["", report.signature])
    return "\n".join(out) + "\n"


def _md_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "\\`*_{}[]<>()#+-.!|" else ch for ch in text)


def render_markdown(report: GradeReport) -> str:
    out = [
        f"# {_md_escape(report.rubric.title)}",
        "",
        f"**Score:** {report.score:.2f} · **Band:** {report.band.replace('_', ' ')}",
        "",
        "| Step | Score | Weight | Coverage | Similarity |",
        "|---|---:|---:|---:|---:|",
    ]
    for s in report.steps:
        out.append(f"| {s.title} | {s.score:.2f} | {s.weight:.2f} | {s.keyword_coverage:.2f} | {s.similarity:.2f} |")
    for s in report.steps:
        out += ["", f"## {s.title}", ""]
        for crit in s.criteria:
            for m in crit.matched:
                quote = _md_escape(m.evidence[0].text)
                out.append(f"- ✓ {_md_escape(m.concept)}: “{quote}”")
        out += [f"- {_md_escape(line)}" for line in s.feedback]
    if report.warnings:
        out += ["", "## Warnings", ""]
        out += [f"- `{w.code}`: {_md_escape(w.message)}" for w in report.warnings]
    out += ["", f"<sub>{_md_escape(report.signature)}</sub>"]
    return "\n".join(out) + "\n"


def render(report: GradeReport, fmt: Format) -> str:
    """The report in one of the output formats."""
    if fmt == "json":
        return report.to_json()
    if fmt == "text":
        return render_text(report)
    return render_markdown(report)
