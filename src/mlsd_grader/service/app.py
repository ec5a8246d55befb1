"""The FastAPI application of ``mlsd-grader serve``: routes over the one Grader, and the practice page
(errors, body limits and keys are in protocol.py). Grading goes through the GradingQueue (gathering.py); reports,
renderings and rubrics come from the modules the CLI uses, so the service adds no logic of its own."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from importlib import resources
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from ..batch import BatchRecord, BatchResult, InputFailure, record_from_mapping
from ..config import GraderConfig
from ..errors import MLSDGraderError, RubricValidationError
from ..grader import Grader, internal_error, package_version
from ..html_report import render_html
from ..report import GradeReport, render, report_json_schema
from ..rubric import (
    Rubric,
    RubricInfo,
    bundled_rubric_ids,
    list_rubrics,
    load_rubric,
    parse_rubric_text,
    rubric_json_schema,
)
from .gathering import GradingItem, GradingQueue, OverLimit, QueueFull, ShuttingDown
from .metrics import CONTENT_TYPE_LATEST, MetricsMiddleware, ServiceMetrics
from .protocol import (
    BodyLimitMiddleware,
    ServiceError,
    body_limit,
    error_response,
    install_error_handlers,
    require_key,
)
from .settings import MAX_BATCH_ITEMS, ServiceSettings

__all__ = ["PROBE_ANSWER", "PROBE_RUBRIC", "create_app", "run"]

# /readyz is green once this answer was graded against this rubric (the model loaded, a grading works).
PROBE_RUBRIC = "generic"
PROBE_ANSWER = "## Evaluation\nOffline we measure AUC on held-out days, online we run an A/B test.\n"
# Seconds the server waits on shutdown (SIGTERM, Ctrl-C) for the requests under way: twice a full
# grade_many call of 32 medium answers on the default model (about 14 s at 2.4 answers/s,
# docs/benchmarks.md "Speed"); requests still unanswered then see their connection closed.
GRACEFUL_SHUTDOWN_S = 30
# The practice page's files (package data in service/static/) and their media types.
PAGE_FILES = {"index.html": "text/html; charset=utf-8", "practice.js": "text/javascript; charset=utf-8",
              "practice.css": "text/css; charset=utf-8"}
# The page loads only its own script and style and calls only this server.
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
ReportFormat = Literal["json", "html", "markdown"]


# ---------------------------------------------------------------- requests


class GradeRequest(BaseModel):
    """One answer and the rubric to grade it by."""

    model_config = ConfigDict(extra="forbid")

    answer: str = Field(description="The answer text; beyond max_answer_chars it is graded on its prefix.")
    rubric: str | dict[str, Any] = Field(description="A bundled rubric id (GET /v1/rubrics) or a rubric object.")


class BatchRequest(BaseModel):
    """Records in the batch record schema (id, answer, rubric); a bad item is its own error record."""

    model_config = ConfigDict(extra="forbid")

    items: list[Any] = Field(max_length=MAX_BATCH_ITEMS, description="Objects with id, answer, rubric.")


class SegmentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: str


class SectionsResponse(BaseModel):
    sections: list[dict[str, Any]]


class BatchResponse(BaseModel):
    results: list[dict[str, Any]] = Field(description="One batch record per item, in order (docs/batch.md).")


class ValidationResponse(BaseModel):
    valid: bool
    problems: list[str] = Field(default_factory=list)
    id: str | None = None
    version: str | None = None


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


def _resolve_rubric(ref: object, bundled: frozenset[str]) -> tuple[str | None, Rubric]:
    """(bundled id, rubric) for an id, (None, rubric) for a rubric object. Never a path: callers are
    untrusted, and a path would read the server's files."""
    if isinstance(ref, str):
        if ref not in bundled:
            raise ServiceError(404, "unknown_rubric", f"unknown rubric {ref!r}: not a bundled id (GET /v1/rubrics)")
        return ref, load_rubric(ref)
    if isinstance(ref, Mapping):
        try:
            return None, parse_rubric_text(json.dumps(ref), source="(request)", json_format=True)
        except RubricValidationError as exc:
            raise ServiceError(422, "invalid_rubric", str(exc)) from None
    raise ServiceError(422, "invalid_request", "rubric: a bundled rubric id or a rubric object is required")


def _batch_item(item: object, position: int, internal_id: str, bundled: frozenset[str]) -> tuple[str, GradingItem]:
    """The item's own id (or #N) and what to grade: the record under a unique internal id, or its failure."""
    where = f"#{position}"
    fields = {k: item[k] for k in ("id", "answer") if k in item} if isinstance(item, Mapping) else item
    record = record_from_mapping(fields, where)
    if isinstance(record, InputFailure):
        return record.id, (record.model_copy(update={"id": internal_id}), None)
    own_id = record.id or where
    ref = item.get("rubric") if isinstance(item, Mapping) else None
    if ref is None:  # grade_many answers it with its own "no rubric" error
        return own_id, (record.model_copy(update={"id": internal_id}), None)
    try:
        rubric_id, rubric = _resolve_rubric(ref, bundled)
    except ServiceError as exc:
        return own_id, (InputFailure(id=internal_id, source=where, error=exc.message), None)
    return own_id, (record.model_copy(update={"id": internal_id, "rubric": rubric_id}), None if rubric_id else rubric)


# ---------------------------------------------------------------- the app


def create_app(settings: ServiceSettings, config: GraderConfig, *, grader: Grader | None = None) -> FastAPI:
    """The application: one Grader, its queue and metrics; the model loads when the app starts."""
    grader = grader if grader is not None else Grader(config)
    metrics = ServiceMetrics(depth=lambda: queue.depth, grading=lambda: queue.grading)
    queue = GradingQueue(grader, window_s=settings.batch_window_ms / 1000, limit=settings.queue_limit,
                         observe=metrics.observe_gather)
    bundled = frozenset(bundled_rubric_ids())
    ids = itertools.count(1)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        queue.start()
        warm = asyncio.create_task(_warm_up(app))
        yield
        warm.cancel()
        await queue.close()

    async def _warm_up(app: FastAPI) -> None:
        """Load the model and grade the probe answer; /readyz tells the outcome."""
        record = BatchRecord(id=f"probe-{next(ids)}", answer=PROBE_ANSWER, rubric=PROBE_RUBRIC, source="probe")
        try:
            [result] = await queue.grade([(record, None)])
        except Exception as exc:  # noqa: BLE001 - any failure here is what /readyz must report
            app.state.not_ready = exc if isinstance(exc, MLSDGraderError) else internal_error(exc)
            return
        app.state.not_ready = None if result.report is not None else result.error

    app = FastAPI(title="mlsd-grader", version=package_version(), lifespan=lifespan, docs_url=None,
                  redoc_url=None, openapi_url="/openapi.json",
                  description="Grades answers to ML system design questions (docs/service.md).")
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.not_ready = "loading the model"
    install_error_handlers(app)

    async def queued(items: list[GradingItem]) -> list[BatchResult]:
        try:
            return await queue.grade(items)
        except QueueFull as exc:
            raise ServiceError(503, "queue_full", "the grading queue is full; try again shortly",
                               {"Retry-After": str(exc.retry_after)}) from None
        except OverLimit as exc:
            raise ServiceError(422, "over_queue_limit", str(exc)) from None
        except ShuttingDown:
            raise ServiceError(503, "shutting_down", "the service is shutting down") from None
        except MLSDGraderError as exc:
            raise ServiceError(503, "grading_unavailable", str(exc)) from None

    errors: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorResponse} for code in (400, 401, 404, 413, 422, 503)
    }
    v1 = APIRouter(prefix="/v1", dependencies=[Depends(require_key)], responses=errors)

    @v1.post("/grade", responses={200: {"model": GradeReport, "content": {"text/html": {}, "text/markdown": {}}}})
    async def grade(body: GradeRequest, format: Annotated[ReportFormat, Query()] = "json") -> Response:
        """Grade one answer: the report of `grade --format json`, or its html or markdown rendering."""
        rubric_id, rubric = _resolve_rubric(body.rubric, bundled)
        record = BatchRecord(id=f"r{next(ids)}", answer=body.answer, rubric=rubric_id, source="#1")
        [result] = await queued([(record, None if rubric_id else rubric)])
        if result.report is None:
            raise ServiceError(500, "internal", result.error or "no report")
        if format == "html":
            return HTMLResponse(render_html(result.report, body.answer))
        if format == "markdown":
            return Response(render(result.report, "markdown"), media_type="text/markdown; charset=utf-8")
        return Response(result.report.to_json(), media_type="application/json")

    @v1.post("/grade/batch", response_model=BatchResponse)
    async def grade_batch(body: BatchRequest) -> Response:
        """Grade up to 100 records; one batch record (docs/batch.md) per item, in order."""
        prepared = [_batch_item(item, n, f"r{next(ids)}", bundled) for n, item in enumerate(body.items, 1)]
        results = await queued([item for _, item in prepared])
        out = [{**r.as_output(), "id": own_id, "source": f"#{n}"}
               for n, ((own_id, _), r) in enumerate(zip(prepared, results), 1)]
        return Response(json.dumps({"results": out}, ensure_ascii=False), media_type="application/json")

    @v1.post("/segment", response_model=SectionsResponse)
    async def segment(body: SegmentRequest) -> dict[str, Any]:
        """How the answer splits into framework steps (as `segment --format json`)."""
        sections = await asyncio.to_thread(grader.segment, body.answer)
        return {"sections": [s.model_dump(mode="json") for s in sections]}

    @v1.get("/rubrics", response_model=list[RubricInfo])
    async def rubrics() -> list[dict[str, Any]]:
        """The bundled rubrics: id, version, title and question."""
        return [info.model_dump(mode="json") for info in list_rubrics()]

    @v1.get("/rubrics/{rubric_id}")
    async def rubric(rubric_id: str) -> dict[str, Any]:
        """A bundled rubric, every default filled in (as `rubrics show`)."""
        return _resolve_rubric(rubric_id, bundled)[1].model_dump(mode="json")

    @v1.post("/rubrics/validate", response_model=ValidationResponse)
    async def validate(body: dict[str, Any]) -> dict[str, Any]:
        """Check a rubric object against the rubric schema (as `rubrics validate`)."""
        try:
            rub = parse_rubric_text(json.dumps(body), source="(request)", json_format=True)
        except RubricValidationError as exc:
            return {"valid": False, "problems": exc.problems}
        return {"valid": True, "problems": [], "id": rub.id, "version": rub.version}

    @v1.get("/schema/report")
    async def schema_report() -> dict[str, Any]:
        """The JSON Schema of the report."""
        return report_json_schema()

    @v1.get("/schema/rubric")
    async def schema_rubric() -> dict[str, Any]:
        """The JSON Schema of a rubric."""
        return rubric_json_schema()

    app.include_router(v1)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", responses={503: {"model": ErrorResponse}})
    async def readyz() -> Response:
        """The model is loaded, the probe answer was graded and the grading worker runs."""
        problem = app.state.not_ready if queue.alive else "the grading worker stopped"
        if problem is None:
            return JSONResponse({"status": "ready", "signature": grader.signature(load_rubric(PROBE_RUBRIC))})
        loading = problem == "loading the model"
        return error_response(app, 503, "not_ready", str(problem), {"Retry-After": "1"} if loading else None)

    @app.get("/metrics", include_in_schema=False)
    async def metrics_route() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", include_in_schema=False)
    async def page() -> Response:
        return _page_file("index.html")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:  # browsers ask for it; the page has none
        return Response(status_code=204)

    @app.get("/static/{name}", include_in_schema=False)
    async def page_asset(name: str) -> Response:
        if name not in PAGE_FILES:
            raise ServiceError(404, "not_found", f"no file {name!r}")
        return _page_file(name)

    app.add_middleware(BodyLimitMiddleware, limit=body_limit(config, batch=False),
                       batch_limit=body_limit(config, batch=True), batch_path="/v1/grade/batch")
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


def _page_file(name: str) -> Response:
    data = (resources.files("mlsd_grader.service") / "static" / name).read_bytes()
    return Response(data, media_type=PAGE_FILES[name],
                    headers={"Content-Security-Policy": PAGE_CSP, "X-Content-Type-Options": "nosniff",
                             "Cache-Control": "no-cache"})


def run(settings: ServiceSettings, config: GraderConfig) -> None:
    """Serve until SIGINT/SIGTERM; requests under way are answered first (up to GRACEFUL_SHUTDOWN_S)."""
    import uvicorn

    uvicorn.run(create_app(settings, config), host=settings.host, port=settings.port,
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S, log_level="info")
