"""Integration through the real model (all-MiniLM-L6-v2, loaded once per session)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT
from mlsd_grader import Grader, load_rubric
from mlsd_grader.rubric import bundled_rubric_ids
from mlsd_grader.steps import STEP_IDS
from test_properties import model_answer_text

pytestmark = pytest.mark.integration
QUESTIONS = sorted(p.parent.name for p in EXAMPLES.glob("*/strong.md"))


def score(grader: Grader, question: str, tier: str, rubric: str | None = None) -> float:
    return grader.grade((EXAMPLES / question / f"{tier}.md").read_bytes(), rubric or question).score


@pytest.mark.parametrize("question", QUESTIONS)
def test_strong_beats_middling_beats_weak(real_grader: Grader, question: str) -> None:
    strong, middling, weak = (score(real_grader, question, t) for t in ("strong", "middling", "weak"))
    assert strong > middling > weak
    assert strong - weak >= 0.25


@pytest.mark.parametrize("question", QUESTIONS)
def test_plain_prose_answer_gets_per_step_sections_and_scores(real_grader: Grader, question: str) -> None:
    text = (EXAMPLES / question / "strong_prose.md").read_text(encoding="utf-8")
    assert "#" not in text and "**" not in text
    report = real_grader.grade(text, question)
    found = {s.step for s in report.sections} - {None}
    assert len(found) >= 6, found
    assert sum(1 for s in report.steps if s.score > 0.2) >= 6


@pytest.mark.parametrize("rubric_id", bundled_rubric_ids())
def test_model_answers_score_at_least_0_9(real_grader: Grader, rubric_id: str) -> None:
    rubric = load_rubric(rubric_id)
    assert real_grader.grade(model_answer_text(rubric), rubric).score >= 0.9


def test_same_input_same_bytes(real_grader: Grader) -> None:
    answer = (EXAMPLES / "news_feed" / "middling.md").read_bytes()
    first = real_grader.grade(answer, "news_feed").to_json()
    assert Grader().grade(answer, "news_feed").to_json() == first


def test_report_contract(real_grader: Grader) -> None:
    data = real_grader.grade((EXAMPLES / "video_recommendation" / "strong.md").read_bytes(), "video_recommendation")
    report = data.model_dump(mode="json")
    assert list(report) == [
        "schema_version", "rubric", "score", "calibrated_score", "band", "steps", "sections", "warnings", "signature"
    ]
    assert report["calibrated_score"] is None
    assert report["schema_version"] == "1"
    assert [s["id"] for s in report["steps"]] == list(STEP_IDS)
    step = report["steps"][0]
    assert list(step) == ["id", "title", "score", "weight", "keyword_coverage", "similarity", "criteria", "feedback"]
    crit = step["criteria"][0]
    assert list(crit) == ["id", "score", "keyword_coverage", "similarity", "matched", "missing", "anti_patterns"]
    assert list(crit["matched"][0]) == ["concept", "evidence"]
    evidence = crit["matched"][0]["evidence"][0]
    assert list(evidence) == ["text", "start", "end", "step", "probability"]
    assert evidence["step"] in STEP_IDS and 0 < evidence["probability"] <= 1
    assert list(report["sections"][0]) == ["step", "start", "end", "heading", "confidence"]
    text = (EXAMPLES / "video_recommendation" / "strong.md").read_text(encoding="utf-8")
    for s in report["steps"]:
        for c in s["criteria"]:
            for m in c["matched"]:
                for ev in m["evidence"]:
                    assert text[ev["start"] : ev["end"]] == ev["text"]


def _gold_module():
    spec = importlib.util.spec_from_file_location("segmentation_accuracy", ROOT / "bench" / "segmentation_accuracy.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_segmentation_accuracy_on_gold_set(real_grader: Grader) -> None:
    gold = _gold_module()
    assert len(list(Path(gold.GOLD_DIR).glob("*.yaml"))) >= 12
    assert gold.measure(real_grader, strip_headings=False)["overall"] >= 0.90
    assert gold.measure(real_grader, strip_headings=True)["overall"] >= 0.70


@pytest.mark.parametrize("question", QUESTIONS)
def test_strong_example_scores_highest_against_its_own_rubric(real_grader: Grader, question: str) -> None:
    answer = (EXAMPLES / question / "strong.md").read_bytes()
    own = real_grader.grade(answer, question).score
    others = {rid: real_grader.grade(answer, rid).score for rid in bundled_rubric_ids() if rid not in (question, "generic")}
    assert len(others) == 9
    assert all(own > s for s in others.values()), (own, others)


@pytest.mark.parametrize("question", QUESTIONS)
def test_generic_rubric_ranks_strong_above_weak(real_grader: Grader, question: str) -> None:
    assert score(real_grader, question, "strong", "generic") > score(real_grader, question, "weak", "generic")
