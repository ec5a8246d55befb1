"""Golden files: every example answer graded again equals its stored JSON report (floats within 1e-3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import EXAMPLES, assert_json_close
from mlsd_grader import Grader

pytestmark = pytest.mark.integration
TOLERANCE = 1e-3
CASES = sorted(EXAMPLES.glob("*/*.md"))


def test_every_example_has_a_report() -> None:
    assert len(CASES) >= 20
    missing = [p.name for p in CASES if not p.with_suffix(".json").exists()]
    assert not missing, "run scripts/update_example_reports.py"


@pytest.mark.parametrize("answer", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden_report(real_grader: Grader, answer: Path) -> None:
    want = json.loads(answer.with_suffix(".json").read_text(encoding="utf-8"))
    got = real_grader.grade(answer.read_bytes(), answer.parent.name).model_dump(mode="json")
    want["signature"] = want["signature"].split("|", 1)[1]  # the package version may move on
    got["signature"] = got["signature"].split("|", 1)[1]
    assert_json_close(got, want, tolerance=TOLERANCE)
