"""Grading on a Dask cluster (issue 15): a LocalCluster of 2 worker processes, one thread each, started
once for the module. Every output is compared with the single-machine output of the same records:
equal record for record, in input order, through killed workers and a killed client."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import EXAMPLES, TINY_RUBRIC
from test_backends import tiny_transformer  # noqa: F401 (a fixture: a tiny BERT to distil a static model from)

from mlsd_grader import Grader, GraderConfig
from mlsd_grader.batch import CSV_COLUMNS, BatchResult, BatchSummary
from mlsd_grader.cli import cli
from mlsd_grader.distributed import PartitionCounts, grade_dataset, parts_dir_for
from mlsd_grader.embeddings import load_embedder

distributed = pytest.importorskip("distributed")
dd = pytest.importorskip("dask.dataframe")
db = pytest.importorskip("dask.bag")
pd = pytest.importorskip("pandas")

NONE = GraderConfig(backend="none")
EXAMPLE_FILES = sorted(EXAMPLES.glob("*/*.md"))


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """Two single-threaded worker processes, as `batch --cluster local:2` starts them."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  scheduler_port=0) as cluster, distributed.Client(cluster) as c:
        yield c


def example_records() -> list[dict[str, str]]:
    """Each example answer against its own question's rubric (its directory's name)."""
    return [{"id": str(p.relative_to(EXAMPLES)), "answer": p.read_text(encoding="utf-8"), "rubric": p.parent.name}
            for p in EXAMPLE_FILES]


def many_records(n: int) -> list[dict[str, str]]:
    texts = [p.read_text(encoding="utf-8") for p in EXAMPLE_FILES]
    return [{"id": f"a{k}", "answer": texts[k % len(texts)] + f"\nNote {k}.", "rubric": "generic"} for k in range(n)]


def lines(results: Any) -> list[str]:
    return [r.to_json_line() for r in results]


def write_jsonl(path: Path, records: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")
    return path


# ---------------------------------------------------------------- equal to one machine


def test_none_backend_equals_one_machine_in_partitions_of_three(client: Any) -> None:
    records = example_records()
    want = lines(Grader(NONE).grade_many(records))
    counts = PartitionCounts()
    got = list(grade_dataset(records, client=client, config=NONE, partition_size=3, counts=counts))
    assert lines(got) == want
    assert sorted(counts.graded) == list(range(math.ceil(len(records) / 3))) and counts.restored == []
    assert [r.text for r in got] == [r.text for r in Grader(NONE).grade_many(records)]  # for HTML pages


def test_static_backend_equals_one_machine(client: Any, tiny_transformer: Path) -> None:  # noqa: F811
    config = GraderConfig(backend="static", model=str(tiny_transformer))
    load_embedder(config)  # distilled here once, into the cache directory the workers share
    records = example_records()
    want = lines(Grader(config).grade_many(records))
    assert "backend:static:" in json.loads(want[0])["signature"]
    assert lines(grade_dataset(records, client=client, config=config, partition_size=4)) == want


@pytest.mark.integration
def test_default_model_equals_one_machine(client: Any, real_grader: Grader) -> None:
    records = example_records()
    want = lines(real_grader.grade_many(records))
    assert lines(grade_dataset(records, client=client, config=real_grader.config, partition_size=5)) == want


def test_rubric_file_read_by_the_client_only(client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A relative rubric path resolves in the client's working directory, not the workers': the rubric
    travels by value, as the default rubric and as a record's own."""
    (tmp_path / "tiny.json").write_text(json.dumps(TINY_RUBRIC), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert not any((Path(cwd) / "tiny.json").exists() for cwd in client.run(os.getcwd).values())
    records = [{"id": r["id"], "answer": r["answer"]} for r in example_records()[:4]]
    records.append({"id": "own", "answer": "We monitor drift.", "rubric": "tiny.json"})
    want = lines(Grader(NONE).grade_many(records, "tiny.json"))
    got = lines(grade_dataset(records, "tiny.json", client=client, config=NONE, partition_size=2))
    assert got == want
    assert all(json.loads(line)["rubric"]["id"] == "tiny" for line in got)


def test_bad_records_are_error_records_as_on_one_machine(client: Any, tmp_path: Path) -> None:
    """Through the CLI, against a running scheduler: empty, binary, unknown rubric, broken JSON, a record
    that is no object, a duplicate id (in another partition) and a missing file, in JSONL and CSV, with
    HTML pages; output, pages and messages equal those of one machine."""
    answers = tmp_path / "answers"
    answers.mkdir()
    (answers / "empty.md").write_text("")
    (answers / "binary.md").write_bytes(b"\x00\x01binary")
    (answers / "good.md").write_text(EXAMPLE_FILES[0].read_text(encoding="utf-8"))
    records = write_jsonl(tmp_path / "records.jsonl", [
        {"id": "r1", "answer": "## Monitoring\nWe alert on drift.", "rubric": "news_feed"},
        "{broken", "[1, 2]",
        {"id": "r2", "answer": "We use a big network.", "rubric": "news_fed"},
        {"id": "r3", "answer": "", "rubric": "generic"},
        {"id": "r1", "answer": "again"},
    ])
    inputs = [str(answers), str(records), str(tmp_path / "missing.md")]
    for fmt in ("jsonl", "csv"):
        outputs = {}
        for where, extra in (("one", []), ("cluster", ["--cluster", client.scheduler.address, "--partition-size", "2"])):
            out, pages = tmp_path / f"{where}.{fmt}", tmp_path / f"pages-{where}-{fmt}"
            result = CliRunner().invoke(cli, ["batch", *inputs, "--rubric", "generic", "--backend", "none",
                                              "--format", fmt, "-o", str(out), "--report-dir", str(pages), *extra])
            assert result.exit_code == 1, result.output
            assert "Traceback" not in result.output
            assert result.stderr.splitlines()[-2:] == [
                "4 graded, 6 failed", "error: 6 of 10 records failed; the `error` field of each says why"]
            outputs[where] = (out.read_bytes(), {p.name: p.read_bytes() for p in pages.iterdir()})
        assert outputs["cluster"] == outputs["one"]
    errors = [json.loads(line)["error"] for line in (tmp_path / "cluster.jsonl").read_text().splitlines()]
    assert errors[0] == "the answer is binary data, not text"
    assert errors[-2] == "duplicate id 'r1' (first at " + f"{records}:1)"
    assert errors[6].startswith("unknown rubric 'news_fed'")


def test_dask_dataframe_and_bag_give_the_csv_columns(client: Any, tmp_path: Path) -> None:
    records = [*example_records()[:6], {"id": "bad", "answer": "x", "rubric": "nope"}, {"answer": "no id at all"}]
    local = [BatchSummary.from_result(r) for r in Grader(NONE).grade_many(records, "generic")]
    frame = pd.DataFrame(records, index=range(10, 10 + len(records)))
    lazy = grade_dataset(dd.from_pandas(frame, npartitions=3), "generic", config=NONE)
    lazy.to_parquet(tmp_path / "scores")  # written by the workers: the declared columns match the real ones
    graded = pd.read_parquet(tmp_path / "scores")
    assert list(graded.columns) == list(CSV_COLUMNS) and list(graded.index) == list(frame.index)
    pd.testing.assert_frame_equal(graded, lazy.compute(), check_index_type=False, check_names=False)
    for summary, (_, row) in zip(local[:6], graded.iloc[:6].iterrows()):
        assert row["id"] == summary.id and row["score"] == summary.score and row["band"] == summary.band
        for step in CSV_COLUMNS[6:-1]:
            want = summary.steps.get(step)
            assert math.isnan(row[step]) if want is None else row[step] == want
    assert graded.loc[16, "error"].startswith("unknown rubric 'nope'") and math.isnan(graded.loc[16, "score"])
    assert graded.loc[17, "id"] == "#17" and graded.loc[17, "score"] == local[-1].score

    bag = grade_dataset(db.from_sequence(records, npartitions=2), "generic", config=NONE).compute()
    assert [row["score"] for row in bag] == [s.score for s in local]
    assert bag[-1]["id"] == "#1:4" and list(bag[0]) == list(CSV_COLUMNS)


# ---------------------------------------------------------------- faults


def test_worker_killed_mid_partition_is_graded_again_elsewhere(client: Any) -> None:
    records = many_records(160)
    want = lines(Grader(NONE).grade_many(records))
    pids = client.run(os.getpid)
    got: list[BatchResult] = []
    killed = None
    for result in grade_dataset(records, client=client, config=NONE, partition_size=8):
        got.append(result)
        if killed is None and len(got) >= 16:  # two partitions written, more in flight
            busy = sorted(w for w, keys in client.processing().items() if keys)
            if busy:  # a worker holding a task
                killed = pids[busy[0]]
                os.kill(killed, signal.SIGKILL)
    assert killed is not None, "no worker was busy: give it more records"
    assert len(got) == len(want) and lines(got) == want  # every id once, in order, with the clean run's scores
    client.wait_for_workers(2, timeout=60)
    assert killed not in client.run(os.getpid).values()  # the nanny started a new worker process


def _partition_files(parts: Path) -> set[int]:
    return {int(p.name.split("-")[0]) for p in parts.glob("*.jsonl")} if parts.is_dir() else set()


def test_client_killed_then_resumed_grades_no_finished_partition_again(client: Any, tmp_path: Path) -> None:
    """The CLI killed with SIGKILL while it grades on a running scheduler: its output holds whole results
    and its parts directory finished partitions; the rerun grades only the partitions finished nowhere,
    and the output equals an uninterrupted run's byte for byte."""
    size, n = 8, 160
    records = write_jsonl(tmp_path / "records.jsonl", many_records(n))
    args = ["batch", str(records), "--rubric", "generic", "--backend", "none", "--partition-size", str(size)]
    reference = tmp_path / "reference.jsonl"
    assert CliRunner().invoke(cli, [*args, "-o", str(reference), "--quiet"]).exit_code == 0
    out = tmp_path / "out.jsonl"
    parts = parts_dir_for(out)
    cluster = ["--cluster", client.scheduler.address]
    proc = subprocess.Popen([sys.executable, "-m", "mlsd_grader", *args, *cluster, "-o", str(out), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:  # kill it with finished partitions waiting
        waiting = len(_partition_files(parts))
        if waiting >= 2 or (waiting and out.exists() and out.read_bytes().count(b"\n") >= n // 2):
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the batch finished before it could be killed: give it more records"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = _partition_files(parts)
    written = out.read_bytes()
    complete = written[: written.rfind(b"\n") + 1].decode("utf-8").splitlines()
    want = reference.read_text(encoding="utf-8").splitlines()
    assert complete == want[: len(complete)] and len(complete) < n
    in_output = {k for k in range(n // size) if (k + 1) * size <= len(complete)}
    partitions = set(range(math.ceil(n / size)))
    again = CliRunner().invoke(cli, [*args, *cluster, "-o", str(out)])
    assert again.exit_code == 0, again.output
    line = next(x for x in again.stderr.splitlines() if x.startswith("partitions:"))
    graded, restored = map(int, re.fullmatch(r"partitions: (\d+) graded on the cluster(?:, (\d+) taken from .*)?",
                                             line).groups(default="0"))
    assert graded == len(partitions - in_output - finished) < len(partitions)
    assert restored == len(finished - in_output)
    assert out.read_bytes() == reference.read_bytes()
    assert not parts.exists()


def test_force_discards_finished_partitions(client: Any, tmp_path: Path) -> None:
    records = many_records(8)
    parts = tmp_path / "parts"
    results = grade_dataset(records, "generic", client=client, config=NONE, partition_size=4, parts=parts)
    next(results)  # partition 0 received and kept under its id
    assert _partition_files(parts)
    results.close()
    again = PartitionCounts()
    assert lines(grade_dataset(records, "generic", client=client, config=NONE, partition_size=4, parts=parts,
                               counts=again)) == lines(Grader(NONE).grade_many(records, "generic"))
    assert 0 in again.restored and 0 not in again.graded
    results = grade_dataset(records, "generic", client=client, config=NONE, partition_size=4, parts=parts)
    next(results)
    results.close()
    assert _partition_files(parts)
    forced = PartitionCounts()
    list(grade_dataset(records, "generic", client=client, config=NONE, partition_size=4, parts=parts,
                       force=True, counts=forced))
    assert sorted(forced.graded) == [0, 1] and forced.restored == []


def test_cluster_spec_errors_are_one_line() -> None:
    for spec, message in (("local:0", "the number of workers must be a positive integer"),
                          ("somewhere", "expected local, local:N or a scheduler address")):
        result = CliRunner().invoke(cli, ["batch", str(EXAMPLE_FILES[0]), "--rubric", "generic", "--backend",
                                          "none", "--cluster", spec])
        assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
