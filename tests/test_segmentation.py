"""Segmentation: heading styles, sub-labels, content fallback and the section contract."""

from __future__ import annotations

import pytest

from mlsd_grader import Grader, GraderConfig
from mlsd_grader.segmentation import classify_heading, find_headings


@pytest.mark.parametrize(
    ("label", "step"),
    [
        ("Clarifying questions", "requirements"),
        ("Problem formulation", "framing"),
        ("Data pipeline", "data"),
        ("Feature engineering", "data"),
        ("Training data", "data"),
        ("Model architecture", "modeling"),
        ("Metrics", "evaluation"),
        ("Offline evaluation", "evaluation"),
        ("Prediction service", "serving"),
        ("Serving", "serving"),
        ("Scaling", "monitoring"),
        ("Evalution", "evaluation"),
        ("Monitorng", "monitoring"),
    ],
)
def test_heading_names(label: str, step: str) -> None:
    assert classify_heading(label)[0][0] == step


def test_two_step_heading_and_unknown_heading() -> None:
    assert classify_heading("Evaluation & Deployment")[0] == ("evaluation", "serving")
    assert classify_heading("Summary") == ((), 0.0)


def steps_of(text: str, grader: Grader) -> list[tuple[str | None, str]]:
    return [(s.step, text[s.start : s.end].strip().split("\n")[0]) for s in grader.segment(text)]


@pytest.fixture(scope="module")
def keyword_grader() -> Grader:
    return Grader(GraderConfig(backend="none"))


@pytest.mark.parametrize(
    "text",
    [
        "## Requirements\nTen million users.\n\n## Metrics\nWe track recall.\n",
        "1. Requirements\nTen million users.\n\n2. Metrics\nWe track recall.\n",
        "**Requirements**\nTen million users.\n\n**Metrics**\nWe track recall.\n",
        "**Requirements:** Ten million users.\n\n**Metrics:** We track recall.\n",
        "Step 1: Requirements\nTen million users.\n\nStep 2: Metrics\nWe track recall.\n",
        "Requirements\n============\nTen million users.\n\nMetrics\n-------\nWe track recall.\n",
    ],
)
def test_heading_styles(text: str, keyword_grader: Grader) -> None:
    sections = keyword_grader.segment(text)
    assert [s.step for s in sections] == ["requirements", "evaluation"]
    assert sections[0].start == 0 and sections[-1].end == len(text)
    assert all(a.end == b.start for a, b in zip(sections, sections[1:]))
    assert sections[0].heading == "Requirements" and sections[0].confidence > 0.5


def test_sub_labels_inherit_their_heading(keyword_grader: Grader) -> None:
    text = "## Problem formulation\nBinary classification: input a post, output a probability.\n\n## Model\nBaseline: logistic regression.\n"
    assert [s.step for s in keyword_grader.segment(text)] == ["framing", "modeling"]


def test_code_blocks_are_not_headings() -> None:
    text = "## Model\n```\n# Metrics\nprint(1)\n```\n"
    assert [h.label for h in find_headings(text)] == ["Model"]


def test_plain_prose_gets_content_sections(fake_grader: Grader) -> None:
    text = (
        "First, we should clarify how many daily active users and QPS we expect.\n\n"
        "We would monitor drift and retrain weekly, with alerts on dashboards."
    )
    sections = fake_grader.segment(text)
    assert [s.step for s in sections] == ["requirements", "monitoring"]
    assert all(0 < s.confidence <= 1 for s in sections)


def test_unassigned_text_is_reported(keyword_grader: Grader) -> None:
    text = "Hello there, nice weather today.\n\n## Metrics\nWe track recall.\n"
    sections = keyword_grader.segment(text)
    assert sections[0].step is None and sections[0].heading is None
    assert sections[-1].step == "evaluation"


def test_empty_answer_has_no_sections(keyword_grader: Grader) -> None:
    assert keyword_grader.segment("   \n") == []


def test_document_title_is_not_a_step(keyword_grader: Grader) -> None:
    text = "# News feed ranking\n\n## Scoping the problem\nHow many users?\n\n## Model\nA GBDT.\n\n## Metrics\nnDCG.\n"
    sections = keyword_grader.segment(text)
    assert [s.step for s in sections][-3:] == ["requirements", "modeling", "evaluation"]
    assert sections[0].heading is None or sections[0].step != "modeling"


def test_byte_order_mark_does_not_hide_first_heading(keyword_grader: Grader) -> None:
    sections = keyword_grader.segment("\ufeff## Evaluation\nWe track recall.\n")
    assert sections[0].step == "evaluation" and sections[0].heading == "Evaluation"


def test_numbered_sections_with_unnamed_titles_are_still_boundaries() -> None:
    text = (
        "1) The ask\nHow many users and what latency.\n\n2) Labels\nWe label with reviewers.\n\n"
        "3) How we know it works\nWe track recall.\n"
    )
    labels = [h.label for h in find_headings(text)]
    assert labels == ["The ask", "Labels", "How we know it works"]
    assert find_headings("1) Collect logs\n2) Clean them\n3) Ship it\n") == []  # a plain list
