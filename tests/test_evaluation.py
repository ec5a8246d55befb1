"""Evaluation, calibration and reference rubrics: hand-checkable numbers on small labelled sets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mlsd_grader.scale import IDENTITY
from mlsd_grader import ConfigError, Grader, GraderConfig, Rubric
from mlsd_grader.calibration import Calibration, fit_calibration, load_calibration
from mlsd_grader.cli import cli
from mlsd_grader.evaluation import evaluate_scores, human_scale, read_labelled
from mlsd_grader.reference import concept_weight

QUESTION = "What is nDCG and when would you use it?"
REFERENCE = (
    "Normalized discounted cumulative gain measures ranking quality with graded relevance. "
    "It discounts gains logarithmically by position and divides by the ideal ordering."
)


def test_reference_rubric_leaves_out_question_words_and_weights_rare_words() -> None:
    rubric = Rubric.from_reference(QUESTION, REFERENCE)
    assert rubric.is_short_answer and rubric.steps[0].criteria[0].model_answer == REFERENCE
    names = {c.name: c.weight for c in rubric.steps[0].criteria[0].concepts}
    assert "use" not in names and "ndcg" not in names  # said by the question
    assert "logarithmically" in names and "the" not in names
    assert names["logarithmically"] > names["measures"]
    assert concept_weight("the") == 1.0


def test_repeating_the_question_earns_nothing(fake_grader: Grader) -> None:
    rubric = Rubric.from_reference(QUESTION, REFERENCE)
    parrot = fake_grader.grade(QUESTION, rubric)
    good = fake_grader.grade(REFERENCE, rubric)
    assert parrot.steps[0].keyword_coverage == 0.0
    assert good.score > 0.9 > 0.3 > parrot.score


def test_calibration_is_monotone_and_round_trips(tmp_path: Path) -> None:
    cal = fit_calibration([0.1, 0.2, 0.4, 0.8], [0.0, 1.0, 0.5, 2.0])
    assert cal.y == sorted(cal.y)  # isotonic: (1.0, 0.5) pooled to 0.75
    assert cal.apply(0.2) == pytest.approx(0.75) and cal.apply(-5) == 0.0 and cal.apply(5) == 2.0
    path = tmp_path / "c.json"
    path.write_text(cal.to_json())
    assert load_calibration(path) == cal
    path.write_text(json.dumps({"x": [0.2, 0.1], "y": [0, 1], "n": 2}))
    with pytest.raises(ConfigError, match="non-decreasing"):
        load_calibration(path)


def test_evaluate_scores_hand_checkable() -> None:
    raw = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    human = [0, 0, 0.5, 0.5, 1, 1, 1.5, 1.5, 2, 2]
    result = evaluate_scores(raw, human, folds=5)
    assert result.n == 10
    assert result.raw.spearman == pytest.approx(np.corrcoef(np.argsort(np.argsort(raw)), [0.5, 0.5, 2.5, 2.5, 4.5, 4.5, 6.5, 6.5, 8.5, 8.5])[0, 1], abs=1e-3)
    assert result.raw.pearson == pytest.approx(np.corrcoef(raw, human)[0, 1], abs=1e-4)
    assert result.calibrated.qwk is not None and result.calibrated.rmse is not None
    assert evaluate_scores(raw, human, folds=5) == result  # fixed seed
    quarter = [h / 4 + 0.01 for h in human]
    assert evaluate_scores(raw, quarter).calibrated.qwk is None  # not whole or half points


def test_human_scale_uses_fractions_only_when_maxima_differ() -> None:
    assert human_scale([1, 2], [2, 2]) == [1.0, 2.0]
    assert human_scale([1, 2], [2, 4]) == [0.5, 0.5]


def labelled_file(tmp_path: Path) -> Path:
    answers = [
        (REFERENCE, 2),
        ("nDCG discounts gains by position and divides by the ideal ordering.", 1.5),
        ("It measures ranking quality.", 1),
        ("It is a metric.", 0.5),
        ("I like pasta.", 0),
        ("Graded relevance, discounted logarithmically, normalised by the ideal ranking.", 2),
    ]
    path = tmp_path / "labelled.jsonl"
    path.write_text("".join(
        json.dumps({"id": str(i), "answer": a, "score": s, "max_score": 2, "question": QUESTION,
                    "reference_answer": REFERENCE}) + "\n" for i, (a, s) in enumerate(answers)))
    return path


def test_evaluate_and_calibrate_commands(tmp_path: Path) -> None:
    path = labelled_file(tmp_path)
    result = CliRunner().invoke(cli, ["evaluate", str(path), "--backend", "none", "--format", "json", "--folds", "3"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["n"] == 6 and set(data) == {"n", "raw", "calibrated"} and data["raw"]["pearson"] > 0.5
    out = tmp_path / "cal.json"
    result = CliRunner().invoke(cli, ["calibrate", str(path), "--backend", "none", "-o", str(out)])
    assert result.exit_code == 0, result.output
    answer = tmp_path / "a.txt"
    answer.write_text(REFERENCE)
    ref_rubric = tmp_path / "ref.json"
    ref_rubric.write_text(Rubric.from_reference(QUESTION, REFERENCE).model_dump_json())
    graded = CliRunner().invoke(cli, ["grade", str(answer), "--rubric", str(ref_rubric), "--backend", "none",
                                      "--calibration", str(out), "--format", "json"])
    report = json.loads(graded.stdout)
    assert report["calibrated_score"] == pytest.approx(2.0)
    assert f"calibration:{load_calibration(out).content_hash}" in report["signature"]


def test_bad_labelled_line_is_one_clear_error(tmp_path: Path) -> None:
    path = labelled_file(tmp_path)
    path.write_text(path.read_text() + '{"answer": "x"}\n')
    with pytest.raises(Exception, match=r"labelled.jsonl:7: score"):
        read_labelled(path)
    result = CliRunner().invoke(cli, ["evaluate", str(path), "--backend", "none"])
    assert result.exit_code == 1 and "labelled.jsonl:7" in result.output


def test_grader_uses_calibration_from_config(tmp_path: Path, hashing_embedder) -> None:
    path = tmp_path / "c.json"
    path.write_text(Calibration(x=[0.0, 1.0], y=[0.0, 10.0], n=2).to_json())
    grader = Grader(GraderConfig(calibration=str(path)), embedder=hashing_embedder, scale=IDENTITY)
    report = grader.grade(REFERENCE, Rubric.from_reference(QUESTION, REFERENCE))
    assert report.calibrated_score == pytest.approx(report.score * 10, abs=1e-3)
