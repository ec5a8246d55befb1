"""Load on `mlsd-grader serve` over loopback HTTP: 1, 4 and 16 concurrent clients, each level a bounded
number of POST /v1/grade requests of the medium benchmark answer (bench/speed.py's: 1,500 words of
examples/, against video_recommendation), for each backend asked.

For every level it prints requests/s, p50/p95/p99 latency, errors (any answer but 200, or a broken
connection) and lost requests (sent but never answered), and checks with the server's own metrics that
it graded each request exactly once. Every request is a different text (the medium answer plus 1, 2, 3
... newlines, which change no sentence), so the grader's memory of recent answers never answers for it.

    python bench/load.py [--backends static,sentence-transformers] [--levels 1,4,16] [--requests 48]
                         [--rounds 1] [--window-ms 10] [--json FILE]

--rounds N runs the levels N times in turn on one server, so that on a machine whose speed drifts (a
shared one) each level meets the same conditions; the ratio of 16 clients to 1 is taken within a round.

--window-ms takes a comma-separated list: each backend is then run once per batching window, which is
how the default window was chosen (docs/service.md, "Batching window").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from service_server import Server
from speed import QUESTION, SIZES, build_answer, example_lines

# The targets: 16 clients on the default model serve >= 1.5x the requests/s of one client one
# by one; the static backend serves >= 20 medium answers/s; no errors and nothing lost at any level.
TARGET_DEFAULT_SPEEDUP = 1.5
TARGET_STATIC_RPS = 20.0
# Requests sent before each level's clock starts (the rubric's vectors, the step model, warm caches).
WARM_UP = 4


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), by linear interpolation between the nearest ranks."""
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def graded_count(http: httpx.Client) -> float:
    """Answers the server has graded so far (the sum of its gathered-answers histogram)."""
    for line in http.get("/metrics").text.splitlines():
        if line.startswith("mlsd_grader_gathered_answers_sum "):
            return float(line.split()[1])
    return 0.0


def gathered_calls(http: httpx.Client) -> float:
    for line in http.get("/metrics").text.splitlines():
        if line.startswith("mlsd_grader_gathered_answers_count "):
            return float(line.split()[1])
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc): unlike wall time, hardly moved by
    other work on a shared machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_level(server: Server, answer: str, clients: int, requests: int, first: int) -> dict[str, Any]:
    """``requests`` requests shared by ``clients`` threads, each with its own connection."""
    latencies: list[float] = []
    errors: list[str] = []
    answered = 0
    lock = threading.Lock()
    numbers = iter(range(first, first + requests))

    def client() -> None:
        nonlocal answered
        with server.client() as http:
            while True:
                with lock:
                    n = next(numbers, None)
                if n is None:
                    return
                body = {"answer": answer + "\n" * n, "rubric": QUESTION}
                start = time.perf_counter()
                try:
                    response = http.post("/v1/grade", json=body)
                except httpx.TransportError as exc:
                    with lock:
                        errors.append(type(exc).__name__)
                    continue
                took = time.perf_counter() - start
                with lock:
                    answered += 1
                    latencies.append(took)
                    if response.status_code != 200 or "score" not in response.json():
                        errors.append(str(response.status_code))

    with server.client() as http:
        graded_before, calls_before = graded_count(http), gathered_calls(http)
        assert server.process is not None
        cpu_before = cpu_seconds(server.process.pid)
        threads = [threading.Thread(target=client) for _ in range(clients)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - start
        cpu = cpu_seconds(server.process.pid) - cpu_before
        graded, calls = graded_count(http) - graded_before, gathered_calls(http) - calls_before
    return {
        "clients": clients, "requests": requests, "seconds": round(wall, 3),
        "requests_per_s": round(requests / wall, 2),
        "p50_ms": round(percentile(latencies, 50) * 1000, 1), "p95_ms": round(percentile(latencies, 95) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1), "errors": len(errors), "error_kinds": sorted(set(errors)),
        "lost": requests - answered, "graded_by_server": int(graded),
        "answers_per_call": round(graded / calls, 2) if calls else None,
        "server_cpu_s_per_request": round(cpu / requests, 3),
    }


def run_backend(backend: str, window_ms: float, levels: list[int], requests: int, rounds: int,
                answer: str) -> list[dict[str, Any]]:
    rows = []
    with Server("--backend", backend, "--batch-window-ms", str(window_ms), timeout=900) as server:
        first = 1
        for round_number in range(1, rounds + 1):
            for clients in levels:
                run_level(server, answer, clients, WARM_UP, first)
                first += WARM_UP
                row = {"backend": backend, "window_ms": window_ms, "round": round_number,
                       "load": round(os.getloadavg()[0], 1), **run_level(server, answer, clients, requests, first)}
                first += requests
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="static,sentence-transformers")
    parser.add_argument("--levels", default="1,4,16")
    parser.add_argument("--requests", type=int, default=48, help="Requests per level (after the warm-up).")
    parser.add_argument("--rounds", type=int, default=1, help="Times to run the levels in turn.")
    parser.add_argument("--window-ms", default="10", help="Batching window(s) in ms, comma-separated.")
    parser.add_argument("--json", default=None, help="Also write every row to this file.")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    answer = build_answer(SIZES["medium"], example_lines())
    levels = [int(x) for x in args.levels.split(",")]
    print(f"load: {os.getloadavg()}", flush=True)
    rows = []
    for backend in args.backends.split(","):
        for window in args.window_ms.split(","):
            rows += run_backend(backend, float(window), levels, args.requests, args.rounds, answer)
    print(f"load: {os.getloadavg()}", flush=True)
    print(f"\n{'backend':<22} {'window':>6} {'round':>5} {'load':>5} {'clients':>7} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
          f"{'errors':>6} {'lost':>4} {'graded':>6} {'per call':>8} {'cpu s/req':>9}")
    for r in rows:
        print(f"{r['backend']:<22} {r['window_ms']:>6g} {r['round']:>5} {r['load']:>5} {r['clients']:>7} {r['requests_per_s']:>7} {r['p50_ms']:>8} "
              f"{r['p95_ms']:>8} {r['p99_ms']:>8} {r['errors']:>6} {r['lost']:>4} {r['graded_by_server']:>6} "
              f"{r['answers_per_call'] or '-':>8} {r['server_cpu_s_per_request']:>9}")
    for backend in sorted({r["backend"] for r in rows}):
        for window in sorted({r["window_ms"] for r in rows if r["backend"] == backend}):
            mine = [r for r in rows if r["backend"] == backend and r["window_ms"] == window]
            if backend == "sentence-transformers":
                for round_number in sorted({r["round"] for r in mine}):
                    by = {r["clients"]: r for r in mine if r["round"] == round_number}
                    if 1 in by and 16 in by:
                        ratio = by[16]["requests_per_s"] / by[1]["requests_per_s"]
                        cpu_ratio = by[1]["server_cpu_s_per_request"] / by[16]["server_cpu_s_per_request"]
                        verdict = "met" if ratio >= TARGET_DEFAULT_SPEEDUP else "MISSED"
                        print(f"{backend} window {window:g} ms, round {round_number}: 16 clients / 1 client = "
                              f"{ratio:.2f}x requests/s (target {TARGET_DEFAULT_SPEEDUP}x: {verdict}); "
                              f"server CPU per request {cpu_ratio:.2f}x less")
            if backend == "static":
                best = max(r["requests_per_s"] for r in mine)
                verdict = "met" if best >= TARGET_STATIC_RPS else "MISSED"
                print(f"static window {window:g} ms: best {best} medium answers/s (target {TARGET_STATIC_RPS}: {verdict})")
    bad = [r for r in rows if r["errors"] or r["lost"] or r["graded_by_server"] != r["requests"]]
    print("errors, lost or twice-graded requests: " + ("none" if not bad else json.dumps(bad)))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
