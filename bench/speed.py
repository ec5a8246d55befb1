"""Grading speed measured against the encoder's own speed.

In one process, for short, medium and long answers (300, 1,500 and 5,000 words, built from examples/):
(a) the raw encode of the answer's sentences with the loaded model and (b) a full ``Grader.grade`` of the
same answer with the rubric's vectors already warm, best of --repeats runs after a warm-up, and the ratio
b/a; then the throughput of a batch of --batch medium answers beside one encode pass over all their
sentences (alternating, best of --batch-repeats each); the process's peak memory; and the CLI's cold
start (process start to printed report).

    python bench/speed.py [--backend sentence-transformers|static|none] [--repeats 5] [--batch 200]
                          [--batch-repeats 2] [--cold-starts 3] [--json FILE]

Every answer is a different text, so the grader's memory of recently analysed answers never answers for
it: the repeated runs of (b) append 1, 2, 3 ... newlines (which change no sentence), and the batch's
answers start at different lines of the examples.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
# The rubric every benchmark answer is graded against; its own examples come first in the answers.
QUESTION = "video_recommendation"
SIZES = {"short": 300, "medium": 1_500, "long": 5_000}
# Lines between the first lines of two consecutive batch answers: 200 answers start at 200 different
# lines of the 580 lines of examples/.
BATCH_STRIDE = 2
# The targets (docs/benchmarks.md): b/a for medium and long answers, batch time over one encode
# pass, the static backend's warm medium grade, its cold start, and peak memory with the default model.
TARGET_RATIO = 1.15
TARGET_BATCH_RATIO = 1.15
TARGET_STATIC_MEDIUM_S = 0.050
TARGET_STATIC_COLD_START_S = 2.0
TARGET_PEAK_MIB = 1024


def example_lines() -> list[str]:
    """Lines of the QUESTION's examples, then of every other example, each file closed by a blank line."""
    files = sorted((EXAMPLES / QUESTION).glob("*.md"))
    files += sorted(p for p in EXAMPLES.glob("*/*.md") if p.parent.name != QUESTION)
    lines: list[str] = []
    for path in files:
        lines += path.read_text(encoding="utf-8").splitlines() + [""]
    return lines


def build_answer(words: int, lines: list[str], offset: int = 0) -> str:
    """Exactly ``words`` words: whole lines from ``offset`` on (wrapping around), the last one cut short."""
    out: list[str] = []
    count = 0
    k = offset
    while True:
        line = lines[k % len(lines)]
        n = len(line.split())
        if count + n >= words:
            out.append(" ".join(line.split()[: words - count]))
            return "\n".join(out) + "\n"
        out.append(line)
        count += n
        k += 1


def answer_sentences(text: str) -> list[str]:
    """The sentences the grader encodes for ``text``: its body sentences outside headings."""
    from mlsd_grader.segmentation import body_sentences, find_headings

    return [text[s.start : s.end] for s in body_sentences(text, find_headings(text))]


def time_sizes(grader: Any, rubric: Any, lines: list[str], repeats: int) -> list[dict[str, Any]]:
    embedder = grader.embedder
    rows = []
    for name, words in SIZES.items():
        text = build_answer(words, lines)
        sentences = answer_sentences(text)
        # warm-up: rubric vectors, step prototypes, the caches of words and phrases
        grader.grade(text, rubric)
        if embedder is not None:
            embedder.encode(sentences)
        a_best: float | None = None
        a_median: float | None = None
        b_times: list[float] = []
        a_times: list[float] = []
        for r in range(repeats):  # (a) and (b) alternate, so a busy spell of the machine hits both
            if embedder is not None:
                start = time.perf_counter()
                embedder.encode(sentences)
                a_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            grader.grade(text + "\n" * (r + 1), rubric)
            b_times.append(time.perf_counter() - start)
        if a_times:
            a_best, a_median = min(a_times), statistics.median(a_times)
        rows.append(
            {
                "answer": name,
                "words": words,
                "sentences": len(sentences),
                "encode_s": a_best,
                "encode_median_s": a_median,
                "grade_s": min(b_times),
                "grade_median_s": statistics.median(b_times),
                "ratio": min(b_times) / a_best if a_best else None,
            }
        )
    return rows


def time_batch(grader: Any, rubric: Any, lines: list[str], n: int, repeats: int) -> dict[str, Any]:
    """One encode pass over the batch's sentences and the batch through grade_many, alternating,
    ``repeats`` times (a drift of the machine's speed hits both); the best of each is kept. Each repeat
    grades new texts (1, 2, ... trailing newlines), as in time_sizes."""
    answers = [build_answer(SIZES["medium"], lines, offset=k * BATCH_STRIDE) for k in range(n)]
    sentences = [s for text in answers for s in answer_sentences(text)]
    how = "Grader.grade_many" if hasattr(grader, "grade_many") else "Grader.grade in a loop"
    encode_times: list[float] = []
    batch_times: list[float] = []
    for r in range(repeats):
        if grader.embedder is not None:
            start = time.perf_counter()
            grader.embedder.encode(sentences)
            encode_times.append(time.perf_counter() - start)
        texts = [a + "\n" * (r + 1) for a in answers]
        start = time.perf_counter()
        if hasattr(grader, "grade_many"):
            results = list(grader.grade_many([{"id": str(k), "answer": a} for k, a in enumerate(texts)], rubric))
            failed = [res.error for res in results if res.error is not None]
            if failed:
                raise SystemExit(f"batch grading failed: {failed[0]}")
        else:
            for text in texts:
                grader.grade(text, rubric)
        batch_times.append(time.perf_counter() - start)
    encode_s = min(encode_times) if encode_times else None
    batch_s = min(batch_times)
    return {
        "answers": n,
        "sentences": len(sentences),
        "how": how,
        "repeats": repeats,
        "encode_s": encode_s,
        "batch_s": batch_s,
        "encode_all_s": encode_times,
        "batch_all_s": batch_times,
        "answers_per_s": n / batch_s,
        "ratio": batch_s / encode_s if encode_s else None,
    }


def time_cold_start(backend: str, lines: list[str], runs: int) -> dict[str, Any]:
    """Wall time of ``python -m mlsd_grader grade`` on the medium answer: process start to printed report."""
    with tempfile.TemporaryDirectory() as tmp:
        answer = Path(tmp) / "medium.md"
        answer.write_text(build_answer(SIZES["medium"], lines), encoding="utf-8")
        command = [
            sys.executable,
            "-m",
            "mlsd_grader",
            "grade",
            str(answer),
            "--rubric",
            QUESTION,
            "--backend",
            backend,
        ]
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            proc = subprocess.run(command, capture_output=True, text=True)
            times.append(time.perf_counter() - start)
            if proc.returncode != 0 or "Score:" not in proc.stdout:
                raise SystemExit(f"the CLI failed: {proc.stderr.strip()}")
    return {"runs": runs, "best_s": min(times), "median_s": statistics.median(times)}


def ensure_static_model() -> None:
    """Make the static model in a child process if it is not cached, so this one never imports torch."""
    from mlsd_grader.embeddings import static_model_dir

    if not (static_model_dir() / "static.json").is_file():
        subprocess.run(
            [
                sys.executable,
                "-c",
                "from mlsd_grader.embeddings import StaticEmbedder; StaticEmbedder()",
            ],
            check=True,
        )


def verdict(value: float | None, target: float) -> str:
    if value is None:
        return "n/a"
    return "met" if value <= target else "missed"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backend",
        default="sentence-transformers",
        choices=["sentence-transformers", "static", "none"],
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed runs per answer size (best is kept)"
    )
    parser.add_argument("--batch", type=int, default=200, help="medium answers in the batch")
    parser.add_argument(
        "--batch-repeats", type=int, default=2, help="encode passes and batches, alternating (best is kept)"
    )
    parser.add_argument("--cold-starts", type=int, default=3, help="CLI runs for the cold start")
    parser.add_argument(
        "--json", type=Path, default=None, help="also write the figures to this file"
    )
    args = parser.parse_args(argv)

    if args.backend == "static":
        ensure_static_model()
    from mlsd_grader import Grader, GraderConfig, load_rubric

    grader = Grader(GraderConfig(backend=args.backend))
    rubric = load_rubric(QUESTION)
    lines = example_lines()
    sizes = time_sizes(grader, rubric, lines, args.repeats)
    batch = time_batch(grader, rubric, lines, args.batch, args.batch_repeats)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    heavy = sorted(
        m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules
    )
    cold = time_cold_start(args.backend, lines, args.cold_starts)

    print(
        f"backend {args.backend} ({grader.signature_without_rubric().split('|')[1]}), rubric {QUESTION}, "
        f"best of {args.repeats}"
    )
    print(
        f"{'answer':<8} {'words':>6} {'sentences':>9} {'(a) encode':>11} {'(b) grade':>10} {'b/a':>6}"
    )
    for row in sizes:
        ratio = f"{row['ratio']:.3f}" if row["ratio"] is not None else "-"
        encode = f"{row['encode_s'] * 1000:.1f}ms" if row["ratio"] is not None else "-"
        print(
            f"{row['answer']:<8} {row['words']:>6} {row['sentences']:>9} {encode:>11} "
            f"{row['grade_s'] * 1000:>8.1f}ms {ratio:>6}"
        )
    batch_ratio = f"{batch['ratio']:.3f}" if batch["ratio"] is not None else "-"
    encode_pass = (
        f"; one encode pass over their {batch['sentences']} sentences {batch['encode_s']:.2f} s, "
        f"ratio {batch_ratio}"
        if batch["ratio"] is not None
        else ""
    )
    print(
        f"batch of {batch['answers']} medium answers ({batch['how']}, best of {batch['repeats']}): "
        f"{batch['batch_s']:.2f} s, "
        f"{batch['answers_per_s']:.2f} answers/s{encode_pass}"
    )
    print(
        f"peak memory (ru_maxrss) {peak_mib:.0f} MiB; heavy modules imported: {', '.join(heavy) or 'none'}"
    )
    print(
        f"CLI cold start to printed report: best {cold['best_s']:.2f} s, median {cold['median_s']:.2f} s "
        f"({cold['runs']} runs)"
    )
    medium, long_ = sizes[1], sizes[2]
    print("targets:" if args.backend != "none" else "targets: none apply to --backend none")
    if args.backend == "sentence-transformers":
        print(
            f"  b/a medium {medium['ratio']:.3f} <= {TARGET_RATIO}: {verdict(medium['ratio'], TARGET_RATIO)}"
        )
        print(
            f"  b/a long {long_['ratio']:.3f} <= {TARGET_RATIO}: {verdict(long_['ratio'], TARGET_RATIO)}"
        )
        print(
            f"  batch/encode {batch_ratio} <= {TARGET_BATCH_RATIO}: {verdict(batch['ratio'], TARGET_BATCH_RATIO)}"
        )
        print(
            f"  peak memory {peak_mib:.0f} MiB <= {TARGET_PEAK_MIB}: {verdict(peak_mib, TARGET_PEAK_MIB)}"
        )
    if args.backend == "static":
        print(
            f"  warm medium grade {medium['grade_s'] * 1000:.1f} ms <= {TARGET_STATIC_MEDIUM_S * 1000:.0f}: "
            f"{verdict(medium['grade_s'], TARGET_STATIC_MEDIUM_S)}"
        )
        print(
            f"  cold start {cold['best_s']:.2f} s <= {TARGET_STATIC_COLD_START_S}: "
            f"{verdict(cold['best_s'], TARGET_STATIC_COLD_START_S)}; torch imported: {'torch' in heavy}"
        )
    if args.json is not None:
        figures = {
            "backend": args.backend,
            "repeats": args.repeats,
            "sizes": sizes,
            "batch": batch,
            "peak_mib": peak_mib,
            "heavy_modules": heavy,
            "cold_start": cold,
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
