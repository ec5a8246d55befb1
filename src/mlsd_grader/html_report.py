"""HTML rendering: a page for one graded answer, and the index page of a batch's report directory.

Pages stand alone: inline CSS and an inline SVG bar chart, no JavaScript, nothing fetched from the
network (their Content-Security-Policy forbids both as well). Every piece of answer, rubric and report
text goes through ``html.escape(quote=True)``: answers are untrusted input.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from .batch import BatchResult, BatchSummary
from .errors import OutputWriteError
from .report import GradeReport
from .steps import ANSWER_STEP, STEP_IDS, step_title

__all__ = ["render_html", "render_index", "page_name", "ReportDirectory", "STEP_COLOURS", "INDEX_NAME"]

# One colour per step, the Okabe-Ito palette: its eight colours stay distinct under the common colour
# vision deficiencies. Highlights use them at a quarter opacity so the text stays readable.
STEP_COLOURS: dict[str, str] = {
    "requirements": "#E69F00",
    "framing": "#56B4E9",
    "data": "#009E73",
    "modeling": "#F0E442",
    "evaluation": "#0072B2",
    "serving": "#D55E00",
    "monitoring": "#CC79A7",
    ANSWER_STEP: "#0072B2",
}
_UNASSIGNED_COLOUR = "#999999"
INDEX_NAME = "index.html"

# Chart layout in pixels: the label column fits the longest step title ("Framing the problem as an ML
# task") at the page's 13 px chart font; bars are 300 px for the whole 0-1 range.
_LABEL_WIDTH = 250
_BAR_WIDTH = 300
_ROW_HEIGHT = 26
_BAR_HEIGHT = 16
_VALUE_WIDTH = 50

_CSP = "default-src 'none'; style-src 'unsafe-inline'"
_BASE_CSS = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h1 { margin-bottom: 0; } .meta { color: #666; margin-top: 0; }
.overall { font-size: 1.3rem; } .overall .score { font-weight: bold; }
.band { padding: 0.1rem 0.5rem; border-radius: 0.3rem; background: #eee; }
.band-strong_hire, .band-hire { background: #cdeccd; } .band-lean_no_hire, .band-no_hire { background: #f6d3cf; }
.chart { font-size: 13px; } .chart .track { fill: #eee; } .chart .value { fill: #333; }
.step { border-left: 4px solid var(--c); padding-left: 0.8rem; margin: 1rem 0; }
.step h3 { margin: 0; } .numbers { color: #666; margin: 0.2rem 0; }
.block { border-left: 4px solid var(--c); margin: 0.6rem 0; padding-left: 0.8rem; }
.block-label { font-size: 0.8rem; color: #666; text-transform: uppercase; letter-spacing: 0.04em; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; font: 14px/1.5 ui-monospace, monospace; margin: 0.2rem 0; }
mark { background: color-mix(in srgb, var(--c) 25%, transparent); border-bottom: 2px solid var(--c); }
mark.anti-pattern { background: #f6d3cf; border-bottom: 2px dashed #b00; }
table { border-collapse: collapse; font-size: 14px; } th, td { padding: 0.25rem 0.6rem; border-bottom: 1px solid #ddd; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } td.error { color: #b00; }
footer { margin-top: 2rem; color: #666; font-size: 0.8rem; overflow-wrap: anywhere; }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _step_css() -> str:
    rules = [f".s-{step} {{ --c: {colour}; }} .chart .bar.s-{step} {{ fill: {colour}; }}"
             for step, colour in STEP_COLOURS.items()]
    rules.append(f".s-none {{ --c: {_UNASSIGNED_COLOUR}; }}")
    return "\n".join(rules)


def _step_class(step: str | None) -> str:
    return f"s-{step}" if step in STEP_COLOURS else "s-none"


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_CSP}\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{_e(title)}</title>\n<style>{_BASE_CSS}{_step_css()}\n</style>\n</head>\n<body>\n"
        f"{body}</body>\n</html>\n"
    )


# ---------------------------------------------------------------- one answer


@dataclass(frozen=True, slots=True)
class _Mark:
    start: int
    end: int
    step: str
    kind: str  # "evidence" or "anti-pattern"
    label: str


def _marks(report: GradeReport) -> list[_Mark]:
    marks = []
    for step in report.steps:
        for crit in step.criteria:
            for match in crit.matched:
                marks += [_Mark(ev.start, ev.end, step.id, "evidence", match.concept) for ev in match.evidence]
            for hit in crit.anti_patterns:
                marks += [_Mark(ev.start, ev.end, step.id, "anti-pattern", f"avoid: {hit.id}") for ev in hit.evidence]
    return marks


def _check_text(report: GradeReport, answer: str) -> None:
    ends = [s.end for s in report.sections] + [m.end for m in _marks(report)]
    if any(end > len(answer) for end in ends) or any(
        answer[ev.start : ev.end] != ev.text
        for step in report.steps for crit in step.criteria for match in crit.matched for ev in match.evidence
    ):
        raise ValueError("the answer text is not the text this report was graded on")


def _highlighted(answer: str, start: int, end: int, marks: Sequence[_Mark]) -> str:
    """answer[start:end], escaped, with every mark inside it as a <mark> (overlaps merged)."""
    inside = [m for m in marks if m.start < end and m.end > start]
    points = sorted({start, end, *(max(m.start, start) for m in inside), *(min(m.end, end) for m in inside)})
    pieces: list[tuple[int, int, tuple[str, str, str] | None]] = []
    for a, b in pairwise(points):
        active = [m for m in inside if m.start <= a and b <= m.end]
        attrs = None
        if active:
            kind = "anti-pattern" if any(m.kind == "anti-pattern" for m in active) else "evidence"
            labels = "; ".join(dict.fromkeys(m.label for m in active))
            attrs = (kind, active[0].step, labels)
        if pieces and pieces[-1][2] == attrs and pieces[-1][1] == a:
            pieces[-1] = (pieces[-1][0], b, attrs)
        else:
            pieces.append((a, b, attrs))
    out = []
    for a, b, attrs in pieces:
        text = _e(answer[a:b])
        if attrs is None:
            out.append(text)
        else:
            kind, step, labels = attrs
            out.append(f'<mark class="{kind} {_step_class(step)}" data-step="{_e(step)}" title="{_e(labels)}">{text}</mark>')
    return "".join(out)


def _block(label: str, step: str | None, body: str) -> str:
    return (f'<div class="block {_step_class(step)}" data-step="{_e(step or "")}">'
            f'<div class="block-label">{_e(label)}</div><pre>{body}</pre></div>\n')


def _answer_blocks(report: GradeReport, answer: str) -> str:
    marks = _marks(report)
    blocks, pos = [], 0
    for section in sorted(report.sections, key=lambda s: s.start):
        if section.start > pos:
            blocks.append(_block("Answer", None, _highlighted(answer, pos, section.start, marks)))
        label = step_title(section.step) if section.step else "Unassigned"
        if section.heading:
            label += f" (heading: {section.heading})"
        blocks.append(_block(label, section.step, _highlighted(answer, section.start, section.end, marks)))
        pos = max(pos, section.end)
    if pos < len(answer):
        truncated = any(w.code == "truncated" for w in report.warnings)
        label = "Not graded: beyond max_answer_chars" if truncated else "Answer"
        blocks.append(_block(label, None, _e(answer[pos:])))
    return "".join(blocks) or "<p><em>The answer is empty.</em></p>\n"


def _chart(report: GradeReport) -> str:
    width = _LABEL_WIDTH + _BAR_WIDTH + _VALUE_WIDTH
    height = _ROW_HEIGHT * len(report.steps)
    out = [(f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="Score per step"><title>Score per step</title>')]
    for row, step in enumerate(report.steps):
        y = row * _ROW_HEIGHT + (_ROW_HEIGHT - _BAR_HEIGHT) // 2
        text_y = y + _BAR_HEIGHT - 3
        bar = max(0.0, min(1.0, step.score)) * _BAR_WIDTH
        out.append(
            f'<text class="label" x="0" y="{text_y}">{_e(step.title)}</text>'
            f'<rect class="track" x="{_LABEL_WIDTH}" y="{y}" width="{_BAR_WIDTH}" height="{_BAR_HEIGHT}"/>'
            f'<rect class="bar {_step_class(step.id)}" data-step="{_e(step.id)}" x="{_LABEL_WIDTH}" y="{y}" '
            f'width="{bar:.1f}" height="{_BAR_HEIGHT}"><title>{_e(step.title)}: {step.score:.2f}</title></rect>'
            f'<text class="value" x="{_LABEL_WIDTH + _BAR_WIDTH + 8}" y="{text_y}">{step.score:.2f}</text>'
        )
    out.append("</svg>\n")
    return "".join(out)


def _step_sections(report: GradeReport) -> str:
    out = []
    for step in report.steps:
        found = [
            f'<li>✓ {_e(m.concept)}: “{_e(m.evidence[0].text)}”</li>'
            for crit in step.criteria for m in crit.matched
        ]
        feedback = "".join(f"<li>{_e(line)}</li>" for line in step.feedback)
        out.append(
            f'<section class="step {_step_class(step.id)}" id="step-{_e(step.id)}">'
            f'<h3>{_e(step.title)} <span class="score">{step.score:.2f}</span></h3>'
            f'<p class="numbers">weight {step.weight:.2f} · keyword coverage {step.keyword_coverage:.2f}'
            f' · similarity {step.similarity:.2f}</p>'
            f'<ul class="feedback">{feedback}</ul>'
            + (f'<ul class="found">{"".join(found)}</ul>' if found else "")
            + "</section>\n"
        )
    return "".join(out)


def render_html(report: GradeReport, answer: str) -> str:
    """A standalone HTML page for one report: score and band, a bar chart of the steps, feedback, and
    ``answer`` (the text the report was graded on) with each step's evidence highlighted."""
    _check_text(report, answer)
    rubric = report.rubric
    calibrated = (f' · calibrated <span class="calibrated">{report.calibrated_score:g}</span>'
                  if report.calibrated_score is not None else "")
    warnings = "".join(f"<li><code>{_e(w.code)}</code> {_e(w.message)}</li>" for w in report.warnings)
    body = (
        f"<header><h1>{_e(rubric.title)}</h1><p class=\"meta\">{_e(rubric.id)} {_e(rubric.version)}</p>\n"
        f'<p class="overall">Score <span class="score">{report.score:.2f}</span> '
        f'<span class="band band-{_e(report.band)}">{_e(report.band.replace("_", " "))}</span>{calibrated}</p>'
        "</header>\n"
        + _chart(report)
        + (f'<section class="warnings"><h2>Warnings</h2><ul>{warnings}</ul></section>\n' if warnings else "")
        + f"<section class=\"steps\"><h2>Steps</h2>\n{_step_sections(report)}</section>\n"
        + f"<section class=\"answer\"><h2>The answer</h2>\n{_answer_blocks(report, answer)}</section>\n"
        + f"<footer><code>{_e(report.signature)}</code></footer>\n"
    )
    return _page(f"{rubric.title}: {report.score:.2f}", body)


# ---------------------------------------------------------------- batch index


def page_name(record_id: str) -> str:
    """File name of a record's page: its id made file-safe, plus a hash so different ids never collide."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", record_id).strip("._")[:60] or "answer"
    return f"{slug}-{hashlib.sha256(record_id.encode('utf-8', 'surrogatepass')).hexdigest()[:10]}.html"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def render_index(summaries: Sequence[BatchSummary], links: Mapping[str, str]) -> str:
    """The summary table of a batch: one row per record, its id linking to its page (``links[id]``)."""
    present = {s for summary in summaries for s in summary.steps}
    steps = [s for s in (*STEP_IDS, ANSWER_STEP) if s in present]
    graded = [s for s in summaries if s.error is None]
    failed = len(summaries) - len(graded)
    mean = sum(s.score or 0.0 for s in graded) / len(graded) if graded else None
    columns = ("id", "source", "rubric", "score", "band", "calibrated", *(step_title(s) for s in steps), "error")
    head = "".join(f"<th>{_e(h)}</th>" for h in columns)
    rows = []
    for s in summaries:
        link = links.get(s.id)
        ident = f'<a href="{_e(link)}">{_e(s.id)}</a>' if link else _e(s.id)
        cells = [f"<td>{ident}</td>", f"<td>{_e(s.source)}</td>", f"<td>{_e(s.rubric or '')}</td>",
                 f'<td class="num">{_number(s.score)}</td>', f"<td>{_e((s.band or '').replace('_', ' '))}</td>",
                 f'<td class="num">{_number(s.calibrated_score)}</td>']
        cells += [f'<td class="num">{_number(s.steps.get(step))}</td>' for step in steps]
        cells.append(f'<td class="error">{_e(s.error or "")}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>\n")
    summary = f"{len(summaries)} answers: {len(graded)} graded, {failed} failed"
    if mean is not None:
        summary += f"; mean score {mean:.2f}"
    body = (f"<h1>Batch report</h1>\n<p class=\"meta\">{_e(summary)}</p>\n"
            f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{''.join(rows)}</tbody>\n</table>\n")
    return _page("Batch report", body)


class ReportDirectory:
    """Writes one HTML page per graded answer into a directory, and the index of them all."""

    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputWriteError(f"cannot write {directory}: {exc.strerror or exc}") from None

    def _write(self, name: str, text: str) -> None:
        target = self.path / name
        try:
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise OutputWriteError(f"cannot write {target}: {exc.strerror or exc}") from None

    def write(self, result: BatchResult) -> None:
        """The result's page; a failed result has none."""
        if result.report is not None and result.text is not None:
            self._write(page_name(result.id), render_html(result.report, result.text))

    def write_index(self, summaries: Iterable[BatchSummary]) -> None:
        """index.html over ``summaries``, linking each graded one whose page is in the directory."""
        rows = list(summaries)
        links = {s.id: page_name(s.id) for s in rows if s.error is None and (self.path / page_name(s.id)).is_file()}
        self._write(INDEX_NAME, render_index(rows, links))
