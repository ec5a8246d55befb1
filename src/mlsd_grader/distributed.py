"""Grading on a Dask cluster: a batch's records cut into partitions by position, each partition graded
by ``Grader.grade_many`` on a worker that loads the model once, the results back in input order.

The client reads and identifies the records (``batch.read_inputs``, ``batch.identify_records``: ids,
duplicate ids), skips those an earlier run graded, and keeps a few partitions per worker thread in
flight. A finished partition's results are written under its id in a parts directory (a temporary
file, then ``os.replace``), then yielded in input order; the file goes once its results were taken.
A client killed mid-run so loses no finished partition, and a worker killed mid-partition has that
partition graded again elsewhere by the scheduler: only the result the client receives is written.
Rubrics travel by value; workers need this package (and its model) installed.

dask and distributed are imported here only, and only when a function needs them.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import threading
import time
from collections import deque
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from .batch import (
    CSV_COLUMNS,
    BatchRecord,
    BatchResult,
    BatchSummary,
    InputFailure,
    identify_records,
    record_from_mapping,
)
from .config import GraderConfig
from .errors import ClusterError, MLSDGraderError, OutputWriteError, first_line
from .grader import Grader, package_version
from .report import GradeReport
from .rubric import Rubric, load_rubric
from .steps import STEP_IDS

if TYPE_CHECKING:
    import dask.bag
    import dask.dataframe
    import pandas as pd
    from distributed import Client, Future

__all__ = [
    "IN_FLIGHT_PER_THREAD",
    "PARTITION_SIZE",
    "WARM_UP_ANSWER",
    "PartitionCounts",
    "connect",
    "grade_dataset",
    "load_model_on_workers",
    "parts_dir_for",
]

# Answers per partition, one task each. Dask's documentation puts a task's overhead at 200 us to 1 ms;
# 200 example-length answers take a worker about 5 s of CPU with backend none or static and 70 s with
# the default model (bench/cluster.py, docs/benchmarks.md "Cluster"): scheduling stays far below 0.1% of
# the work, a worker that dies loses at most one partition's work, and results come back a few hundred
# at a time. Chosen by this reasoning, not tuned by measurement.
PARTITION_SIZE = 200
# Partitions in flight per worker thread: one running, one waiting so that the thread never idles while
# the client receives the last result, and two more so that one slow (or retried) partition at the head
# of the input order does not starve the others. It also bounds the results the client holds.
IN_FLIGHT_PER_THREAD = 4
# `--cluster local` without a count starts one single-threaded worker process per core.
LOCAL = "local"

_Item = BatchRecord | InputFailure | BatchResult  # a record to grade, or a duplicate id's failed result


# ---------------------------------------------------------------- connecting


@contextmanager
def connect(cluster: str) -> Iterator[Client]:
    """A client of ``cluster``: ``local`` or ``local:N`` starts a LocalCluster of N single-threaded
    worker processes (N: the number of cores), ``tcp://HOST:PORT`` (any scheduler address) uses a
    running scheduler. The cluster started here is closed on exit."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ClusterError("--cluster needs the dask extra: pip install 'mlsd-grader[dask]'") from None
    name, _, count = cluster.partition(":")
    if name == LOCAL:
        if count and not (count.isdigit() and int(count) > 0):
            raise ClusterError(f"--cluster {cluster}: the number of workers must be a positive integer")
        workers = int(count) if count else os.cpu_count() or 1
        try:  # port 0: a free port each, so that several runs (and other services) can share a machine
            local = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                                 scheduler_port=0)
        except (OSError, RuntimeError) as exc:
            raise ClusterError(f"cannot start a local cluster: {first_line(exc)}") from None
        with local, Client(local) as client:
            yield client
        return
    if "://" not in cluster:
        raise ClusterError(f"--cluster {cluster}: expected local, local:N or a scheduler address such as "
                           "tcp://HOST:8786")
    try:
        client = Client(cluster, timeout="30s")
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot reach the scheduler at {cluster}: {first_line(exc)}") from None
    with client:
        yield client


def parts_dir_for(output: str | Path) -> Path:
    """Where the finished partitions of a run writing ``output`` are kept until their results are in it."""
    path = Path(output)
    return path.with_name(path.name + ".parts")


# ---------------------------------------------------------------- on the workers

_GRADERS: dict[str, Grader] = {}
_GRADERS_LOCK = threading.Lock()


def _worker_grader(config_json: str) -> Grader:
    """This process's Grader for a configuration: the model is loaded once per worker process."""
    with _GRADERS_LOCK:
        grader = _GRADERS.get(config_json)
        if grader is None:
            grader = _GRADERS[config_json] = Grader(GraderConfig.model_validate_json(config_json))
        return grader


# Graded once by load_model_on_workers, so that what grading reads on first use (the model, the step
# model, the English word counts, the rubric's vectors) is read before the first partition.
WARM_UP_ANSWER = "## Evaluation\nOffline we measure recall on held-out days."


def _load_model(config_json: str) -> float:
    """Make this worker process ready to grade; the seconds it took (about 0 when it was ready)."""
    start = time.perf_counter()
    _worker_grader(config_json).grade(WARM_UP_ANSWER, "generic")
    return time.perf_counter() - start


def _grade_partition(records: list[BatchRecord | InputFailure], rubric: Rubric | None,
                     rubrics: dict[str, Rubric], config_json: str) -> list[BatchResult]:
    """One partition's results, in order (the task a worker runs)."""
    return list(_worker_grader(config_json).grade_many(records, rubric, rubrics=rubrics))


def load_model_on_workers(client: Client, config: GraderConfig) -> dict[str, float]:
    """Load the model, and all else grading reads on first use, on every worker now (grading would
    load them on first use); seconds per worker."""
    return dict(client.run(_load_model, config.model_dump_json()))


# ---------------------------------------------------------------- partitions


@dataclass
class PartitionCounts:
    """What a run did with its partitions, by index: graded on the cluster, or taken from the parts
    directory that an earlier, killed run left (partitions whose records were all in the output before
    are in neither)."""

    graded: list[int] = field(default_factory=list)
    restored: list[int] = field(default_factory=list)


@dataclass
class _Partition:
    index: int
    # the partition's results in input order as far as known: a duplicate id's failure, or None for a
    # record of to_grade (records in ``skip`` have no place)
    slots: list[BatchResult | None]
    to_grade: list[BatchRecord | InputFailure]
    rubrics: dict[str, Rubric]  # those that records of to_grade name, by value
    digest: str
    restored: dict[str, BatchResult] = field(default_factory=dict)
    results: list[BatchResult] | None = None  # in the order of to_grade, once all are known

    def in_order(self) -> Iterator[BatchResult]:
        graded = iter(self.results or [])
        for slot in self.slots:
            yield slot if slot is not None else next(graded)


def _item_digest(item: _Item, hasher: Any) -> None:
    if isinstance(item, BatchRecord):
        answer = item.answer if isinstance(item.answer, bytes) else item.answer.encode("utf-8", "surrogatepass")
        fields = ["record", item.id, item.source, item.rubric, item.question, item.reference_answer,
                  hashlib.sha256(answer).hexdigest(), isinstance(item.answer, bytes)]
    else:
        fields = ["failure", item.id, item.source, item.error]
    hasher.update(json.dumps(fields, ensure_ascii=False).encode("utf-8", "surrogatepass"))


class _RubricsByReference:
    """The rubrics records name, loaded on the client so that a rubric file need not exist on workers.
    One that does not load is left to grading, which fails that record with the same one-line error."""

    def __init__(self) -> None:
        self.loaded: dict[str, Rubric | None] = {}

    def get(self, ref: str) -> Rubric | None:
        if ref not in self.loaded:
            try:
                self.loaded[ref] = load_rubric(ref)
            except (MLSDGraderError, ValueError):
                self.loaded[ref] = None
        return self.loaded[ref]


def _partitions(items: Iterable[_Item], size: int, skip: Collection[str], setup: str) -> Iterator[_Partition]:
    """The items cut into partitions by position, read lazily (so an index names the same records on
    every run of the same inputs), each with its records still to grade (those in ``skip`` left out)
    and a digest of everything that decides its results."""
    references = _RubricsByReference()

    def make(index: int, block: list[_Item]) -> _Partition:
        hasher = hashlib.sha256(setup.encode("utf-8"))
        slots: list[BatchResult | None] = []
        to_grade: list[BatchRecord | InputFailure] = []
        rubrics: dict[str, Rubric] = {}
        for item in block:
            _item_digest(item, hasher)
            if isinstance(item, BatchResult):
                slots.append(item)
                continue
            if isinstance(item, BatchRecord) and item.rubric is not None:
                rub = references.get(item.rubric)
                hasher.update(f"rubric:{rub.content_hash if rub else None}".encode())
                if rub is not None:
                    rubrics[item.rubric] = rub
            if item.id not in skip:
                slots.append(None)
                to_grade.append(item)
        return _Partition(index, slots, to_grade, rubrics, hasher.hexdigest()[:16])

    block: list[_Item] = []
    index = 0
    for item in items:
        block.append(item)
        if len(block) == size:
            yield make(index, block)
            block, index = [], index + 1
    if block:
        yield make(index, block)


class _PartsDirectory:
    """Finished partitions on disk, one JSONL file each named by index and digest; a line is a result's
    output object plus the graded text (which HTML pages need)."""

    def __init__(self, path: Path, *, force: bool) -> None:
        self.path = path
        try:
            path.mkdir(parents=True, exist_ok=True)
            self.found = {f.name: f for f in path.glob("*.jsonl")}
            if force:
                for f in self.found.values():
                    f.unlink()
                self.found = {}
        except OSError as exc:
            raise OutputWriteError(f"cannot write {path}: {exc.strerror or exc}") from None

    @staticmethod
    def _name(part: _Partition) -> str:
        return f"{part.index:08d}-{part.digest}.jsonl"

    def restore(self, part: _Partition) -> None:
        """Take the graded results an earlier run left for this partition's records still to grade
        (failed ones are graded again, as a resumed output's are)."""
        found = self.found.pop(self._name(part), None)
        if found is None:
            return
        wanted = {r.id for r in part.to_grade}
        for line in found.read_text(encoding="utf-8").splitlines():
            data = json.loads(line)
            if data["error"] is None and data["id"] in wanted:
                record_id, source, text = data.pop("id"), data.pop("source"), data.pop("text")
                del data["error"]
                part.restored[record_id] = BatchResult(
                    id=record_id, source=source, report=GradeReport.model_validate(data), text=text)

    def write(self, part: _Partition) -> None:
        target = self.path / self._name(part)
        lines = "".join(json.dumps({**r.as_output(), "text": r.text}, ensure_ascii=False) + "\n"
                        for r in part.results or [])
        try:
            fd, tmp = tempfile.mkstemp(dir=self.path, prefix=f".{target.name}.")
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fh.write(lines)
            os.replace(tmp, target)
        except OSError as exc:
            raise OutputWriteError(f"cannot write {target}: {exc.strerror or exc}") from None

    def remove(self, part: _Partition) -> None:
        (self.path / self._name(part)).unlink(missing_ok=True)

    def close(self) -> None:
        """After a completed run: no partition is waiting, so stale files and the directory go."""
        for f in self.found.values():
            f.unlink(missing_ok=True)
        try:
            self.path.rmdir()
        except OSError:
            pass  # not empty (files of someone else's): left as it is


# ---------------------------------------------------------------- grading


@overload
def grade_dataset(
    records: dask.dataframe.DataFrame, rubric: str | Path | Rubric | None = None, *,
    config: GraderConfig | None = None,
) -> dask.dataframe.DataFrame: ...


@overload
def grade_dataset(
    records: dask.bag.Bag, rubric: str | Path | Rubric | None = None, *, config: GraderConfig | None = None,
) -> dask.bag.Bag: ...


@overload
def grade_dataset(
    records: Iterable[BatchRecord | InputFailure | Mapping[str, Any]], rubric: str | Path | Rubric | None = None,
    *, client: Client | None = None, config: GraderConfig | None = None, skip: Collection[str] = (),
    parts: str | Path | None = None, force: bool = False, partition_size: int = PARTITION_SIZE,
    counts: PartitionCounts | None = None,
) -> Iterator[BatchResult]: ...


def grade_dataset(
    records: Any, rubric: str | Path | Rubric | None = None, *, client: Client | None = None,
    config: GraderConfig | None = None, skip: Collection[str] = (), parts: str | Path | None = None,
    force: bool = False, partition_size: int = PARTITION_SIZE, counts: PartitionCounts | None = None,
) -> Any:
    """Grade records on a Dask cluster; the results equal ``Grader(config).grade_many(records, rubric)``.

    ``records`` as ``grade_many`` takes them (for instance ``batch.read_inputs(paths)``) gives an
    iterator of ``BatchResult`` in input order, graded ``partition_size`` records per task on
    ``client`` (default: the current one). ``skip`` as for ``grade_many``. ``parts`` is a directory
    for finished partitions, so that a run killed mid-way and started again with the same records
    grades none of them again; ``force`` discards what it holds. ``counts`` receives what was graded
    and what restored.

    A dask DataFrame (columns of the record schema) or Bag (of record mappings) gives one of the same
    kind, lazily, with the CSV output's columns (``batch.CSV_COLUMNS``) per record: one row per input
    row, keeping the index, or one mapping per item. Duplicate ids are only found within a partition,
    and a record without an id gets ``#INDEX`` (DataFrame) or ``#PARTITION:N`` (Bag).
    """
    config = config if config is not None else GraderConfig()
    default = None if rubric is None else rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
    import dask.bag
    import dask.dataframe

    if isinstance(records, dask.dataframe.DataFrame):
        return records.map_partitions(_grade_frame, default, config.model_dump_json(), meta=_SUMMARY_DTYPES)
    if isinstance(records, dask.bag.Bag):
        numbers = dask.bag.from_sequence(range(records.npartitions), npartitions=records.npartitions)
        return records.map_partitions(_grade_bag, numbers, default, config.model_dump_json())
    if partition_size < 1:
        raise ValueError("partition_size must be at least 1")
    if client is None:
        from distributed import get_client

        client = get_client()
    return _grade_on(client, records, default, config, frozenset(skip), parts, force, partition_size,
                     counts if counts is not None else PartitionCounts())


def _grade_on(
    client: Client, records: Iterable[BatchRecord | InputFailure | Mapping[str, Any]], default: Rubric | None,
    config: GraderConfig, skip: frozenset[str], parts_path: str | Path | None, force: bool, size: int,
    counts: PartitionCounts,
) -> Iterator[BatchResult]:
    from distributed import as_completed

    config_json = config.model_dump_json()
    setup = json.dumps([package_version(), config_json, default.content_hash if default else None])
    parts = _PartsDirectory(Path(parts_path), force=force) if parts_path is not None else None
    window = IN_FLIGHT_PER_THREAD * max(1, sum(client.nthreads().values()))
    in_flight: deque[_Partition] = deque()  # in input order
    owner: dict[Future[list[BatchResult]], _Partition] = {}
    finished = as_completed()

    def submit(part: _Partition) -> None:
        if parts is not None:
            parts.restore(part)
            if part.restored:
                counts.restored.append(part.index)
        todo = [r for r in part.to_grade if str(r.id) not in part.restored]
        if todo:
            future = client.submit(_grade_partition, todo, default, part.rubrics, config_json, pure=False)
            owner[future] = part
            finished.add(future)
        else:
            part.results = [part.restored[str(r.id)] for r in part.to_grade]
        in_flight.append(part)

    def receive() -> None:
        """Take one finished task's results and keep them under the partition's id."""
        future = next(finished)
        part = owner.pop(future)
        try:
            graded = iter(future.result())
        except MLSDGraderError:
            raise
        except Exception as exc:  # noqa: BLE001 (a task that failed for good: its workers kept dying, say)
            raise ClusterError(f"partition {part.index} could not be graded: {first_line(exc)}") from None
        part.results = [part.restored[str(r.id)] if str(r.id) in part.restored else next(graded)
                        for r in part.to_grade]
        if parts is not None:
            parts.write(part)
        counts.graded.append(part.index)

    def drain(*, wait: bool) -> Iterator[BatchResult]:
        """Yield the partitions at the head of the input order that are finished (waiting for them if
        ``wait`` or the window is full); a partition's file goes once its results were taken."""
        while owner and finished.has_ready():
            receive()
        while in_flight and (in_flight[0].results is not None or wait or len(in_flight) >= window):
            head = in_flight[0]
            while head.results is None:
                receive()
            yield from head.in_order()
            if parts is not None:
                parts.remove(head)
            in_flight.popleft()

    for part in _partitions(identify_records(records), size, skip, setup):
        submit(part)
        yield from drain(wait=False)
    yield from drain(wait=True)
    if parts is not None:
        parts.close()


# ---------------------------------------------------------------- dask collections


def _summary_columns(summary: BatchSummary) -> dict[str, str | float | None]:
    """A result as the CSV output's columns, numbers as numbers (None where the CSV cell is empty)."""
    return {"id": summary.id, "source": summary.source, "rubric": summary.rubric, "score": summary.score,
            "band": summary.band, "calibrated_score": summary.calibrated_score,
            **{s: summary.steps.get(s) for s in STEP_IDS}, "error": summary.error}


# The DataFrame's columns: CSV_COLUMNS, numbers as floats (NaN where the CSV cell is empty), text as strings.
_SUMMARY_DTYPES = {c: "float64" if c in {"score", "calibrated_score", *STEP_IDS} else "string" for c in CSV_COLUMNS}


def _summary_frame(summaries: Sequence[BatchSummary], index: Any) -> pd.DataFrame:
    import pandas as pd

    rows = [_summary_columns(s) for s in summaries]
    return pd.DataFrame({c: pd.Series([row[c] for row in rows], index=index, dtype=dtype)
                         for c, dtype in _SUMMARY_DTYPES.items()}, index=index)


def _present(value: object) -> bool:
    """Whether a cell holds a value (pandas marks a missing one None or NaN)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _grade_frame(frame: pd.DataFrame, rubric: Rubric | None, config_json: str) -> pd.DataFrame:
    """One DataFrame partition graded (a task on a worker): a row of CSV columns per input row."""
    records = [record_from_mapping({k: v for k, v in row.items() if _present(v)}, f"#{index}")
               for index, row in zip(frame.index, frame.to_dict("records"))]
    results = _grade_partition(records, rubric, {}, config_json)
    return _summary_frame([BatchSummary.from_result(r) for r in results], frame.index)


def _grade_bag(items: Iterable[Any], numbers: Iterable[int], rubric: Rubric | None,
               config_json: str) -> list[dict[str, str | float | None]]:
    """One Bag partition graded (a task on a worker): a mapping of CSV columns per item."""
    (number,) = numbers
    records = [record_from_mapping(item, f"#{number}:{n}") for n, item in enumerate(items, 1)]
    return [_summary_columns(BatchSummary.from_result(r)) for r in _grade_partition(records, rubric, {}, config_json)]
