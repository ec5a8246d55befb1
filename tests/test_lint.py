"""Rubric lint: each warning on a hand-made rubric, and every bundled rubric lint-clean."""

from __future__ import annotations

import copy

import pytest
from click.testing import CliRunner

from conftest import TINY_RUBRIC
from mlsd_grader import Rubric, load_rubric
from mlsd_grader.cli import cli
from mlsd_grader.lint import lint_rubric
from mlsd_grader.rubric import bundled_rubric_ids

LONG = " Offline we measure nDCG on held out sessions and online we run an A/B test for two weeks with guardrails."


def tiny(**changes) -> dict:
    data = copy.deepcopy(TINY_RUBRIC)
    for step in data["steps"]:
        for crit in step["criteria"]:
            crit["model_answer"] = crit["model_answer"] + LONG
    data["steps"][1]["criteria"][0]["model_answer"] = (
        "We monitor feature drift every day and retrain the model every week on fresh data so that it keeps up with users."
    )
    return data


def messages(data: dict) -> list[str]:
    return [str(w) for w in lint_rubric(Rubric.model_validate(data))]


def test_clean_rubric_has_no_warnings() -> None:
    assert messages(tiny()) == []


def test_each_warning() -> None:
    data = tiny()
    data["steps"][0]["criteria"][0]["concepts"].append({"name": "drift"})  # drift is also in monitoring
    data["steps"][1]["criteria"][0]["concepts"].append({"name": "experiment", "aliases": ["a/b tests"]})
    data["steps"][1]["weight"] = 30.0
    data["steps"][1]["criteria"][0]["model_answer"] = "Retrain weekly."
    found = "\n".join(messages(data))
    assert "several steps without shared: true" in found
    assert "belongs to several concepts" in found and "abtest" in found
    assert "step weights range from 1.0 to 30.0" in found
    assert "has 2 words" in found


def test_shared_concept_across_steps_is_fine() -> None:
    data = tiny()
    data["steps"][0]["criteria"][0]["concepts"].append({"name": "drift", "shared": True})
    data["steps"][1]["criteria"][0]["concepts"][0]["shared"] = True
    assert messages(data) == []


def test_no_concepts_and_anti_pattern_on_own_model_answer() -> None:
    data = tiny()
    data["steps"][1]["criteria"][0]["concepts"] = []
    data["steps"][0]["criteria"][0]["anti_patterns"][0]["triggers"] = ["ndcg"]
    found = "\n".join(messages(data))
    assert "has no concepts" in found and "fires on its own criterion's model answer" in found


@pytest.mark.parametrize("rubric_id", bundled_rubric_ids())
def test_bundled_rubrics_validate_and_lint_clean(rubric_id: str) -> None:
    assert lint_rubric(load_rubric(rubric_id)) == []


def test_lint_command() -> None:
    result = CliRunner().invoke(cli, ["rubrics", "lint"])
    assert result.exit_code == 0 and "0 warning(s)" in result.output
    result = CliRunner().invoke(cli, ["rubrics", "validate", *bundled_rubric_ids()])
    assert result.exit_code == 0 and result.output.count("ok ") == len(bundled_rubric_ids())
