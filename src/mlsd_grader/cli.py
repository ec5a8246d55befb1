"""The ``mlsd-grader`` command: reads files, calls the API, prints. No logic and no defaults of its own."""

from __future__ import annotations

import functools
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast, get_args

import click
import yaml

from .config import Backend, GraderConfig
from .errors import AnswerReadError, MLSDGraderError, OutputWriteError, RubricValidationError
from .calibration import fit_calibration
from .evaluation import evaluate_scores, grade_labelled, human_scale, read_labelled
from .batch import (
    OUTPUT_FORMATS, BatchResult, BatchSummary, OutputFormat, ResultWriter, count_records, open_results, read_inputs,
)
from . import distributed
from .grader import Grader, decode_answer, internal_error, package_version
from .html_report import ReportDirectory, render_html
from .report import render, report_json_schema
from .lint import lint_rubric
from .rubric import Rubric, bundled_rubric_ids, list_rubrics, load_rubric, rubric_json_schema
from .service import ServiceSettings, load_api_keys

__all__ = ["main", "cli"]

F = TypeVar("F", bound=Callable[..., Any])
# Set to any non-empty value (even 0) to see the traceback of an unexpected error instead of its line.
TRACEBACK_ENV = "MLSD_GRADER_TRACEBACK"
_FIELDS = GraderConfig.model_fields
_SERVICE_FIELDS = ServiceSettings.model_fields


def _default(name: str) -> str:
    return f"{_FIELDS[name].default} (env MLSD_GRADER_{name.upper()})"


def grading_options(func: F) -> F:
    """--config, --model and --backend: unset means 'take it from the configuration layers'."""
    func = click.option("--backend", type=click.Choice(get_args(Backend)), default=None,
                        help=f"Embedding backend. Default: {_default('backend')}.")(func)
    func = click.option("--model", default=None, help=f"Model name or local path. Default: {_default('model')}.")(func)
    func = click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
                        help="Configuration file (YAML or JSON) with GraderConfig fields.")(func)
    return func


def _config(config_file: str | None, model: str | None, backend: str | None, **more: Any) -> GraderConfig:
    return GraderConfig.load(config_file, model=model, backend=backend, **more)


def calibration_option(func: F) -> F:
    """--calibration: reports then carry calibrated_score on the calibration's scale."""
    return click.option("--calibration", type=click.Path(dir_okay=False), default=None,
                        help="Calibration file from `mlsd-grader calibrate` (env MLSD_GRADER_CALIBRATION).")(func)


def _read_answer(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    p = Path(path)
    if p.is_dir():
        raise AnswerReadError(f"cannot read answer {path}: it is a directory")
    try:
        return p.read_bytes()
    except OSError as exc:
        raise AnswerReadError(f"cannot read answer {path}: {exc.strerror or exc}") from None


def _emit(text: str, output: str | None) -> None:
    """Print, or write the whole output atomically so a failure never leaves a half-written file."""
    if output is None or output == "-":
        click.echo(text, nl=False)
        return
    target = Path(output)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    except OSError as exc:
        raise OutputWriteError(f"cannot write {output}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as a plainly created file would be, not mkstemp's 0600
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputWriteError(f"cannot write {output}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def handle_errors(func: F) -> F:
    """Turn library errors into one line on stderr and exit code 1; never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MLSDGraderError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except BrokenPipeError:  # the reader went away (`| head`): nothing more to say
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(1)
        except OSError as exc:
            click.echo(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), err=True)
            sys.exit(1)
        except Exception as exc:  # a bug, not bad input: still one line (the traceback on request)
            if os.environ.get(TRACEBACK_ENV):
                raise
            click.echo(f"error: {internal_error(exc)} (set {TRACEBACK_ENV}=1 for the traceback)", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_version(), prog_name="mlsd-grader")
def cli() -> None:
    """Grade free-text answers to ML system design interview questions."""


@cli.command()
@click.argument("answer")
@click.option("--rubric", "rubric", required=True, help="Bundled rubric id or path to a rubric file.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown", "html"]), default="text",
              show_default=True)
@click.option("-o", "--output", default=None, help="Write the report to this file instead of stdout.")
@grading_options
@calibration_option
@handle_errors
def grade(answer: str, rubric: str, fmt: str, output: str | None, config_file: str | None, model: str | None,
          backend: str | None, calibration: str | None) -> None:
    """Grade ANSWER (a file, or - for stdin) against a rubric."""
    config = _config(config_file, model, backend, calibration=calibration)
    rub = load_rubric(rubric)
    data = _read_answer(answer)
    report = Grader(config).grade(data, rub)
    if fmt == "html":
        _emit(render_html(report, decode_answer(data)[0]), output)
    else:
        _emit(render(report, fmt), output)  # type: ignore[arg-type]


@cli.command()
@click.argument("answer")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@grading_options
@handle_errors
def segment(answer: str, fmt: str, config_file: str | None, model: str | None, backend: str | None) -> None:
    """Show how ANSWER splits into framework steps."""
    config = _config(config_file, model, backend)
    data = _read_answer(answer)
    grader = Grader(config)
    sections = grader.segment(data)
    if fmt == "json":
        click.echo(json.dumps({"sections": [s.model_dump(mode="json") for s in sections]}, indent=2, ensure_ascii=False))
        return
    text = data.decode("utf-8", errors="replace")
    for s in sections:
        snippet = " ".join(text[s.start : s.end].split())
        snippet = snippet if len(snippet) <= 70 else snippet[:67] + "..."
        click.echo(f"{s.step or '(unassigned)':<13} {s.start:>6}-{s.end:<6} {s.confidence:.2f}  {snippet}")


def _labelled_scores(labelled: str, config: GraderConfig) -> tuple[Grader, list[float], list[float]]:
    records = read_labelled(labelled)
    grader = Grader(config)
    with click.progressbar(grade_labelled(grader, records), length=len(records), label="grading",
                           file=sys.stderr, show_pos=True) as bar:
        raw = list(bar)
    scores = cast(list[float], [r.score for r in records])  # read_labelled refuses a record without a score
    return grader, raw, human_scale(scores, [r.max_score for r in records])


@cli.command()
@click.argument("labelled")
@click.option("--folds", type=click.IntRange(2, 100), default=5, show_default=True,
              help="Folds for the held-out calibration.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@grading_options
@handle_errors
def evaluate(labelled: str, folds: int, fmt: str, config_file: str | None, model: str | None,
             backend: str | None) -> None:
    """Agreement of the grader with human scores in LABELLED (JSONL with a `score` per record)."""
    _, raw, human = _labelled_scores(labelled, _config(config_file, model, backend))
    result = evaluate_scores(raw, human, folds=folds)
    if fmt == "json":
        click.echo(json.dumps(result.model_dump(mode="json"), indent=2))
        return
    click.echo(f"n = {result.n}")
    click.echo(f"raw         Pearson {result.raw.pearson}  Spearman {result.raw.spearman}")
    c = result.calibrated
    click.echo(f"calibrated  Pearson {c.pearson}  Spearman {c.spearman}  RMSE {c.rmse}  QWK {c.qwk}"
               f"  ({folds}-fold, held out)")


@cli.command()
@click.argument("labelled")
@click.option("-o", "--output", required=True, help="Where to write the calibration JSON.")
@grading_options
@handle_errors
def calibrate(labelled: str, output: str, config_file: str | None, model: str | None, backend: str | None) -> None:
    """Fit a calibration from the grader's scores to the human scores in LABELLED."""
    grader, raw, human = _labelled_scores(labelled, _config(config_file, model, backend))
    fitted = fit_calibration(raw, human, grader=grader.signature_without_rubric())
    _emit(fitted.to_json(), output)
    click.echo(f"calibration fitted on {fitted.n} answers written to {output}", err=True)


@cli.command("calibrate-backend")
@grading_options
@handle_errors
def calibrate_backend(config_file: str | None, model: str | None, backend: str | None) -> None:
    """Fit again the map that puts this backend's scores on the default model's scale, and cache it
    (a model of your own gets one on first use; this redoes it, say after the model changed)."""
    scale = Grader(_config(config_file, model, backend)).refit_scale()
    if not scale.xs:
        click.echo("the default model is the scale itself: nothing to fit", err=True)
    else:
        click.echo(f"scale {scale.content_hash} fitted for {scale.name} and cached", err=True)


class _Progress(Protocol):
    def update(self, n_steps: int) -> None: ...


class _NoProgress:
    """Stands in for the progress bar when none is shown."""

    def update(self, n_steps: int) -> None:
        del n_steps


@contextmanager
def _progress(length: int, done: int, quiet: bool) -> Iterator[_Progress]:
    """A progress bar on stderr (records done, rate, ETA), only on a terminal and without --quiet;
    ``done`` were graded before."""
    if quiet or not sys.stderr.isatty():
        yield _NoProgress()
        return
    start = time.monotonic()
    before = min(done, length)
    shown: list[Any] = []  # the bar, once made (click asks for the rate while making it)

    def rate(_: object) -> str:
        elapsed, now = time.monotonic() - start, shown[0].pos if shown else before
        return f"{(now - before) / elapsed:.1f}/s" if elapsed > 0 and now > before else ""

    with click.progressbar(length=length, label="grading", file=sys.stderr, show_pos=True,
                           item_show_func=rate) as bar:
        shown.append(bar)
        bar.update(before)
        yield bar


@contextmanager
def _results(grader: Grader, inputs: tuple[str, ...], default: Rubric | None, skip: set[str],
             cluster: str | None, output: str | None, force: bool, partition_size: int,
             quiet: bool) -> Iterator[Iterator[BatchResult]]:
    """The batch's results in input order: graded here, or on a Dask cluster (dask imported only then)."""
    if cluster is None:
        yield grader.grade_many(read_inputs(inputs), default, skip=skip)
        return
    with distributed.connect(cluster) as client:
        if not quiet and client.dashboard_link:
            click.echo(f"Dask dashboard: {client.dashboard_link}", err=True)
        parts = None if output is None or output == "-" else distributed.parts_dir_for(output)
        counts = distributed.PartitionCounts()
        yield distributed.grade_dataset(read_inputs(inputs), default, client=client, config=grader.config,
                                        skip=skip, parts=parts, force=force, partition_size=partition_size,
                                        counts=counts)
        if not quiet:
            restored = f", {len(counts.restored)} taken from {parts}" if counts.restored else ""
            click.echo(f"partitions: {len(counts.graded)} graded on the cluster{restored}", err=True)


@cli.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--rubric", "rubric", default=None, help="Bundled rubric id or path, for records that name none.")
@click.option("-o", "--output", default=None,
              help="Append results to this file, skipping ids it already holds graded (default: stdout).")
@click.option("--format", "fmt", type=click.Choice(OUTPUT_FORMATS), default="jsonl", show_default=True)
@click.option("--report-dir", type=click.Path(file_okay=False), default=None,
              help="Also write an HTML page per answer, and index.html, into this directory.")
@click.option("--force", is_flag=True, help="Grade every record again, starting OUTPUT afresh.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary on stderr.")
@click.option("--cluster", default=None,
              help="Grade on Dask: local[:N] starts N worker processes (default: one per core), "
                   "tcp://HOST:PORT uses a running scheduler. Needs the [dask] extra.")
@click.option("--partition-size", type=click.IntRange(min=1), default=distributed.PARTITION_SIZE, show_default=True,
              help="Records per task with --cluster.")
@grading_options
@calibration_option
@handle_errors
def batch(inputs: tuple[str, ...], rubric: str | None, output: str | None, fmt: OutputFormat, report_dir: str | None,
          force: bool, quiet: bool, cluster: str | None, partition_size: int, config_file: str | None,
          model: str | None, backend: str | None, calibration: str | None) -> None:
    """Grade many answers. INPUTS are answer files, directories (every .md and .txt inside), globs, or
    JSONL/CSV files of records. One JSONL line or CSV row per record; exit 1 if any record failed."""
    config = _config(config_file, model, backend, calibration=calibration)
    default = load_rubric(rubric) if rubric is not None else None
    grader = Grader(config)
    pages = ReportDirectory(report_dir) if report_dir is not None else None
    done: list[BatchSummary] = []
    if output is None or output == "-":
        writer = ResultWriter(sys.stdout, fmt, header=True)
    else:
        writer, done = open_results(output, fmt, force=force)
    summaries = list(done)
    skip = {s.id for s in done}
    with (writer, _results(grader, inputs, default, skip, cluster, output, force, partition_size, quiet) as results,
          _progress(count_records(inputs), len(done), quiet) as bar):
        for result in results:
            writer.write(result)
            if pages is not None:
                pages.write(result)
            summaries.append(BatchSummary.from_result(result))
            bar.update(1)
    if pages is not None:
        pages.write_index(summaries)
    new = summaries[len(done):]
    failed = sum(1 for s in new if s.error is not None)
    if not quiet:
        earlier = f", {len(done)} graded before in {output}" if done else ""
        click.echo(f"{len(new) - failed} graded, {failed} failed{earlier}", err=True)
    if failed:
        click.echo(f"error: {failed} of {len(new)} records failed; the `error` field of each says why", err=True)
        sys.exit(1)


@cli.group()
def rubrics() -> None:
    """List, show, validate, lint or draft rubrics, or print their JSON Schema."""


@rubrics.command("list")
@handle_errors
def rubrics_list() -> None:
    """The bundled rubrics."""
    for info in list_rubrics():
        click.echo(f"{info.id:<28} {info.version:<8} {info.title}")


@rubrics.command("show")
@click.argument("rubric")
@handle_errors
def rubrics_show(rubric: str) -> None:
    """Print a rubric (bundled id or path) as YAML."""
    rub = load_rubric(rubric)
    click.echo(yaml.safe_dump(rub.model_dump(mode="json"), sort_keys=False, allow_unicode=True, width=100), nl=False)


@rubrics.command("validate")
@click.argument("paths", nargs=-1, required=True)
def rubrics_validate(paths: tuple[str, ...]) -> None:
    """Check rubric files (or bundled ids); exit 1 if any is invalid."""
    failed = False
    for path in paths:
        try:
            rub = load_rubric(path)
        except MLSDGraderError as exc:
            failed = True
            problems = exc.problems if isinstance(exc, RubricValidationError) else [str(exc)]
            click.echo(f"invalid {path}", err=True)
            for problem in problems:
                click.echo(f"  {problem}", err=True)
            continue
        n_crit = sum(len(s.criteria) for s in rub.steps)
        click.echo(f"ok {path}: {rub.id} {rub.version}, {len(rub.steps)} steps, {n_crit} criteria")
    sys.exit(1 if failed else 0)


@rubrics.command("lint")
@click.argument("rubric_refs", nargs=-1)
@handle_errors
def rubrics_lint(rubric_refs: tuple[str, ...]) -> None:
    """Warn about weak spots in rubrics (ids or paths; default: every bundled rubric); exit 1 on any."""
    refs = rubric_refs or tuple(bundled_rubric_ids())
    total = 0
    for ref in refs:
        warnings = lint_rubric(load_rubric(ref))
        total += len(warnings)
        for warning in warnings:
            click.echo(f"{ref}: {warning}")
    click.echo(f"{len(refs)} rubric(s), {total} warning(s)", err=True)
    sys.exit(1 if total else 0)


@rubrics.command("draft")
@click.argument("model_answers", nargs=-1, required=True)
@click.option("--id", "rubric_id", required=True, help="The drafted rubric's id (lower_snake_case).")
@click.option("--title", required=True, help="The drafted rubric's title.")
@click.option("--question", default=None, help="The question; its words are not made concepts. Default: the title.")
@click.option("-o", "--output", default=None, help="Write the YAML to this file instead of stdout.")
@click.option("--explain", is_flag=True, help="Also print, on stderr, what was taken from where.")
@grading_options
@handle_errors
def rubrics_draft(model_answers: tuple[str, ...], rubric_id: str, title: str, question: str | None,
                  output: str | None, explain: bool, config_file: str | None, model: str | None,
                  backend: str | None) -> None:
    """Draft a rubric from MODEL_ANSWER files (or - for stdin), to edit before use."""
    from .draft import draft_rubric

    texts = [decode_answer(_read_answer(path))[0] for path in model_answers]
    drafted = draft_rubric(texts, id=rubric_id, title=title, question=question,
                           grader=Grader(_config(config_file, model, backend)), sources=model_answers)
    _emit(drafted.to_yaml(), output)
    if explain:
        click.echo(drafted.explain(), err=True, nl=False)


@rubrics.command("schema")
def rubrics_schema() -> None:
    """Print the rubric JSON Schema."""
    click.echo(json.dumps(rubric_json_schema(), indent=2))


@cli.group()
def schema() -> None:
    """Print JSON Schemas."""


@schema.command("report")
def schema_report() -> None:
    """Print the report JSON Schema."""
    click.echo(json.dumps(report_json_schema(), indent=2))


@schema.command("rubric")
def schema_rubric() -> None:
    """Print the rubric JSON Schema."""
    click.echo(json.dumps(rubric_json_schema(), indent=2))


@cli.command()
@click.option("--host", default=None, help=f"Address to bind. Default: {_SERVICE_FIELDS['host'].default}.")
@click.option("--port", type=int, default=None, help=f"Port to bind. Default: {_SERVICE_FIELDS['port'].default}.")
@click.option("--api-key-file", type=click.Path(dir_okay=False), default=None,
              help="File of API keys, one per line (also env MLSD_GRADER_API_KEYS, comma-separated).")
@click.option("--cors-origin", "cors_origins", multiple=True,
              help="An origin allowed to call the API from a browser (repeatable). Default: none.")
@click.option("--batch-window-ms", type=float, default=None,
              help=f"How long an idle worker waits to gather requests. Default: {_SERVICE_FIELDS['batch_window_ms'].default}.")
@click.option("--queue-limit", type=int, default=None,
              help=f"Answers waiting before requests get 503. Default: {_SERVICE_FIELDS['queue_limit'].default}.")
@grading_options
@calibration_option
@handle_errors
def serve(host: str | None, port: int | None, api_key_file: str | None, cors_origins: tuple[str, ...],
          batch_window_ms: float | None, queue_limit: int | None, config_file: str | None, model: str | None,
          backend: str | None, calibration: str | None) -> None:
    """Serve the grading API and the practice page over HTTP (docs/service.md)."""
    try:
        from .service.app import run
    except ImportError as exc:  # fastapi or uvicorn missing: the optional extra is not installed
        raise MLSDGraderError(f"serve needs the [service] extra ({exc.name} is missing): "
                              "pip install 'mlsd-grader[service]'") from None
    config = _config(config_file, model, backend, calibration=calibration)
    settings = ServiceSettings.build(host=host, port=port, api_keys=load_api_keys(api_key_file),
                                     cors_origins=cors_origins, batch_window_ms=batch_window_ms,
                                     queue_limit=queue_limit)
    run(settings, config)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="mlsd-grader")


if __name__ == "__main__":
    main()
