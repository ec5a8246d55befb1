"""Batch grading's input and output: the record schema, reading answer files, directories, globs and
JSONL/CSV files of records, and writing one JSONL or CSV line per result so that a killed run resumes.

Grading itself is ``Grader.grade_many``; this module only turns inputs into records and results into
lines. A record that cannot be read becomes an ``InputFailure``, which grading passes on, in input
order, as a failed result: one bad input never stops a batch.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, TextIO, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import OutputWriteError
from .report import GradeReport
from .steps import STEP_IDS

__all__ = [
    "BatchRecord",
    "InputFailure",
    "BatchResult",
    "BatchSummary",
    "OutputFormat",
    "OUTPUT_FORMATS",
    "CSV_COLUMNS",
    "ANSWER_SUFFIXES",
    "record_from_mapping",
    "identify_records",
    "read_inputs",
    "count_records",
    "ResultWriter",
    "open_results",
]

OutputFormat = Literal["jsonl", "csv"]
OUTPUT_FORMATS: tuple[str, ...] = get_args(OutputFormat)

# The CSV output's columns, in order: one score column per framework step (empty where the rubric has
# no such step, and for every step of a short-answer rubric).
CSV_COLUMNS: tuple[str, ...] = ("id", "source", "rubric", "score", "band", "calibrated_score", *STEP_IDS, "error")

# A directory contributes every file with one of these suffixes inside it (recursively, sorted).
ANSWER_SUFFIXES: tuple[str, ...] = (".md", ".txt")
# Files with these suffixes hold records, one per line (JSONL) or row (CSV); any other file is one answer.
_RECORD_KINDS: dict[str, Literal["jsonl", "csv"]] = {".jsonl": "jsonl", ".csv": "csv"}
_GLOB_CHARS = frozenset("*?[")


def _blank_to_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


class BatchRecord(BaseModel):
    """One answer to grade. The record schema shared by ``batch`` and ``evaluate``; other keys are ignored.

    ``rubric`` (an id or path), else ``question`` + ``reference_answer``, overrides the batch's default
    rubric. ``score`` and ``max_score`` are human grades, used by ``evaluate`` and ignored by ``batch``.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str | None = Field(default=None, description="Defaults to FILE:LINE, or the path of a plain answer file.")
    answer: str | bytes = Field(description="The answer text (bytes are decoded as UTF-8).")
    rubric: str | None = None
    question: str | None = None
    reference_answer: str | None = None
    score: float | None = None
    max_score: float | None = Field(default=None, gt=0)
    source: str | None = Field(default=None, description="Where the record was read: FILE:LINE, or a file's path.")

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, v: object) -> object:
        if isinstance(v, int) and not isinstance(v, bool):
            return str(v)  # {"id": 17} means the id "17"
        return _blank_to_none(v)

    @field_validator("answer", mode="before")
    @classmethod
    def _answer_is_text(cls, v: object) -> object:
        if not isinstance(v, (str, bytes)):  # pydantic reports a ValueError, not a TypeError, as invalid input
            raise ValueError(f"must be text, not {type(v).__name__}")  # noqa: TRY004
        return v

    @field_validator("rubric", "question", "reference_answer", mode="before")
    @classmethod
    def _blank_is_absent(cls, v: object) -> object:
        return _blank_to_none(v)


class InputFailure(BaseModel):
    """An input that could not be read as a record; ``grade_many`` passes it on as a failed result."""

    model_config = ConfigDict(frozen=True)

    id: str
    source: str
    error: str


class BatchResult(BaseModel):
    """One record's outcome: its report, or the one-line error that kept it from being graded."""

    model_config = ConfigDict(frozen=True)

    id: str
    source: str
    report: GradeReport | None = None
    error: str | None = None
    text: str | None = Field(
        default=None, exclude=True, repr=False,
        description="The answer as graded (report offsets point into it); in memory only, never serialised.",
    )

    @model_validator(mode="after")
    def _report_or_error(self) -> BatchResult:
        if (self.report is None) == (self.error is None):
            raise ValueError("a batch result has a report or an error, not both and not neither")
        return self

    def as_output(self) -> dict[str, Any]:
        """The JSONL output object: id, source, error, then the report's keys."""
        data: dict[str, Any] = {"id": self.id, "source": self.source, "error": self.error}
        if self.report is not None:
            data.update(self.report.model_dump(mode="json"))
        return data

    def to_json_line(self) -> str:
        """The JSONL output line (without newline)."""
        return json.dumps(self.as_output(), ensure_ascii=False)


class BatchSummary(BaseModel):
    """What the CSV output and the HTML index show of a result; readable back from either output."""

    model_config = ConfigDict(frozen=True)

    id: str
    source: str
    rubric: str | None = None
    score: float | None = None
    band: str | None = None
    calibrated_score: float | None = None
    steps: dict[str, float] = Field(default_factory=dict)
    error: str | None = None

    @classmethod
    def from_result(cls, result: BatchResult) -> BatchSummary:
        return cls.from_json_line(result.as_output())

    @classmethod
    def from_json_line(cls, data: Mapping[str, Any]) -> BatchSummary:
        """From a parsed JSONL output line (raises ValueError/TypeError/KeyError if it is not one)."""
        if data.get("error") is not None:
            return cls(id=data["id"], source=data["source"], error=data["error"])
        return cls(
            id=data["id"], source=data["source"], rubric=data["rubric"]["id"], score=data["score"],
            band=data["band"], calibrated_score=data.get("calibrated_score"),
            steps={s["id"]: s["score"] for s in data["steps"]},
        )

    @classmethod
    def from_csv_row(cls, row: Sequence[str]) -> BatchSummary:
        """From a CSV output row (raises ValueError if it is not one)."""
        if len(row) != len(CSV_COLUMNS):
            raise ValueError(f"{len(row)} columns, not {len(CSV_COLUMNS)}")
        cell = dict(zip(CSV_COLUMNS, row))

        def number(name: str) -> float | None:
            return float(cell[name]) if cell[name] else None

        return cls(
            id=cell["id"], source=cell["source"], rubric=cell["rubric"] or None, score=number("score"),
            band=cell["band"] or None, calibrated_score=number("calibrated_score"),
            steps={s: float(cell[s]) for s in STEP_IDS if cell[s]}, error=cell["error"] or None,
        )

    def csv_row(self) -> list[str]:
        def text(value: float | str | None) -> str:
            return "" if value is None else str(value)

        return [
            self.id, self.source, text(self.rubric), text(self.score), text(self.band),
            text(self.calibrated_score), *(text(self.steps.get(s)) for s in STEP_IDS), text(self.error),
        ]


# ---------------------------------------------------------------- input


def _one_line(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def record_from_mapping(data: object, where: str) -> BatchRecord | InputFailure:
    """Validate one record read at ``where``; a missing id becomes ``where``, a bad record a failure."""
    if not isinstance(data, Mapping):
        return InputFailure(id=where, source=where, error=f"a record must be an object, not {type(data).__name__}")
    try:
        record = BatchRecord.model_validate(data)
    except ValidationError as exc:
        given = data.get("id")
        usable = isinstance(given, (str, int)) and not isinstance(given, bool) and str(given).strip()
        return InputFailure(id=str(given) if usable else where, source=where, error=_one_line(exc))
    return record.model_copy(update={"id": record.id or where, "source": where})


def identify_records(
    records: Iterable[BatchRecord | InputFailure | Mapping[str, Any]],
) -> Iterator[BatchRecord | InputFailure | BatchResult]:
    """Each record with its final id and source (``#N``, its position, when it has neither), in order;
    a record whose id an earlier one holds is the failed result that says so."""
    first_seen: dict[str, str] = {}
    for number, item in enumerate(records, 1):
        record = item if isinstance(item, (BatchRecord, InputFailure)) else record_from_mapping(item, f"#{number}")
        source = record.source or f"#{number}"
        record_id = record.id or source
        if record_id in first_seen:
            yield BatchResult(id=record_id, source=source,
                              error=f"duplicate id {record_id!r} (first at {first_seen[record_id]})")
            continue
        first_seen[record_id] = source
        yield record if (record.id, record.source) == (record_id, source) else record.model_copy(
            update={"id": record_id, "source": source})


@dataclass(frozen=True, slots=True)
class _InputFile:
    path: Path
    kind: Literal["answer", "jsonl", "csv"]


def _kind(path: Path) -> Literal["answer", "jsonl", "csv"]:
    return _RECORD_KINDS.get(path.suffix.lower(), "answer")


def _directory_answers(directory: Path) -> list[_InputFile]:
    found = []
    for path in directory.rglob("*"):
        hidden = any(part.startswith(".") for part in path.relative_to(directory).parts)
        if not hidden and path.suffix.lower() in ANSWER_SUFFIXES and path.is_file():
            found.append(path)
    return [_InputFile(p, "answer") for p in sorted(found)]


def _expand(inputs: Sequence[str]) -> Iterator[_InputFile | InputFailure]:
    """Each input as the files it stands for, in order; a glob that matches nothing is a failure."""
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            yield from _directory_answers(path)
        elif path.exists() or not (_GLOB_CHARS & set(given)):
            yield _InputFile(path, _kind(path))  # a missing file fails when it is read, with the reason
        else:
            matches = sorted(glob.glob(given, recursive=True))
            if not matches:
                yield InputFailure(id=given, source=given, error=f"no file matches {given}")
            for match in matches:
                m = Path(match)
                yield from _directory_answers(m) if m.is_dir() else [_InputFile(m, _kind(m))]


def _reason(exc: OSError | UnicodeDecodeError) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    return exc.strerror or str(exc)


def _read_answer_file(path: Path) -> BatchRecord | InputFailure:
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return InputFailure(id=name, source=name, error=f"cannot read answer {name}: {_reason(exc)}")
    return BatchRecord(id=name, source=name, answer=data)


def _read_jsonl(path: Path) -> Iterator[BatchRecord | InputFailure]:
    number = 0  # lines read so far
    try:
        with path.open("rb") as fh:
            for number, raw in enumerate(fh, 1):
                where = f"{path}:{number}"
                try:
                    line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError:
                    yield InputFailure(id=where, source=where, error="not UTF-8 text")
                    continue
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield InputFailure(id=where, source=where, error=f"not JSON: {exc.msg} (column {exc.colno})")
                    continue
                yield record_from_mapping(data, where)
    except OSError as exc:
        where = f"{path}:{number + 1}" if number else str(path)
        yield InputFailure(id=where, source=where, error=f"cannot read {path}: {_reason(exc)}")


def _read_csv(path: Path) -> Iterator[BatchRecord | InputFailure]:
    """Rows of a CSV file with a header; a row that does not parse fails alone, the next rows are read."""
    line = 0  # lines read so far
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            line = reader.line_num
            if header is None:
                return
            if "answer" not in header:
                yield InputFailure(id=str(path), source=str(path), error=f"{path} has no `answer` column")
                return
            while True:
                where = f"{path}:{line + 1}"
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    line = reader.line_num
                    yield InputFailure(id=where, source=where, error=f"not a CSV row: {exc}")
                    continue
                line = reader.line_num
                if any(cell.strip() for cell in row):
                    cells = {k: v for k, v in zip(header, row) if v != "" or k == "answer"}
                    yield record_from_mapping(cells, where)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        where = f"{path}:{line + 1}" if line else str(path)
        reason = str(exc) if isinstance(exc, csv.Error) else _reason(exc)
        yield InputFailure(id=where, source=where, error=f"cannot read {path}: {reason}")


def read_inputs(inputs: Sequence[str]) -> Iterator[BatchRecord | InputFailure]:
    """The records that ``inputs`` name, in order, read lazily: answer files (their path is the id),
    directories (every .md and .txt inside, sorted), globs, and JSONL/CSV files of records."""
    for item in _expand(inputs):
        if isinstance(item, InputFailure):
            yield item
        elif item.kind == "answer":
            yield _read_answer_file(item.path)
        elif item.kind == "jsonl":
            yield from _read_jsonl(item.path)
        else:
            yield from _read_csv(item.path)


def _count_lines(path: Path) -> int:
    try:
        with path.open("rb") as fh:
            return max(1, sum(1 for line in fh if line.strip()))
    except OSError:
        return 1


def _count_csv_rows(path: Path) -> int:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return max(1, sum(1 for row in csv.reader(fh) if any(c.strip() for c in row)) - 1)
    except (OSError, UnicodeDecodeError, csv.Error):
        return 1


def count_records(inputs: Sequence[str]) -> int:
    """About how many results ``read_inputs(inputs)`` gives (for a progress bar), without parsing records."""
    total = 0
    for item in _expand(inputs):
        if isinstance(item, InputFailure) or item.kind == "answer":
            total += 1
        elif item.kind == "jsonl":
            total += _count_lines(item.path)
        else:
            total += _count_csv_rows(item.path)
    return total


# ---------------------------------------------------------------- output


def _csv_line(row: Sequence[str]) -> str:
    """One CSV row as the output writes it: RFC 4180 line ends (CRLF), so that the csv module quotes a
    field holding a lone carriage return as well as one holding a line feed."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(row)
    return buffer.getvalue()


class ResultWriter:
    """Writes one line (or CSV row) per result and flushes it, so a killed run loses at most one line."""

    def __init__(self, stream: TextIO, fmt: OutputFormat, *, header: bool, owned: bool = False) -> None:
        self.stream = stream
        self.fmt = fmt
        self._owned = owned
        if header and fmt == "csv":
            self._put(CSV_COLUMNS)

    def _put(self, row: Sequence[str]) -> None:
        self.stream.write(_csv_line(row))
        self.stream.flush()

    def write(self, result: BatchResult) -> None:
        if self.fmt == "csv":
            self._put(BatchSummary.from_result(result).csv_row())
        else:
            self.stream.write(result.to_json_line() + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self._owned:
            self.stream.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def _resume_entries(path: Path, text: str, fmt: OutputFormat) -> list[tuple[BatchSummary, str]]:
    """Every complete entry of an earlier output, with the exact text that writes it back."""
    hint = f"cannot resume {path}: {{}}; pass --force to overwrite it"
    entries: list[tuple[BatchSummary, str]] = []
    if fmt == "jsonl":
        for number, line in enumerate(text.split("\n")[:-1], 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                entries.append((BatchSummary.from_json_line(data), line + "\n"))
            except (ValueError, TypeError, KeyError, AttributeError):
                raise OutputWriteError(hint.format(f"line {number} is not a batch result")) from None
        return entries
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise OutputWriteError(hint.format(f"it is not CSV ({exc})")) from None
    if not rows:
        return entries
    if tuple(rows[0]) != CSV_COLUMNS:
        raise OutputWriteError(hint.format("its first line is not the batch CSV header"))
    for number, row in enumerate(rows[1:], 2):
        if not row:
            continue
        try:
            summary = BatchSummary.from_csv_row(row)
        except ValueError:
            raise OutputWriteError(hint.format(f"row {number} is not a batch result")) from None
        entries.append((summary, _csv_line(row)))
    return entries


def _replace_contents(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _complete_end(data: bytes, fmt: OutputFormat) -> int:
    """Where the last complete line of an output ends (0 if none). A JSONL line never holds a line break;
    a CSV row may, inside a quoted field, so a CSV row ends at a line break after an even number of
    quote characters (a quote inside a field is written doubled)."""
    if fmt == "jsonl":
        return data.rfind(b"\n") + 1
    end, quotes, pos = 0, 0, 0
    while (nl := data.find(b"\n", pos)) >= 0:
        quotes += data.count(b'"', pos, nl)
        pos = nl + 1
        if quotes % 2 == 0:
            end = pos
    return end


def _prepare_resume(path: Path, fmt: OutputFormat) -> list[BatchSummary]:
    """Keep an earlier run's graded entries; drop its failures (graded again) and a partial last line."""
    data = path.read_bytes()
    complete = data[: _complete_end(data, fmt)]
    try:
        text = complete.decode("utf-8")
    except UnicodeDecodeError:
        raise OutputWriteError(f"cannot resume {path}: not UTF-8 text; pass --force to overwrite it") from None
    entries = _resume_entries(path, text, fmt)
    kept = [(s, line) for s, line in entries if s.error is None]
    if len(kept) < len(entries):
        header = _csv_line(CSV_COLUMNS) if fmt == "csv" and entries else ""
        _replace_contents(path, header + "".join(line for _, line in kept))
    elif len(complete) < len(data):
        os.truncate(path, len(complete))  # a killed run's partial last line
    return [s for s, _ in kept]


def open_results(output: str | Path, fmt: OutputFormat, *, force: bool = False) -> tuple[ResultWriter, list[BatchSummary]]:
    """Open ``output`` for appending results, and return the entries an earlier run already graded.

    Resuming keeps the graded entries, drops failed ones (so they are graded again) and a partial last
    line left by a killed run. ``force`` starts the file afresh.
    """
    path = Path(output)
    try:
        done = [] if force or not path.exists() else _prepare_resume(path, fmt)
        stream = path.open("w" if force else "a", encoding="utf-8", newline="")
        header = stream.tell() == 0
    except OSError as exc:
        raise OutputWriteError(f"cannot write {output}: {exc.strerror or exc}") from None
    return ResultWriter(stream, fmt, header=header, owned=True), done
