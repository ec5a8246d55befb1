"""`mlsd-grader serve` over real HTTP: each server is the real command in a subprocess on a loopback port.

Most servers grade on keywords (`--backend none`) for speed; one test runs the static backend (on a tiny
static model written here) and one the default model. Reports are compared with in-process grading.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from conftest import EXAMPLES, ROOT, TINY_RUBRIC, assert_json_close
from service_server import Server

from mlsd_grader import Grader, GraderConfig, Rubric, list_rubrics, load_rubric
from mlsd_grader.html_report import STEP_COLOURS
from mlsd_grader.report import render, report_json_schema
from mlsd_grader.rubric import rubric_json_schema
from mlsd_grader.service.protocol import body_limit

NONE = GraderConfig(backend="none")
QUESTIONS = ("news_feed", "video_recommendation", "ad_click_prediction", "visual_search")
ANSWERS = [EXAMPLES / q / f"{tier}.md" for q in QUESTIONS for tier in ("weak", "middling", "strong", "strong_prose")]
LONG_ANSWER = "\n".join(p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.glob("*/*.md")))  # 65 KB


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """An error is exactly {"error": {"code", "message"}}: no traceback, no other keys."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code
    assert "Traceback" not in response.text
    return dict(body["error"])


def assert_close(got: Any, want: Any) -> None:
    """Equal JSON, numbers within 1e-5: grade_many's reports equal grade's within that."""
    assert_json_close(got, want, tolerance=1e-5)


def metric(text: str, name: str) -> float:
    """The value of one sample in Prometheus text (0 when absent)."""
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


@pytest.fixture(scope="module")
def none_grader() -> Grader:
    return Grader(NONE)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    # a wide window, so that concurrent requests surely share a call (the default is measured in docs)
    with Server("--backend", "none", "--batch-window-ms", "200") as srv:
        yield srv


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    key_file = tmp_path_factory.mktemp("keys") / "keys.txt"
    key_file.write_text("# one key per line\nfile-key\n", encoding="utf-8")
    with Server("--backend", "none", "--api-key-file", str(key_file),
                env={"MLSD_GRADER_API_KEYS": "env-key-1, env-key-2"}) as srv:
        yield srv


# ---------------------------------------------------------------- grading routes


def test_grade_is_the_cli_json_byte_for_byte(server: Server) -> None:
    answer = EXAMPLES / "news_feed" / "middling.md"
    cli = subprocess.run([sys.executable, "-m", "mlsd_grader", "grade", str(answer), "--rubric", "news_feed",
                          "--backend", "none", "--format", "json"], capture_output=True, check=True)
    with server.client() as http:
        response = http.post("/v1/grade", json={"answer": read(answer), "rubric": "news_feed"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == cli.stdout


def test_grade_renders_markdown_and_escaped_html(server: Server, none_grader: Grader) -> None:
    answer = read(EXAMPLES / "visual_search" / "weak.md") + '\n<script>alert("x")</script> " onmouseover="x\n'
    with server.client() as http:
        md = http.post("/v1/grade", params={"format": "markdown"}, json={"answer": answer, "rubric": "visual_search"})
        page = http.post("/v1/grade", params={"format": "html"}, json={"answer": answer, "rubric": "visual_search"})
        bad = http.post("/v1/grade", params={"format": "xml"}, json={"answer": answer, "rubric": "visual_search"})
    assert md.headers["content-type"].startswith("text/markdown")
    assert md.text == render(none_grader.grade(answer, "visual_search"), "markdown")
    assert page.headers["content-type"].startswith("text/html")
    assert "<mark" in page.text and "&lt;script&gt;" in page.text and "&quot; onmouseover=&quot;x" in page.text
    assert "<script>" not in page.text and '" onmouseover="' not in page.text
    assert_error(bad, 422, "invalid_request")


def test_grade_with_an_inline_rubric_object(server: Server, none_grader: Grader) -> None:
    answer = "## Evaluation\nOffline we measure nDCG; online we run an A/B test.\n## Monitoring\nWe watch drift."
    with server.client() as http:
        response = http.post("/v1/grade", json={"answer": answer, "rubric": TINY_RUBRIC})
        broken = http.post("/v1/grade", json={"answer": answer, "rubric": {**TINY_RUBRIC, "steps": []}})
        neither = http.post("/v1/grade", json={"answer": answer, "rubric": 3})
    want = none_grader.grade(answer, Rubric.model_validate(TINY_RUBRIC)).model_dump(mode="json")
    assert_close(response.json(), want)
    assert "steps" in assert_error(broken, 422, "invalid_rubric")["message"]
    assert_error(neither, 422, "invalid_request")


def test_concurrent_requests_share_calls_and_equal_one_by_one_grading(server: Server, none_grader: Grader) -> None:
    jobs = [(read(path), rubric) for path in ANSWERS for rubric in ("generic", path.parent.name)][:16]
    with server.client() as http:
        before = http.get("/metrics").text

        def post(job: tuple[str, str]) -> httpx.Response:
            return http.post("/v1/grade", json={"answer": job[0], "rubric": job[1]})

        with ThreadPoolExecutor(16) as pool:
            responses = list(pool.map(post, jobs))
        after = http.get("/metrics").text
    for (answer, rubric), response in zip(jobs, responses):
        assert response.status_code == 200
        assert_close(response.json(), none_grader.grade(answer, rubric).model_dump(mode="json"))
    calls = metric(after, "mlsd_grader_gathered_answers_count") - metric(before, "mlsd_grader_gathered_answers_count")
    answers = metric(after, "mlsd_grader_gathered_answers_sum") - metric(before, "mlsd_grader_gathered_answers_sum")
    assert answers == 16
    assert calls < 16  # some requests were graded together, in one grade_many call


def test_batch_gives_one_record_per_item_bad_items_included(server: Server, none_grader: Grader) -> None:
    good = read(EXAMPLES / "news_feed" / "weak.md")
    items: list[Any] = [
        {"id": "a", "answer": good, "rubric": "news_feed", "question": "ignored"},
        {"id": 7, "answer": "## Monitoring\nWe alert on drift and retrain.", "rubric": TINY_RUBRIC},
        {"id": "c", "answer": "x", "rubric": "news_fed"},
        {"id": "d", "answer": "x", "rubric": "/etc/passwd.yaml"},
        {"id": "e", "rubric": "generic"},
        "not an object",
        {"answer": "no rubric"},
        {"id": "a", "answer": good, "rubric": "news_feed"},  # ids are echoed; nothing resumes by id here
    ]
    with server.client() as http:
        response = http.post("/v1/grade/batch", json={"items": items})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["id"], r["source"]) for r in results] == [
        ("a", "#1"), ("7", "#2"), ("c", "#3"), ("d", "#4"), ("e", "#5"), ("#6", "#6"), ("#7", "#7"), ("a", "#8")]
    want = {"id": "a", "source": "#1", "error": None, **none_grader.grade(good, "news_feed").model_dump(mode="json")}
    assert_close(results[0], want)
    assert_close(results[7], {**want, "source": "#8"})
    assert results[1]["rubric"]["id"] == "tiny" and results[1]["error"] is None
    errors = [r["error"] for r in results[2:7]]
    assert errors[0].startswith("unknown rubric 'news_fed'") and errors[1].startswith("unknown rubric '/etc/passwd.yaml'")
    assert errors[2] == "answer: Field required"
    assert errors[3] == "a record must be an object, not str"
    assert errors[4].startswith("no rubric")
    assert all(set(r) == {"id", "source", "error"} for r in results[2:7])


def test_batch_limits_and_schema(server: Server) -> None:
    with server.client() as http:
        too_many = http.post("/v1/grade/batch", json={"items": [{"answer": "x", "rubric": "generic"}] * 101})
        not_a_list = http.post("/v1/grade/batch", json={"items": "x"})
        empty = http.post("/v1/grade/batch", json={"items": []})
    assert_error(too_many, 422, "invalid_request")
    assert_error(not_a_list, 422, "invalid_request")
    assert empty.json() == {"results": []}


def test_segment_rubrics_and_schemas(server: Server, none_grader: Grader) -> None:
    answer = read(EXAMPLES / "news_feed" / "middling.md")
    with server.client() as http:
        sections = http.post("/v1/segment", json={"answer": answer}).json()
        rubrics = http.get("/v1/rubrics").json()
        one = http.get("/v1/rubrics/news_feed").json()
        missing = http.get("/v1/rubrics/nope")
        traversal = http.get("/v1/rubrics/..%2F..%2Fpyproject.toml")
        valid = http.post("/v1/rubrics/validate", json=TINY_RUBRIC).json()
        invalid = http.post("/v1/rubrics/validate", json={"id": "Bad Id"}).json()
        report_schema = http.get("/v1/schema/report").json()
        rubric_schema = http.get("/v1/schema/rubric").json()
        openapi = http.get("/openapi.json").json()
    assert sections == {"sections": [s.model_dump(mode="json") for s in none_grader.segment(answer)]}
    assert rubrics == [info.model_dump(mode="json") for info in list_rubrics()]
    assert one == load_rubric("news_feed").model_dump(mode="json")
    assert_error(missing, 404, "unknown_rubric")
    assert traversal.status_code == 404
    assert valid == {"valid": True, "problems": [], "id": "tiny", "version": "1"}
    assert invalid["valid"] is False and any(p.startswith("id:") for p in invalid["problems"])
    assert report_schema == report_json_schema() and rubric_schema == rubric_json_schema()
    for path in ("/v1/grade", "/v1/grade/batch", "/v1/segment", "/v1/rubrics", "/v1/rubrics/{rubric_id}",
                 "/v1/rubrics/validate", "/v1/schema/report", "/healthz", "/readyz"):
        assert path in openapi["paths"], path


def test_errors_are_json_with_their_status(server: Server) -> None:
    with server.client() as http:
        assert_error(http.post("/v1/grade", content=b'{"answer": "x", ', headers={"content-type": "application/json"}),
                     400, "bad_json")
        assert_error(http.post("/v1/grade", content=b"not json at all"), 400, "bad_json")
        assert_error(http.post("/v1/grade", json={"answer": 1, "rubric": "generic"}), 422, "invalid_request")
        assert_error(http.post("/v1/grade", json={"answer": "x"}), 422, "invalid_request")
        assert_error(http.post("/v1/grade", json={"answer": "x", "rubric": "generic", "extra": 1}), 422,
                     "invalid_request")
        assert_error(http.post("/v1/grade", json={"answer": "x", "rubric": "nope"}), 404, "unknown_rubric")
        assert_error(http.get("/v1/grade"), 405, "method_not_allowed")
        assert_error(http.get("/v2/nothing"), 404, "not_found")


def test_body_limits_follow_max_answer_chars(server: Server) -> None:
    limit = body_limit(NONE, batch=False)
    over = json.dumps({"answer": "a" * limit, "rubric": "generic"}).encode()

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must hold while reading
        for start in range(0, len(over), 65536):
            yield over[start : start + 65536]

    with server.client() as http:
        assert_error(http.post("/v1/grade", content=over, headers={"content-type": "application/json"}),
                     413, "body_too_large")
        assert_error(http.post("/v1/grade", content=chunks(), headers={"content-type": "application/json"}),
                     413, "body_too_large")
        # an answer of max_answer_chars characters, all escaped as JSON writes them, fits; it is graded
        fits = http.post("/v1/grade", content=json.dumps({"answer": "é" * NONE.max_answer_chars, "rubric": "generic"}),
                         headers={"content-type": "application/json"})
        assert fits.status_code == 200
        longer = http.post("/v1/grade", json={"answer": "word " * (NONE.max_answer_chars // 4), "rubric": "generic"})
        assert [w["code"] for w in longer.json()["warnings"]][:1] == ["truncated"]


# ---------------------------------------------------------------- health, metrics, page


def test_health_readiness_and_metrics(server: Server) -> None:
    with server.client() as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        ready = http.get("/readyz").json()
        text = http.get("/metrics").text
    assert ready["status"] == "ready" and "backend:none" in ready["signature"]
    for name in ("mlsd_grader_requests_total", "mlsd_grader_request_seconds_bucket", "mlsd_grader_queue_depth",
                 "mlsd_grader_errors_total", "mlsd_grader_gathered_answers_bucket", "mlsd_grader_grading_seconds_count"):
        assert name in text, name
    assert 'route="/v1/grade"' in text


def test_practice_page_files(server: Server) -> None:
    with server.client() as http:
        page = http.get("/")
        script = http.get("/static/practice.js")
        style = http.get("/static/practice.css")
        missing = http.get("/static/../app.py")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "connect-src 'self'" in page.headers["content-security-policy"]
    assert script.headers["content-type"].startswith("text/javascript")
    assert missing.status_code == 404
    assert "innerHTML" not in script.text and "insertAdjacentHTML" not in script.text
    assert "http://" not in page.text.replace('"http://www.w3.org', "") and "https://" not in page.text
    for step, colour in STEP_COLOURS.items():  # the page and the HTML report colour steps alike
        assert f".s-{step} {{ --c: {colour}; }}" in style.text, step


# ---------------------------------------------------------------- keys


def test_keys_guard_v1_only(keyed: Server) -> None:
    with keyed.client() as http:
        assert_error(http.get("/v1/rubrics"), 401, "unauthorized")
        response = http.get("/v1/rubrics", headers={"Authorization": "Bearer wrong"})
        assert_error(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"
        assert_error(http.get("/v1/rubrics", headers={"Authorization": "Basic env-key-1"}), 401, "unauthorized")
        assert_error(http.post("/v1/grade", json={"answer": "x", "rubric": "generic"}), 401, "unauthorized")
        for key in ("env-key-1", "env-key-2", "file-key"):
            assert http.get("/v1/rubrics", headers={"Authorization": f"Bearer {key}"}).status_code == 200, key
        graded = http.post("/v1/grade", json={"answer": "x", "rubric": "generic"},
                           headers={"Authorization": "Bearer file-key"})
        assert graded.status_code == 200
        for open_path in ("/healthz", "/readyz", "/"):
            assert http.get(open_path).status_code == 200, open_path


def test_no_key_means_open_and_cors_closed(server: Server) -> None:
    with server.client() as http:
        assert http.get("/v1/rubrics").status_code == 200
        preflight = http.options("/v1/grade", headers={"Origin": "https://example.org",
                                                       "Access-Control-Request-Method": "POST"})
        plain = http.get("/v1/rubrics", headers={"Origin": "https://example.org"})
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in plain.headers


def test_cors_origin_when_configured() -> None:
    with Server("--backend", "none", "--cors-origin", "https://example.org") as srv, srv.client() as http:
        allowed = http.get("/v1/rubrics", headers={"Origin": "https://example.org"})
        other = http.get("/v1/rubrics", headers={"Origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://example.org"
    assert "access-control-allow-origin" not in other.headers


# ---------------------------------------------------------------- load and shutdown


def slow_batch(n: int) -> dict[str, Any]:
    """n long answers (about 0.25 s each on keywords), all different."""
    return {"items": [{"id": f"long-{i}", "answer": LONG_ANSWER + "\n" * i, "rubric": "generic"} for i in range(n)]}


def wait_for_metric(http: httpx.Client, name: str, value: float, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while metric(http.get("/metrics").text, name) != value:
        assert time.monotonic() < deadline, f"{name} never reached {value}"
        time.sleep(0.02)


def test_full_queue_answers_503_at_once_then_serves() -> None:
    with Server("--backend", "none", "--queue-limit", "4", "--batch-window-ms", "0") as srv, srv.client() as http:
        assert_error(http.post("/v1/grade/batch", json=slow_batch(5)), 422, "over_queue_limit")  # never fits
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(http.post, "/v1/grade/batch", json=slow_batch(4))
            wait_for_metric(http, "mlsd_grader_grading_answers", 4)  # the worker is busy with it
            second = pool.submit(http.post, "/v1/grade/batch", json=slow_batch(4))
            wait_for_metric(http, "mlsd_grader_queue_depth", 4)  # ... and the queue holds 4 answers: full
            start = time.monotonic()
            refused = http.post("/v1/grade", json={"answer": "x", "rubric": "generic"})
            refused_after = time.monotonic() - start
            assert_error(refused, 503, "queue_full")
            assert int(refused.headers["retry-after"]) >= 1
            assert refused_after < 1.0  # at once, not after the queue drained
            results = [first.result().json()["results"], second.result().json()["results"]]
        assert [r["id"] for r in results[0]] == [r["id"] for r in results[1]] == [f"long-{i}" for i in range(4)]
        assert all(r["error"] is None for batch in results for r in batch)
        again = http.post("/v1/grade", json={"answer": "x", "rubric": "generic"})
        assert again.status_code == 200
        text = http.get("/metrics").text
    # every answer graded exactly once: the probe, 4 + 4, and the one retried
    assert metric(text, "mlsd_grader_gathered_answers_sum") == 1 + 4 + 4 + 1
    assert metric(text, 'mlsd_grader_errors_total{code="queue_full"}') == 1


def test_shutdown_mid_request_answers_whole_or_fails_cleanly() -> None:
    outcomes: list[Any] = []
    with Server("--backend", "none") as srv, srv.client() as http:

        def post(n: int) -> None:
            try:
                response = http.post("/v1/grade/batch", json=slow_batch(n))
                outcomes.append(response)
            except httpx.TransportError as exc:
                outcomes.append(exc)

        threads = [threading.Thread(target=post, args=(n,)) for n in (4, 2)]
        threads[0].start()
        wait_for_metric(http, "mlsd_grader_grading_answers", 4)
        threads[1].start()
        wait_for_metric(http, "mlsd_grader_queue_depth", 2)
        code = srv.stop()
        for thread in threads:
            thread.join(120)
        # uvicorn ends by raising the SIGTERM it handled again, after a clean shutdown
        assert code in (0, -signal.SIGTERM), srv.log()
        assert "Application shutdown complete" in srv.log()
        with pytest.raises(httpx.TransportError):  # stopped: refused, not half answered
            httpx.get(srv.url + "/healthz", timeout=5)
    assert len(outcomes) == 2
    for outcome in outcomes:
        if isinstance(outcome, httpx.Response):  # answered whole, or a clean JSON error
            body = outcome.json()
            if outcome.status_code == 200:
                assert all(r["error"] is None for r in body["results"])
            else:
                assert_error(outcome, 503, "shutting_down")
    # uvicorn drains requests under way before it stops: both were answered in full
    assert [o.status_code for o in outcomes if isinstance(o, httpx.Response)] == [200, 200]


# ---------------------------------------------------------------- the embedding backends


def test_static_backend_serves_what_it_grades_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from test_backends import tiny_static_model

    from mlsd_grader.embeddings import StaticEmbedder, static_model_dir

    monkeypatch.setenv("MLSD_GRADER_CACHE_DIR", str(tmp_path))
    tiny_static_model(static_model_dir())  # the static backend's cache, as if distilled before
    # read from that folder: a static model loaded earlier in the session (embeddings keeps loaded models)
    # must not stand in for it
    grader = Grader(GraderConfig(backend="static"), embedder=StaticEmbedder(directory=static_model_dir()))
    answers = [read(p) for p in ANSWERS[:4]]
    with (Server("--backend", "static", env={"MLSD_GRADER_CACHE_DIR": str(tmp_path)}) as srv, srv.client() as http,
          ThreadPoolExecutor(4) as pool):
        responses = list(pool.map(lambda a: http.post("/v1/grade", json={"answer": a, "rubric": "news_feed"}), answers))
    for answer, response in zip(answers, responses):
        report = response.json()
        assert "backend:static:" in report["signature"]
        assert_close(report, grader.grade(answer, "news_feed").model_dump(mode="json"))  # signatures too


@pytest.mark.integration
def test_default_model_loads_once_and_serves_what_it_grades_in_process(real_grader: Grader) -> None:
    answers = [read(p) for p in ANSWERS[8:12]]
    with Server(ready=False) as srv, srv.client() as http:
        first = http.get("/readyz")  # up, but the model is still loading
        srv.wait_until("/readyz")
        with ThreadPoolExecutor(4) as pool:
            responses = list(pool.map(
                lambda a: http.post("/v1/grade", json={"answer": a, "rubric": "ad_click_prediction"}), answers))
    assert_error(first, 503, "not_ready")
    assert first.headers["retry-after"] == "1"
    for answer, response in zip(answers, responses):
        assert response.status_code == 200
        assert_close(response.json(), real_grader.grade(answer, "ad_click_prediction").model_dump(mode="json"))


def test_importing_the_package_and_cli_stays_light() -> None:
    probe = ("import sys, mlsd_grader, mlsd_grader.cli, mlsd_grader.service; "
             "print([m for m in ('fastapi', 'uvicorn', 'starlette', 'prometheus_client') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
