"""Rubric model and loader: bundled ids, user files, and errors that name file, field and line."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from conftest import TINY_RUBRIC
from mlsd_grader import Rubric, RubricNotFoundError, RubricValidationError, list_rubrics, load_rubric
from mlsd_grader.rubric import parse_rubric_text, rubric_json_schema
from mlsd_grader.steps import STEP_IDS


def test_bundled_rubrics_load_with_all_steps_in_order() -> None:
    infos = list_rubrics()
    ids = [i.id for i in infos]
    assert "video_recommendation" in ids and "generic" in ids
    for rid in ids:
        rub = load_rubric(rid)
        assert [s.id for s in rub.steps] == list(STEP_IDS)


def test_path_works_wherever_an_id_does(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(TINY_RUBRIC))
    assert load_rubric(path).id == "tiny"
    assert load_rubric(str(path)).content_hash == Rubric.model_validate(TINY_RUBRIC).content_hash
    jpath = tmp_path / "mine.json"
    jpath.write_text(json.dumps(TINY_RUBRIC))
    assert load_rubric(jpath).id == "tiny"


def test_unknown_rubric_is_a_clear_error() -> None:
    with pytest.raises(RubricNotFoundError, match="unknown rubric 'nope'"):
        load_rubric("nope")
    with pytest.raises(RubricNotFoundError):
        load_rubric("missing/file.yaml")


def test_yaml_errors_name_file_field_and_line(tmp_path: Path) -> None:
    bad = copy.deepcopy(TINY_RUBRIC)
    bad["steps"][0]["criteria"][0]["weight"] = "heavy"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad, sort_keys=False))
    with pytest.raises(RubricValidationError) as info:
        load_rubric(path)
    message = str(info.value)
    line = next(i + 1 for i, l in enumerate(path.read_text().splitlines()) if "heavy" in l)
    assert str(path) in message and "steps.0.criteria.0.weight" in message and f"line {line}:" in message


def test_broken_yaml_reports_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: x\nversion: '1'\nsteps: [\n  - oops: :\n")
    with pytest.raises(RubricValidationError, match=r"line \d+: invalid YAML"):
        load_rubric(path)


def test_yaml_tags_cannot_construct_objects(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text("id: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(RubricValidationError, match="invalid YAML"):
        load_rubric(path)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r["steps"].reverse(), "framework order"),
        (lambda r: r["steps"].append(copy.deepcopy(r["steps"][0])), "duplicate step ids"),
        (lambda r: r.update(surprise=1), "Extra inputs are not permitted"),
        (lambda r: r["steps"][0]["criteria"][0]["anti_patterns"][0].update(weight=0.3), "less than 0"),
        (lambda r: r["steps"][1]["criteria"][0].update(id="metrics"), "duplicate criterion"),
        (lambda r: r["steps"][0].update(id="answer"), "exactly that one step"),
    ],
)
def test_invalid_rubrics_rejected(mutate, message: str) -> None:
    data = copy.deepcopy(TINY_RUBRIC)
    mutate(data)
    with pytest.raises(RubricValidationError, match=message):
        parse_rubric_text(json.dumps(data), source="x.json", json_format=True)


def test_short_answer_rubric_with_one_answer_step() -> None:
    data = copy.deepcopy(TINY_RUBRIC)
    data["steps"] = [dict(data["steps"][0], id="answer")]
    assert Rubric.model_validate(data).is_short_answer


def test_content_hash_changes_with_content() -> None:
    a = Rubric.model_validate(TINY_RUBRIC)
    changed = copy.deepcopy(TINY_RUBRIC)
    changed["steps"][0]["weight"] = 2.0
    assert a.content_hash != Rubric.model_validate(changed).content_hash
    assert len(a.content_hash) == 12


def test_schema_describes_rubric() -> None:
    schema = rubric_json_schema()
    assert schema["title"] == "Rubric" and "steps" in schema["properties"]


def test_numeric_version_is_read_as_text() -> None:
    data = copy.deepcopy(TINY_RUBRIC)
    data["version"] = 2
    assert Rubric.model_validate(data).version == "2"
