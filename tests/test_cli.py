"""The CLI: in-process with Click's runner, and the installed console script end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import EXAMPLES, TINY_RUBRIC
from mlsd_grader.cli import cli

STRONG = str(EXAMPLES / "video_recommendation" / "strong.md")


def run(*args: str, input: bytes | None = None):
    return CliRunner().invoke(cli, list(args), input=input)


def test_rubrics_list_show_validate_schema(tmp_path: Path) -> None:
    listed = run("rubrics", "list")
    assert listed.exit_code == 0 and "video_recommendation" in listed.output
    assert run("rubrics", "show", "generic").output.startswith("id: generic")
    assert json.loads(run("rubrics", "schema").output)["title"] == "Rubric"
    assert json.loads(run("schema", "report").output)["title"] == "GradeReport"
    good = tmp_path / "good.json"
    good.write_text(json.dumps(TINY_RUBRIC))
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nversion: 1\n")
    ok = run("rubrics", "validate", str(good))
    assert ok.exit_code == 0 and ok.output.startswith("ok ")
    failed = run("rubrics", "validate", str(good), str(bad))
    assert failed.exit_code == 1 and "invalid" in failed.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("grade", "/no/such/answer.md", "--rubric", "generic"), "cannot read answer"),
        (("grade", STRONG, "--rubric", "no_such_rubric"), "unknown rubric"),
        (("grade", STRONG, "--rubric", "generic", "--config", "/no/such.yaml"), "cannot read config"),
        (("grade", str(EXAMPLES), "--rubric", "generic"), "is a directory"),
    ],
)
def test_errors_are_one_line_and_exit_1(args: tuple[str, ...], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 1
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_usage_errors_exit_2() -> None:
    assert run("grade", STRONG).exit_code == 2  # --rubric is required
    assert run("grade", STRONG, "--rubric", "generic", "--format", "pdf").exit_code == 2


def test_keywords_only_grade_from_stdin_to_file(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = run("grade", "-", "--rubric", "generic", "--backend", "none", "--format", "json", "-o", str(out),
                 input=b"## Metrics\nWe use nDCG and an A/B test.\n")
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["steps"][4]["id"] == "evaluation" and report["steps"][4]["score"] > 0
    assert "backend:none" in report["signature"]


def test_binary_answer_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"\x00\x01\x02binary")
    result = run("grade", str(path), "--rubric", "generic", "--backend", "none")
    assert result.exit_code == 1 and "binary" in result.output


@pytest.mark.integration
def test_grade_json_through_real_model() -> None:
    result = run("grade", STRONG, "--rubric", "video_recommendation", "--format", "json")
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert report["rubric"]["id"] == "video_recommendation" and report["band"] == "strong_hire"
    assert "sentence-transformers:all-MiniLM-L6-v2" in report["signature"]
    for fmt in ("text", "markdown"):
        assert "Score" in run("grade", STRONG, "--rubric", "video_recommendation", "--format", fmt).output
    seg = json.loads(run("segment", STRONG, "--format", "json").output)
    assert [s["step"] for s in seg["sections"]] == [s["step"] for s in report["sections"]]


@pytest.mark.integration
def test_console_script_and_module_entry_point() -> None:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    exe = Path(sys.executable).with_name("mlsd-grader")
    proc = subprocess.run([str(exe), "grade", STRONG, "--rubric", "video_recommendation", "--format", "json"],
                          capture_output=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout)["schema_version"] == "1"
    proc = subprocess.run([sys.executable, "-m", "mlsd_grader", "grade", "/no/such.md", "--rubric", "generic"],
                          capture_output=True, env=env, timeout=300)
    assert proc.returncode == 1 and proc.stderr.decode().count("\n") == 1 and b"Traceback" not in proc.stderr


def test_output_file_mode_and_unwritable_target(tmp_path: Path) -> None:
    out = tmp_path / "r.txt"
    answer = tmp_path / "a.md"
    answer.write_text("## Metrics\nnDCG.\n")
    assert run("grade", str(answer), "--rubric", "generic", "--backend", "none", "-o", str(out)).exit_code == 0
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
    bad = run("grade", str(answer), "--rubric", "generic", "--backend", "none", "-o", "/no/such/dir/r.txt")
    assert bad.exit_code == 1 and "cannot write /no/such/dir/r.txt" in bad.output
    assert not list(tmp_path.glob(".r.txt.*"))  # no temporary file left behind
