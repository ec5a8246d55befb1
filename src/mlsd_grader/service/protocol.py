"""How the service speaks HTTP apart from its routes: errors as ``{"error": {"code", "message"}}``, the
body limits, and the API keys."""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import GraderConfig
from ..grader import internal_error
from .metrics import ServiceMetrics
from .settings import JSON_BYTES_PER_CHAR, MAX_BATCH_ITEMS, RUBRIC_ROOM_BYTES

__all__ = [
    "BodyLimitMiddleware",
    "ServiceError",
    "body_limit",
    "error_response",
    "install_error_handlers",
    "require_key",
]


# ---------------------------------------------------------------- errors


class ServiceError(Exception):
    """An error answered as ``{"error": {"code", "message"}}`` with its HTTP status."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, dict(headers or {})


# Codes of the errors that HTTP itself answers (unknown route, wrong method, a body too large).
_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
               413: "body_too_large", 422: "invalid_request", 503: "unavailable"}


def error_response(request_app: Any, status: int, code: str, message: str,
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    metrics: ServiceMetrics | None = getattr(getattr(request_app, "state", None), "metrics", None)
    if metrics is not None:
        metrics.errors.labels(code).inc()
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{where}: {err.get('msg', '')}" if where else str(err.get("msg", "")))
    return "; ".join(parts) or "the request does not match the schema"


def _unparsed_body(err: Mapping[str, Any]) -> bool:
    """FastAPI parses the body as JSON only under a JSON Content-Type; otherwise the raw bytes reach
    validation. Bytes that are not JSON are bad JSON (400) whatever the Content-Type said."""
    raw = err.get("input")
    if tuple(err.get("loc", ())) != ("body",) or not isinstance(raw, (bytes, str)):
        return False
    try:
        json.loads(raw)
    except ValueError:
        return True
    return False


def install_error_handlers(app: FastAPI) -> None:
    async def service_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceError)
        return error_response(request.app, exc.status, exc.code, exc.message, exc.headers)

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if any(err.get("type") == "json_invalid" or _unparsed_body(err) for err in exc.errors()):
            return error_response(request.app, 400, "bad_json", "the request body is not valid JSON")
        return error_response(request.app, 422, "invalid_request", _validation_message(exc))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return error_response(request.app, exc.status_code, _HTTP_CODES.get(exc.status_code, "http_error"),
                              str(exc.detail), exc.headers)

    async def bug(request: Request, exc: Exception) -> Response:  # never a traceback to the client
        return error_response(request.app, 500, "internal", internal_error(exc))

    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, bug)


# ---------------------------------------------------------------- limits and keys


def body_limit(config: GraderConfig, *, batch: bool) -> int:
    """The most bytes a request body may hold: an answer of max_answer_chars plus an inline rubric, for
    each item of a batch request."""
    one = config.max_answer_chars * JSON_BYTES_PER_CHAR + RUBRIC_ROOM_BYTES
    return one * MAX_BATCH_ITEMS if batch else one


class BodyLimitMiddleware:
    """413 for a body over its limit: at once from Content-Length, else as soon as the bytes read pass it."""

    def __init__(self, app: ASGIApp, *, limit: int, batch_limit: int, batch_path: str) -> None:
        self.app, self.limit, self.batch_limit, self.batch_path = app, limit, batch_limit, batch_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.batch_limit if scope["path"] == self.batch_path else self.limit
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            response = error_response(scope.get("app"), 413, "body_too_large",
                                      f"the request body is over the limit of {limit} bytes")
            await response(scope, receive, send)
            return
        read = 0

        async def limited() -> Message:
            nonlocal read
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > limit:  # FastAPI passes an HTTPException on from the body it reads
                    raise HTTPException(413, f"the request body is over the limit of {limit} bytes")
            return message

        await self.app(scope, limited, send)


def require_key(request: Request) -> None:
    """Every /v1 route wants ``Authorization: Bearer KEY`` once any key is set; each key is compared in
    constant time, and all of them, so the time taken tells nothing about which one came close."""
    keys: tuple[str, ...] = request.app.state.settings.api_keys
    if not keys:
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    given = token.strip().encode("utf-8")
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(given, key.encode("utf-8"))
    if scheme.lower() != "bearer" or not matched:
        raise ServiceError(401, "unauthorized", "a valid API key is required: Authorization: Bearer KEY",
                           {"WWW-Authenticate": "Bearer"})
