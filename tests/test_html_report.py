"""HTML reports: parsed with the standard library's html.parser and checked part by part; hostile
answer text must come out as inert text."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mlsd_grader.scale import IDENTITY
from mlsd_grader import Grader, GraderConfig, Rubric
from mlsd_grader.batch import BatchSummary
from mlsd_grader.cli import cli
from mlsd_grader.html_report import INDEX_NAME, page_name, render_html, render_index

HOSTILE = (
    "## Evaluation\n"
    "We report nDCG, and accuracy <script>alert('x')</script> too.\n"
    'Then an A/B test " onmouseover="alert(1)" x=".\n'
    "## Monitoring\n"
    "We monitor drift & schedule <b>retraining</b> weekly.\n"
)


class Page(HTMLParser):
    """Every start tag with its attributes, the text inside <pre>, <mark> and <li>, and <a> targets."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.open: list[tuple[str, dict[str, str], list[str]]] = []
        self.closed: list[tuple[str, dict[str, str], str]] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.tags.append((tag, values))
        if tag not in ("rect", "meta", "br"):
            self.open.append((tag, values, []))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("rect", "meta", "br"):
            return
        name, attrs, parts = self.open.pop()
        assert name == tag, f"</{tag}> closes <{name}>"
        self.closed.append((name, attrs, "".join(parts)))

    def handle_data(self, data: str) -> None:
        for _, _, parts in self.open:
            parts.append(data)

    def elements(self, tag: str, cls: str | None = None) -> list[tuple[dict[str, str], str]]:
        return [(a, t) for n, a, t in self.closed if n == tag and (cls is None or cls in a.get("class", "").split())]


@pytest.fixture()
def graded(fake_grader: Grader, tiny_rubric: Rubric) -> tuple[Any, Page, str]:
    report = fake_grader.grade(HOSTILE, tiny_rubric)
    html = render_html(report, HOSTILE)
    return report, Page(html), html


def test_hostile_answer_is_inert(graded: tuple[Any, Page, str]) -> None:
    _, page, html = graded
    assert [t for t, _ in page.tags if t in ("script", "b", "iframe", "img")] == []
    assert all(not name.startswith("on") for _, attrs in page.tags for name in attrs)
    assert "<script" not in html and '" onmouseover="' not in html
    assert "&lt;script&gt;" in html and "&quot; onmouseover=&quot;alert(1)&quot;" in html
    # the answer is shown whole, character for character, once unescaped
    assert "".join(text for _, text in page.elements("pre")) == HOSTILE
    csp = [a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp == ["default-src 'none'; style-src 'unsafe-inline'"]


def test_page_parts(graded: tuple[Any, Page, str]) -> None:
    report, page, html = graded
    assert html.startswith("<!DOCTYPE html>")
    assert len([t for t, _ in page.tags if t == "svg"]) == 1
    bars = [a for t, a in page.tags if t == "rect" and "bar" in a.get("class", "").split()]
    assert [b["data-step"] for b in bars] == [s.id for s in report.steps] == ["evaluation", "monitoring"]
    for bar, step in zip(bars, report.steps):
        assert float(bar["width"]) == pytest.approx(step.score * 300, abs=0.05)
    assert page.elements("span", "score")[0][1] == f"{report.score:.2f}"
    assert page.elements("span", "band")[0][1] == report.band.replace("_", " ")
    assert [text for _, text in page.elements("ul", "feedback")] == ["".join(s.feedback) for s in report.steps]
    assert all(s.feedback for s in report.steps)
    labels = [text for _, text in page.elements("div", "block-label")]
    assert labels == ["Evaluation (heading: Evaluation)", "Monitoring and infrastructure (heading: Monitoring)"]


def test_evidence_is_highlighted_per_step(graded: tuple[Any, Page, str]) -> None:
    report, page, _ = graded
    marks = [(a["data-step"], "anti-pattern" in a["class"].split(), text) for a, text in page.elements("mark")]
    expected = []
    for step in report.steps:
        for crit in step.criteria:
            expected += [(step.id, False, ev.text) for m in crit.matched for ev in m.evidence]
            expected += [(step.id, True, ev.text) for hit in crit.anti_patterns for ev in hit.evidence]
    assert sorted(marks) == sorted(expected)
    assert ("evaluation", True, "accuracy") in marks and ("monitoring", False, "retraining") in marks
    assert ("evaluation", False, "A/B test") in marks


def test_text_that_was_not_graded_is_refused_or_marked(fake_grader: Grader, tiny_rubric: Rubric) -> None:
    report = fake_grader.grade(HOSTILE, tiny_rubric)
    with pytest.raises(ValueError, match="not the text this report was graded on"):
        render_html(report, HOSTILE.upper())
    short = Grader(GraderConfig(max_answer_chars=60), embedder=fake_grader.embedder, scale=IDENTITY).grade(HOSTILE, tiny_rubric)
    page = Page(render_html(short, HOSTILE))
    labels = [text for _, text in page.elements("div", "block-label")]
    assert labels[-1] == "Not graded: beyond max_answer_chars"
    assert "".join(text for _, text in page.elements("pre")) == HOSTILE
    empty = Page(render_html(fake_grader.grade("", tiny_rubric), ""))
    assert [text for _, text in empty.elements("em")] == ["The answer is empty."]


def test_index_links_and_escapes() -> None:
    evil = '<img src=x onerror="alert(1)">'
    rows = [
        BatchSummary(id=evil, source="a.jsonl:1", rubric="generic", score=0.5, band="hire",
                     steps={"evaluation": 0.25}),
        BatchSummary(id="b", source="a.jsonl:2", error="not JSON: <oops>"),
    ]
    page = Page(render_index(rows, {evil: page_name(evil)}))
    assert [t for t, _ in page.tags if t == "img"] == []
    links = page.elements("a")
    assert [(a["href"], text) for a, text in links] == [(page_name(evil), evil)]
    header = [text for _, text in page.elements("th")]
    assert header == ["id", "source", "rubric", "score", "band", "calibrated", "Evaluation", "error"]
    assert [text for _, text in page.elements("td", "error")] == ["", "not JSON: <oops>"]
    assert page.elements("p", "meta")[0][1] == "2 answers: 1 graded, 1 failed; mean score 0.50"


def test_page_names_are_safe_and_distinct() -> None:
    names = {page_name(i) for i in ("a/b.md", "a_b.md", "../../etc/passwd", "", "x" * 500, "index")}
    assert len(names) == 6
    assert all("/" not in n and not n.startswith(".") and n.endswith(".html") and len(n) < 90 for n in names)
    assert INDEX_NAME not in names


def test_cli_grade_html_and_batch_report_dir(tmp_path: Path) -> None:
    answer = tmp_path / "hostile.md"
    answer.write_text(HOSTILE, encoding="utf-8")
    out = tmp_path / "report.html"
    graded = CliRunner().invoke(cli, ["grade", str(answer), "--rubric", "generic", "--backend", "none",
                                      "--format", "html", "-o", str(out)])
    assert graded.exit_code == 0, graded.output
    page = Page(out.read_text(encoding="utf-8"))
    assert len([a for t, a in page.tags if t == "rect" and "bar" in a.get("class", "")]) == 7
    assert "".join(text for _, text in page.elements("pre")) == HOSTILE

    records = tmp_path / "r.jsonl"
    records.write_text(json.dumps({"id": "bad", "answer": "x", "rubric": "nope"}) + "\n")
    reports = tmp_path / "reports"
    result = CliRunner().invoke(cli, ["batch", str(answer), str(records), "--rubric", "generic", "--backend", "none",
                                      "--report-dir", str(reports), "-q"])
    assert result.exit_code == 1
    assert sorted(p.name for p in reports.iterdir()) == sorted([INDEX_NAME, page_name(str(answer))])
    assert (reports / page_name(str(answer))).read_text(encoding="utf-8") == out.read_text(encoding="utf-8")
    index = Page((reports / INDEX_NAME).read_text(encoding="utf-8"))
    assert [(a["href"], text) for a, text in index.elements("a")] == [(page_name(str(answer)), str(answer))]
    assert [text for _, text in index.elements("td", "error")][1].startswith("unknown rubric 'nope'")
