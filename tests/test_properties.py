"""Hypothesis properties of the whole pipeline (hashing embedder, so the pipeline runs fast)."""

from __future__ import annotations

import copy
import json
import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import TINY_RUBRIC
from mlsd_grader import Grader, Rubric, load_rubric
from mlsd_grader.rubric import bundled_rubric_ids
from mlsd_grader.steps import step_title

SETTINGS = settings(max_examples=int(__import__("os").environ.get("HYPOTHESIS_EXAMPLES", "60")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

words = st.sampled_from(
    "we the model data users latency ndcg a/b test drift monitor retrain features labels serve deploy "
    "precision recall ranking embeddings baseline logistic regression ## Metrics 1. **Data** : . , \n - "
    "don't not no".split(" ")
)
answers = st.one_of(
    st.text(max_size=400),
    st.lists(words, max_size=80).map(" ".join),
)


def all_scores(report) -> list[float]:
    out = [report.score]
    for step in report.steps:
        out += [step.score, step.keyword_coverage, step.similarity]
        out += [c.score for c in step.criteria]
    return out


@SETTINGS
@given(answer=answers)
def test_scores_in_unit_interval_and_json_valid(fake_grader: Grader, answer: str) -> None:
    report = fake_grader.grade(answer, "generic")
    assert all(0.0 <= x <= 1.0 for x in all_scores(report))
    assert json.loads(report.to_json())["score"] == report.score
    for section in report.sections:
        assert 0 <= section.start < section.end <= len(answer)


@SETTINGS
@given(answer=answers)
def test_deterministic(fake_grader: Grader, answer: str) -> None:
    assert fake_grader.grade(answer, "generic").to_json() == fake_grader.grade(answer, "generic").to_json()


@SETTINGS
@given(answer=answers)
def test_letter_case_does_not_change_scores(fake_grader: Grader, answer: str) -> None:
    upper = answer.upper()
    assume(len(upper) == len(answer))
    a = all_scores(fake_grader.grade(answer, "generic"))
    b = all_scores(fake_grader.grade(upper, "generic"))
    assert a == pytest.approx(b, abs=1e-6)


@SETTINGS
@given(answer=answers, width=st.integers(2, 6))
def test_wider_spaces_inside_lines_do_not_change_scores(fake_grader: Grader, answer: str, width: int) -> None:
    wide = re.sub(r"(?<=\S) (?=\S)", " " * width, answer)  # inside a line: between two non-blanks
    a = all_scores(fake_grader.grade(answer, "generic"))
    b = all_scores(fake_grader.grade(wide, "generic"))
    assert a == pytest.approx(b, abs=1e-6)


def one_step(rubric_id: str) -> Rubric:
    """A bundled rubric's first criterion as a short-answer rubric, whose section is the whole answer."""
    crit = load_rubric(rubric_id).steps[2].criteria[0]
    data = copy.deepcopy(TINY_RUBRIC)
    data["steps"] = [{"id": "answer", "weight": 1.0, "criteria": [crit.model_dump(mode="json")]}]
    return Rubric.model_validate(data)


@SETTINGS
@given(answer=answers, pick=st.integers(0, 100), rubric_id=st.sampled_from(bundled_rubric_ids()))
def test_adding_a_covered_concept_never_lowers_coverage(fake_grader: Grader, answer: str, pick: int, rubric_id: str) -> None:
    rubric = one_step(rubric_id)
    concepts = rubric.steps[0].criteria[0].concepts
    concept = concepts[pick % len(concepts)]
    before = fake_grader.grade(answer, rubric).steps[0].keyword_coverage
    after_report = fake_grader.grade(answer + f"\n\nWe use {concept.name}.", rubric)
    assert after_report.steps[0].keyword_coverage >= before
    assert concept.name in [m.concept for m in after_report.steps[0].criteria[0].matched]


def model_answer_text(rubric: Rubric) -> str:
    return "\n\n".join(
        f"## {step_title(step.id)}\n" + " ".join(c.model_answer.strip() for c in step.criteria) for step in rubric.steps
    )


@pytest.mark.parametrize("rubric_id", bundled_rubric_ids())
def test_model_answers_score_at_least_0_9(fake_grader: Grader, rubric_id: str) -> None:
    rubric = load_rubric(rubric_id)
    report = fake_grader.grade(model_answer_text(rubric), rubric)
    assert report.score >= 0.9, [(s.id, s.score) for s in report.steps]
