"""Throughput of grading on a Dask LocalCluster against the single-process batch (issue 15).

For one backend, on --records answers built from examples/ (each example with a numbered line appended,
so that no two are the same text), graded against the generic rubric:

1. single process: ``Grader.grade_many`` after one short answer was graded (loading the model and all
   else grading reads on first use), which is what `batch` does on one machine;
2. for each worker count in --workers: the time to start a LocalCluster of that many single-threaded
   worker processes, the time each worker takes to load the model and grade the same short answer
   (``load_model_on_workers``), then
   ``grade_dataset`` over the same records in partitions of --partition-size (what `batch --cluster`
   does once its workers are warm).

Records per second, and the Dask path on one worker over the single process (the overhead). Every
result is compared with the single process's, record for record. The machine's load average is printed
beside the figures, since other processes change them.

    HF_HUB_OFFLINE=1 python bench/cluster.py [--backend none|static|sentence-transformers]
                                             [--records 400] [--partition-size 50] [--workers 1,2]
                                             [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path
from typing import Any

from distributed import Client, LocalCluster

from mlsd_grader import Grader, GraderConfig
from mlsd_grader.distributed import WARM_UP_ANSWER, grade_dataset, load_model_on_workers

ROOT = Path(__file__).resolve().parent.parent
RUBRIC = "generic"


def records(n: int) -> list[dict[str, str]]:
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "examples").glob("*/*.md"))]
    return [{"id": f"a{k}", "answer": texts[k % len(texts)] + f"\nNote {k}."} for k in range(n)]


def worker_cpu() -> float:
    """CPU seconds this process has used (run on each worker)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="none", choices=["none", "static", "sentence-transformers"])
    parser.add_argument("--records", type=int, default=400)
    parser.add_argument("--partition-size", type=int, default=50)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    config = GraderConfig(backend=args.backend)
    batch = records(args.records)
    out: dict[str, Any] = {"backend": args.backend, "records": args.records, "partition_size": args.partition_size}

    grader = Grader(config)
    start = time.perf_counter()
    grader.grade(WARM_UP_ANSWER, RUBRIC)  # the model and all else read on first use, before timing
    out["single_model_load_s"] = time.perf_counter() - start
    load_before = load()
    start, cpu = time.perf_counter(), time.process_time()
    want = [r.to_json_line() for r in grader.grade_many(batch, RUBRIC)]
    single, single_cpu = time.perf_counter() - start, time.process_time() - cpu
    out["single"] = {"seconds": single, "cpu_s": single_cpu, "per_s": args.records / single,
                     "load": f"{load_before} / {load()}"}
    print(f"single process: {single:.1f} s ({single_cpu:.1f} CPU s), {args.records / single:.2f} records/s "
          f"(load {out['single']['load']})")

    for workers in (int(w) for w in args.workers.split(",")):
        start = time.perf_counter()
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                          scheduler_port=0) as cluster, Client(cluster) as client:
            started = time.perf_counter() - start
            model = load_model_on_workers(client, config)
            load_before = load()
            workers_cpu = client.run(worker_cpu)
            start, cpu = time.perf_counter(), time.process_time()
            got = [r.to_json_line() for r in grade_dataset(batch, RUBRIC, client=client, config=config,
                                                           partition_size=args.partition_size)]
            seconds, client_cpu = time.perf_counter() - start, time.process_time() - cpu
            work_cpu = sum(client.run(worker_cpu)[w] - before for w, before in workers_cpu.items())
        assert got == want, "the cluster's results differ from the single process's"
        row = {"start_s": started, "model_load_s": sorted(model.values()), "seconds": seconds,
               "per_s": args.records / seconds, "vs_single": seconds / single, "client_cpu_s": client_cpu,
               "workers_cpu_s": work_cpu, "cpu_vs_single": (client_cpu + work_cpu) / single_cpu,
               "load": f"{load_before} / {load()}"}
        out[f"workers_{workers}"] = row
        print(f"{workers} worker(s): cluster start {started:.1f} s, model load "
              f"{', '.join(f'{s:.1f}' for s in row['model_load_s'])} s, grading {seconds:.1f} s, "
              f"{row['per_s']:.2f} records/s, {row['vs_single']:.3f} x single; CPU s client (and scheduler) "
              f"{client_cpu:.1f}, workers {work_cpu:.1f}, {row['cpu_vs_single']:.3f} x single "
              f"(load {row['load']})")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
