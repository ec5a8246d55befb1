"""Batch grading: input readers, grade_many against one-by-one grading, and the `batch` command's
output, failures, resume and --force."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import EXAMPLES, TINY_RUBRIC, CountingEmbedder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlsd_grader.grader as grader_module
from mlsd_grader.scale import IDENTITY
from mlsd_grader import Grader, Rubric
from mlsd_grader.batch import (
    CSV_COLUMNS,
    BatchRecord,
    BatchResult,
    InputFailure,
    count_records,
    read_inputs,
)
from mlsd_grader.cli import _progress, cli

TOLERANCE = 1e-5
METRICS = "## Evaluation\nOffline we measure nDCG on held out sessions. Online we run an A/B test.\n"
DRIFT = "## Monitoring\nWe monitor feature drift and retrain the model every week.\n"


def assert_close(got: Any, want: Any, path: str = "$") -> None:
    """Equal JSON, floats within TOLERANCE."""
    if isinstance(want, float) or isinstance(got, float):
        assert abs(got - want) <= TOLERANCE, f"{path}: {got} != {want}"
    elif isinstance(want, dict):
        assert list(got) == list(want), path
        for key in want:
            assert_close(got[key], want[key], f"{path}.{key}")
    elif isinstance(want, list):
        assert len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want)):
            assert_close(g, w, f"{path}[{i}]")
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"


def write_jsonl(path: Path, *lines: object) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# ---------------------------------------------------------------- readers


def test_directory_glob_and_jsonl_records_in_order(tmp_path: Path) -> None:
    answers = tmp_path / "answers"
    (answers / "sub").mkdir(parents=True)
    (answers / ".hidden").mkdir()
    (answers / "b.md").write_text(METRICS)
    (answers / "sub" / "a.txt").write_text(DRIFT)
    (answers / ".hidden" / "c.md").write_text("hidden")
    (answers / "notes.json").write_text("{}")
    records = write_jsonl(
        tmp_path / "r.jsonl",
        {"id": "one", "answer": METRICS, "rubric": "generic", "score": 3, "grader": "ignored"},
        "",
        {"answer": DRIFT},
        {"id": 17, "answer": "x"},
    )
    items = list(read_inputs([str(answers), str(records), str(tmp_path / "ans*" / "b.md")]))
    assert [(i.id, i.source) for i in items] == [
        (f"{answers}/b.md", f"{answers}/b.md"),
        (f"{answers}/sub/a.txt", f"{answers}/sub/a.txt"),
        ("one", f"{records}:1"),
        (f"{records}:3", f"{records}:3"),  # no id: FILE:LINE (line 2 is blank)
        ("17", f"{records}:4"),
        (f"{answers}/b.md", f"{answers}/b.md"),  # the glob names it again
    ]
    assert isinstance(items[0], BatchRecord) and items[0].answer == METRICS.encode()
    assert isinstance(items[2], BatchRecord) and items[2].rubric == "generic" and items[2].score == 3
    assert count_records([str(answers), str(records)]) == 5


def test_bad_inputs_become_failures(tmp_path: Path) -> None:
    records = write_jsonl(
        tmp_path / "r.jsonl", {"id": "ok", "answer": "a"}, "{not json", "[1, 2]", {"id": "x", "answer": 5}
    )
    (tmp_path / "bad.jsonl").write_bytes(b'{"answer": "\xff"}\n')
    items = list(read_inputs([str(records), str(tmp_path / "missing.md"), str(tmp_path / "none*.md"),
                              str(tmp_path / "bad.jsonl")]))
    failures = [(i.id, i.error) for i in items if isinstance(i, InputFailure)]
    assert failures == [
        (f"{records}:2", "not JSON: Expecting property name enclosed in double quotes (column 2)"),
        (f"{records}:3", "a record must be an object, not list"),
        ("x", "answer: must be text, not int"),
        (f"{tmp_path}/missing.md", f"cannot read answer {tmp_path}/missing.md: No such file or directory"),
        (f"{tmp_path}/none*.md", f"no file matches {tmp_path}/none*.md"),
        (f"{tmp_path}/bad.jsonl:1", "not UTF-8 text"),
    ]


def test_csv_records_with_multiline_answers(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["answer", "id", "rubric"])
        writer.writerow([METRICS, "", "generic"])  # three lines long, no id
        writer.writerow(["", "empty", ""])
        writer.writerow([DRIFT, "d", ""])
    no_answer = tmp_path / "no_answer.csv"
    no_answer.write_text("id,text\n1,hello\n")
    items = list(read_inputs([str(path), str(no_answer)]))
    assert [(i.id, i.source) for i in items] == [
        (f"{path}:2", f"{path}:2"), ("empty", f"{path}:5"), ("d", f"{path}:6"), (str(no_answer), str(no_answer)),
    ]
    first = items[0]
    assert isinstance(first, BatchRecord) and first.answer == METRICS and first.rubric == "generic"
    assert isinstance(items[1], BatchRecord) and items[1].answer == "" and items[1].rubric is None
    assert isinstance(items[3], InputFailure) and "no `answer` column" in items[3].error


# ---------------------------------------------------------------- grade_many


def example_records() -> list[dict[str, Any]]:
    cases = sorted(EXAMPLES.glob("*/*.md"))
    assert len(cases) >= 20
    return [{"id": p.name + p.parent.name, "answer": p.read_bytes(), "rubric": p.parent.name} for p in cases]


def test_grade_many_equals_one_by_one(fake_grader: Grader, tiny_rubric: Rubric, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grader_module, "ANSWERS_PER_CHUNK", 7)  # several chunks, one partly filled
    records: list[Any] = example_records()
    records += [BatchRecord(id="tiny", answer=METRICS + DRIFT), {"id": "empty", "answer": "  \n"}]
    results = list(fake_grader.grade_many(records, tiny_rubric))
    assert [r.id for r in results] == [r["id"] if isinstance(r, dict) else r.id for r in records]
    for record, result in zip(records, results):
        answer = record["answer"] if isinstance(record, dict) else record.answer
        rubric = record.get("rubric", tiny_rubric) if isinstance(record, dict) else tiny_rubric
        assert result.error is None and result.report is not None
        alone = fake_grader.grade(answer, rubric)
        assert_close(result.report.model_dump(mode="json"), alone.model_dump(mode="json"))
    assert results[-1].report is not None and results[-1].report.score == 0.0
    assert [w.code for w in results[-1].report.warnings] == ["empty_answer"]


def test_grade_many_encodes_answers_in_chunks(hashing_embedder: Any, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLSD_GRADER_CACHE_DIR", str(tmp_path))
    n = grader_module.ANSWERS_PER_CHUNK + 8
    answers = [f"## Evaluation\nAnswer {i} measures nDCG.\n## Monitoring\nWe watch drift {i}.\n" for i in range(n)]
    counting = CountingEmbedder()
    list(Grader(embedder=counting, scale=IDENTITY).grade_many(({"id": str(i), "answer": a} for i, a in enumerate(answers)), "generic"))
    # one call per chunk of answers (two body sentences each), plus the rubric
    answer_calls = [len(c) for c in counting.calls if all(t.startswith(("Answer ", "We watch")) for t in c)]
    assert answer_calls == [2 * grader_module.ANSWERS_PER_CHUNK, 2 * 8]
    assert len(counting.calls) == 1 + math.ceil(n / grader_module.ANSWERS_PER_CHUNK)
    one_by_one = CountingEmbedder()
    grader = Grader(embedder=one_by_one, scale=IDENTITY)
    for answer in answers:
        grader.grade(answer, "generic")
    assert len(one_by_one.calls) == n  # the rubric's vectors now come from the disk cache


def test_failures_in_the_middle_do_not_stop_the_others(fake_grader: Grader, tiny_rubric: Rubric) -> None:
    records: list[Any] = [
        {"id": "a", "answer": METRICS},
        {"id": "b", "answer": METRICS, "rubric": "no_such_rubric"},
        {"id": "c", "answer": b"\x00binary"},
        {"id": "a", "answer": DRIFT},
        InputFailure(id="d", source="f.jsonl:4", error="not JSON: oops"),
        {"answer": 3},
        {"id": "e", "answer": ""},
        {"id": "f", "answer": DRIFT},
    ]
    results = list(fake_grader.grade_many(records, tiny_rubric))
    assert [(r.id, r.source) for r in results] == [
        ("a", "#1"), ("b", "#2"), ("c", "#3"), ("a", "#4"), ("d", "f.jsonl:4"), ("#6", "#6"), ("e", "#7"), ("f", "#8"),
    ]
    errors = [r.error for r in results]
    assert errors[0] is None and errors[6] is None and errors[7] is None
    assert errors[1] is not None and errors[1].startswith("unknown rubric 'no_such_rubric'")
    assert errors[2] == "the answer is binary data, not text"
    assert errors[3] == "duplicate id 'a' (first at #1)"
    assert errors[4] == "not JSON: oops"
    assert errors[5] == "answer: must be text, not int"
    assert results[6].report is not None and results[6].report.score == 0.0
    assert results[7].report == fake_grader.grade(DRIFT, tiny_rubric)


def test_no_rubric_and_skip(fake_grader: Grader) -> None:
    records = [{"id": "a", "answer": METRICS}, {"id": "b", "answer": METRICS}, {"id": "a", "answer": METRICS},
               {"id": "c", "answer": METRICS, "rubric": "generic"}]
    results = list(fake_grader.grade_many(records, skip={"a"}))
    # "a" was graded before: left out, yet its second occurrence is still a duplicate
    assert [(r.id, r.error) for r in results] == [
        ("b", "no rubric: the record names none and no default rubric was given"),
        ("a", "duplicate id 'a' (first at #1)"),
        ("c", None),
    ]


def test_question_and_reference_answer_make_the_rubric(fake_grader: Grader) -> None:
    record = {"id": "q", "answer": "It discounts gains by position.", "rubric": "",
              "question": "What is nDCG?", "reference_answer": "It discounts gains logarithmically by position."}
    [result] = fake_grader.grade_many([record], "generic")
    assert result.report is not None and result.report.rubric.id.startswith("ref-")
    assert [s.id for s in result.report.steps] == ["answer"]
    assert result.report.rubric.id == Rubric.from_reference(record["question"], record["reference_answer"]).id


def test_batch_result_is_a_report_or_an_error() -> None:
    with pytest.raises(ValueError, match="not both and not neither"):
        BatchResult(id="a", source="a")
    failed = BatchResult(id="a", source="s", error="boom", text="secret answer")
    assert json.loads(failed.to_json_line()) == {"id": "a", "source": "s", "error": "boom"}
    assert "secret answer" not in repr(failed) and "text" not in failed.model_dump()


@pytest.mark.integration
def test_grade_many_equals_one_by_one_with_the_real_model(real_grader: Grader) -> None:
    answers = [
        "## Evaluation\nWe track nDCG offline and run an A/B test on watch time.\n",
        "We log predictions, watch for feature drift and retrain weekly. Latency must stay under 100 ms.",
        ("## Data\nLabels come from clicks and watch time; we sample negatives from impressions.\n"
         "## Model\nA two-tower retrieval model feeds a gradient-boosted ranker.\n"),
    ]
    results = list(real_grader.grade_many([{"id": str(i), "answer": a} for i, a in enumerate(answers)],
                                          "video_recommendation"))
    for answer, result in zip(answers, results):
        assert result.report is not None
        assert_close(result.report.model_dump(mode="json"),
                     real_grader.grade(answer, "video_recommendation").model_dump(mode="json"))


# ---------------------------------------------------------------- the batch command


@pytest.fixture()
def mixed_inputs(tmp_path: Path) -> tuple[Path, Path]:
    answers = tmp_path / "answers"
    answers.mkdir()
    (answers / "a.md").write_text(METRICS)
    (answers / "b.txt").write_text(DRIFT)
    (answers / "empty.md").write_text("")
    tiny = tmp_path / "tiny.json"
    tiny.write_text(json.dumps(TINY_RUBRIC))
    records = write_jsonl(
        tmp_path / "records.jsonl",
        {"id": "r1", "answer": METRICS + DRIFT, "rubric": str(tiny)},
        "{broken",
        {"id": "r2", "answer": DRIFT, "rubric": "no_such_rubric"},
        {"id": "r1", "answer": "again"},
        {"id": "r3", "answer": METRICS},
    )
    return answers, records


def test_batch_mixed_directory_and_jsonl_with_failures(mixed_inputs: tuple[Path, Path], tmp_path: Path) -> None:
    answers, records = mixed_inputs
    out = tmp_path / "out.jsonl"
    result = run("batch", str(answers), str(records), "--rubric", "generic", "--backend", "none", "-o", str(out))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr.splitlines() == [
        "5 graded, 3 failed", "error: 3 of 8 records failed; the `error` field of each says why"
    ]
    lines = lines_of(out)
    assert [(x["id"], x["error"] is None) for x in lines] == [
        (f"{answers}/a.md", True), (f"{answers}/b.txt", True), (f"{answers}/empty.md", True),
        ("r1", True), (f"{records}:2", False), ("r2", False), ("r1", False), ("r3", True),
    ]
    assert lines[3]["rubric"]["id"] == "tiny" and lines[7]["rubric"]["id"] == "generic"
    assert lines[2]["score"] == 0.0 and lines[2]["warnings"][0]["code"] == "empty_answer"
    assert lines[4] == {"id": f"{records}:2", "source": f"{records}:2",
                        "error": "not JSON: Expecting property name enclosed in double quotes (column 2)"}
    assert list(lines[0])[:3] == ["id", "source", "error"]
    assert list(lines[0])[3:] == ["schema_version", "rubric", "score", "calibrated_score", "band", "steps",
                                  "sections", "warnings", "signature"][: len(lines[0]) - 3]


def test_batch_to_stdout_without_progress_bar(mixed_inputs: tuple[Path, Path]) -> None:
    answers, _ = mixed_inputs
    result = run("batch", str(answers), "--rubric", "generic", "--backend", "none")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [
        f"{answers}/a.md", f"{answers}/b.txt", f"{answers}/empty.md"
    ]
    assert result.stderr == "3 graded, 0 failed\n"  # stderr is no terminal here: no bar
    quiet = run("batch", str(answers), "--rubric", "generic", "--backend", "none", "--quiet")
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == result.stdout


def test_batch_resume_discards_partial_line_and_retries_failures(mixed_inputs: tuple[Path, Path],
                                                                 tmp_path: Path) -> None:
    answers, records = mixed_inputs
    out = tmp_path / "out.jsonl"
    args = ("batch", str(answers), str(records), "--rubric", "generic", "--backend", "none", "-o", str(out))
    run(*args)
    full = out.read_text(encoding="utf-8").splitlines(keepends=True)
    # as if killed while writing the fifth line: four complete lines, then half of one
    out.write_text("".join(full[:4]) + full[4][:25], encoding="utf-8")
    again = run(*args)
    assert again.exit_code == 1
    assert again.stderr.splitlines()[0] == "1 graded, 3 failed, 4 graded before in " + str(out)
    resumed = out.read_text(encoding="utf-8").splitlines(keepends=True)
    assert resumed[:4] == full[:4]  # kept byte for byte, not graded again
    assert sorted(resumed) == sorted(full)  # nothing lost, nothing twice
    # failures are dropped from the file and tried again on the next run
    (records.parent / "records.jsonl").write_text(json.dumps({"id": "r9", "answer": METRICS}) + "\n")
    third = run(*args)
    assert third.exit_code == 0, third.output
    ids = [x["id"] for x in lines_of(out)]
    assert ids == [f"{answers}/a.md", f"{answers}/b.txt", f"{answers}/empty.md", "r1", "r3", "r9"]
    assert all(x["error"] is None for x in lines_of(out))


def test_batch_force_grades_everything_again(mixed_inputs: tuple[Path, Path], tmp_path: Path) -> None:
    answers, _ = mixed_inputs
    out = tmp_path / "out.jsonl"
    args = ("batch", str(answers), "--rubric", "generic", "--backend", "none", "-o", str(out))
    assert run(*args).exit_code == 0
    first = out.read_text(encoding="utf-8")
    assert run(*args).stderr.startswith("0 graded, 0 failed, 3 graded before")
    assert out.read_text(encoding="utf-8") == first
    forced = run(*args, "--force")
    assert forced.exit_code == 0 and forced.stderr == "3 graded, 0 failed\n"
    assert out.read_text(encoding="utf-8") == first  # the same three lines, written afresh


def test_batch_refuses_to_resume_a_file_it_did_not_write(tmp_path: Path, mixed_inputs: tuple[Path, Path]) -> None:
    answers, _ = mixed_inputs
    out = tmp_path / "notes.jsonl"
    out.write_text("my own notes\n")
    result = run("batch", str(answers), "--rubric", "generic", "--backend", "none", "-o", str(out))
    assert result.exit_code == 1
    assert result.output == f"error: cannot resume {out}: line 1 is not a batch result; pass --force to overwrite it\n"
    assert out.read_text() == "my own notes\n"
    unknown = run("batch", str(answers), "--rubric", "nope", "--backend", "none")
    assert unknown.exit_code == 1 and unknown.output.startswith("error: unknown rubric 'nope'")


def test_batch_csv_columns_and_resume(mixed_inputs: tuple[Path, Path], tmp_path: Path) -> None:
    answers, records = mixed_inputs
    qa = write_jsonl(tmp_path / "qa.jsonl", {"id": "short", "answer": "Gains are discounted by position.",
                                             "question": "What is nDCG?", "reference_answer": "It discounts gains."})
    out = tmp_path / "out.csv"
    args = ("batch", str(answers), str(records), str(qa), "--rubric", "generic", "--backend", "none",
            "--format", "csv", "-o", str(out))
    run(*args)
    text = out.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ("id,source,rubric,score,band,calibrated_score,requirements,framing,data,"
                                    "modeling,evaluation,serving,monitoring,error")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 9
    by_id = {(r["id"], r["source"]): r for r in rows}
    a = by_id[(f"{answers}/a.md", f"{answers}/a.md")]
    assert a["rubric"] == "generic" and float(a["evaluation"]) > 0 and a["calibrated_score"] == "" and a["error"] == ""
    tiny = by_id[("r1", f"{records}:1")]
    assert tiny["rubric"] == "tiny" and tiny["requirements"] == "" and tiny["evaluation"] != ""
    short = by_id[("short", f"{qa}:1")]
    assert short["score"] != "" and all(short[s] == "" for s in CSV_COLUMNS[6:-1])
    broken = by_id[(f"{records}:2", f"{records}:2")]
    assert broken["score"] == broken["rubric"] == "" and broken["error"].startswith("not JSON")
    out.write_text(text + 'x,"unfinished', encoding="utf-8")
    again = run(*args)
    assert again.stderr.splitlines()[0] == f"0 graded, 3 failed, 6 graded before in {out}"
    assert sorted(out.read_text(encoding="utf-8").splitlines()) == sorted(text.splitlines())


def test_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for quiet, shown in ((False, True), (True, False)):
        terminal = Terminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        with _progress(4, 1, quiet) as bar:  # one record graded by an earlier run
            bar.update(1)
        assert ("grading" in terminal.getvalue() and "2/4" in terminal.getvalue()) is shown
        assert shown or terminal.getvalue() == ""


# ---------------------------------------------------------------- batch safety: killed runs


def _complete_output(tmp_path: Path, fmt: str, ids: list[str]) -> tuple[tuple[str, ...], bytes]:
    """The command line of a batch over one record per id, and its uninterrupted output."""
    records = write_jsonl(tmp_path / "records.jsonl",
                          *[{"id": i, "answer": (METRICS, DRIFT, "")[k % 3]} for k, i in enumerate(ids)])
    out = tmp_path / f"out.{fmt}"
    args = ("batch", str(records), "--rubric", "generic", "--backend", "none", "--format", fmt, "-o", str(out))
    assert run(*args, "--force").exit_code == 0
    return args, out.read_bytes()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ids=st.lists(st.text(alphabet='ab,"\n\r é', min_size=1, max_size=6), min_size=1, max_size=5, unique=True)
       .filter(lambda ids: all(i.strip() for i in ids)),
       fmt=st.sampled_from(["jsonl", "csv"]), cut=st.floats(0, 1))
def test_resuming_from_any_prefix_gives_every_record_once(tmp_path: Path, ids: list[str], fmt: str,
                                                          cut: float) -> None:
    """A run killed at any byte leaves a prefix of its output: resuming keeps each complete line as it
    was and grades the rest, so every record is in the file exactly once (ids holding quotes, commas
    and line breaks included, which CSV writes as quoted fields spanning lines)."""
    args, full = _complete_output(tmp_path, fmt, ids)
    out = Path(args[-1])
    out.write_bytes(full[: int(cut * len(full))])
    again = run(*args)
    assert again.exit_code == 0, again.output
    assert "Traceback" not in again.output
    resumed = out.read_bytes()
    assert len(resumed) == len(full)
    if fmt == "jsonl":
        assert sorted(resumed.splitlines()) == sorted(full.splitlines())
    else:
        assert sorted(map(tuple, csv.reader(io.StringIO(resumed.decode(), newline="")))) == sorted(
            map(tuple, csv.reader(io.StringIO(full.decode(), newline=""))))


@pytest.mark.integration
@pytest.mark.parametrize("fmt,kill_after", [("jsonl", 1), ("jsonl", 100), ("csv", 50)])
def test_batch_killed_with_sigkill_resumes_without_loss_or_duplicates(tmp_path: Path, fmt: str,
                                                                      kill_after: int) -> None:
    """The real CLI in its own process, killed with SIGKILL once ``kill_after`` lines are out: what it
    wrote is valid but for at most a partial last line, and a second run completes it."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.glob("*/*.md"))]
    records = write_jsonl(tmp_path / "records.jsonl",
                          *[{"id": f"a{k}", "answer": texts[k % len(texts)] + f"\nNote {k}."} for k in range(160)])
    reference = tmp_path / f"reference.{fmt}"
    args = ["batch", str(records), "--rubric", "generic", "--backend", "none", "--format", fmt, "--quiet"]
    assert run(*args, "-o", str(reference)).exit_code == 0
    out = tmp_path / f"out.{fmt}"
    proc = subprocess.Popen([sys.executable, "-m", "mlsd_grader", *args, "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if out.exists() and out.read_bytes().count(b"\n") >= kill_after + (fmt == "csv"):
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the batch finished before it could be killed: give it more records"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    written = out.read_bytes()
    complete = written[: written.rfind(b"\n") + 1].decode("utf-8")
    want = reference.read_bytes().decode("utf-8").split("\n")[:-1]
    got = complete.split("\n")[:-1]
    assert kill_after <= len(got) - (fmt == "csv") < len(want)
    assert got == want[: len(got)]  # every complete line is a finished, valid result, in input order
    again = run(*args, "-o", str(out))
    assert again.exit_code == 0, again.output
    assert out.read_bytes() == reference.read_bytes()
