"""Prometheus metrics of the service (GET /metrics): requests, latencies, queue depth, errors, and how
many answers each gathered grading call held. One registry per app, so apps in one process never mix."""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CONTENT_TYPE_LATEST", "MetricsMiddleware", "ServiceMetrics"]

# Request latency buckets in seconds: from a keywords-only grade (a few ms) to a full batch request or
# a wait behind a full queue with the default model (tens of seconds).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# Answers per grade_many call: powers of two up to a full batch request.
GATHER_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


class ServiceMetrics:
    """The service's metrics in their own registry."""

    def __init__(self, *, depth: Callable[[], float], grading: Callable[[], float]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("mlsd_grader_requests", "HTTP requests answered, by route, method and status.",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("mlsd_grader_request_seconds", "Seconds from request to response, by route.",
                                 ["route"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.errors = Counter("mlsd_grader_errors", "Error responses, by error code.", ["code"], registry=self.registry)
        queue_depth = Gauge("mlsd_grader_queue_depth", "Answers waiting for the grading worker.", registry=self.registry)
        queue_depth.set_function(depth)
        in_progress = Gauge("mlsd_grader_grading_answers", "Answers in the grading call under way.",
                            registry=self.registry)
        in_progress.set_function(grading)
        self.gathered = Histogram("mlsd_grader_gathered_answers", "Answers graded together in one grade_many call.",
                                  buckets=GATHER_BUCKETS, registry=self.registry)
        self.grading_seconds = Histogram("mlsd_grader_grading_seconds", "Seconds per gathered grade_many call.",
                                         buckets=LATENCY_BUCKETS, registry=self.registry)

    def observe_gather(self, answers: int, seconds: float) -> None:
        self.gathered.observe(answers)
        self.grading_seconds.observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts every HTTP response by route template (never the raw path: unbounded label values) and
    times it, errors answered by middleware (413, CORS) included."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # if the app fails before it answers, the server answers 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", None) or "(unmatched)"
            self.metrics.requests.labels(name, scope["method"], str(status)).inc()
            self.metrics.latency.labels(name).observe(time.perf_counter() - start)
