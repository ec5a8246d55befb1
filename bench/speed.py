"""Grading speed measured against the encoder's own speed.

In one process, for short, medium and long answers (300, 1,500 and 5,000 words, built from examples/),
and for real answers written by others when --real-answers names their git mirrors: (a) the grader's own
encode of the answer's sentences, (b) a full ``Grader.grade`` of the same answer with the rubric's
vectors already warm, and, with the sentence-transformers backend, (f) the floor: the same model's plain
``SentenceTransformer.encode`` of the same sentences at each of --floor-sizes batch sizes, the fastest
kept. All alternate, best of --repeats runs after a warm-up; the ratios are b/f and b/a. Then the
throughput of a batch of --batch medium answers beside encode passes over all their sentences (the
grader's own, and the floor's batch sizes; alternating, best of --batch-repeats each); the process's peak
memory; and the CLI's cold start (process start to printed report).

    python bench/speed.py [--backend sentence-transformers|static|none] [--repeats 5] [--batch 200]
                          [--batch-repeats 2] [--cold-starts 3] [--floor-sizes 8,16,32,64,128]
                          [--real-answers DIR] [--json FILE]

--real-answers DIR reads the answers of REAL_ANSWERS with ``git --git-dir DIR/OWNER+NAME/repo show
HEAD:PATH`` (read-only mirrors; their text is never written anywhere) and skips any that is absent.

Every answer is a different text, so the grader's memory of recently analysed answers never answers for
it: the repeated runs of (b) append 1, 2, 3 ... newlines (which change no sentence), and the batch's
answers start at different lines of the examples.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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
# The issue's targets (docs/benchmarks.md): b/a for medium and long answers, batch time over one encode
# pass, the static backend's warm medium grade, its cold start, and peak memory with the default model.
TARGET_RATIO = 1.15
TARGET_BATCH_RATIO = 1.15
# Issue 9's targets against the floor (the fastest fixed batch size): b/f for the three benchmark answers
# and the real answers, and the batch over the floor's encode pass.
TARGET_FLOOR_RATIO = 1.10
TARGET_BATCH_FLOOR_RATIO = 1.15
# The fixed batch sizes whose fastest plain encode is the floor.
FLOOR_BATCH_SIZES = (8, 16, 32, 64, 128)
# Real dev answers of different shapes (bench/real_answers/): mirror folder, path at HEAD, the rubric
# graded against (generic where no bundled question fits), shape.
REAL_ANSWERS = (
    ("LongxingTan+Machine-learning-interview", "03_system/03_ml/video_recommendation.md",
     "video_recommendation", "long bullet notes, mixed"),
    ("LongxingTan+Machine-learning-interview", "03_system/03_ml/ad_click.md", "ad_click_prediction", "bullet notes"),
    ("purepisces+Wenqing-Machine_Learning_Blog", "Machine-Learning-System-Design/ad-click-prediction.md",
     "ad_click_prediction", "long, prose and bullets"),
    ("purepisces+Wenqing-Machine_Learning_Blog", "Machine-Learning-System-Design/rental-search-ranking.md",
     "generic", "prose and bullets"),
    ("mokarakaya+machine-learning-and-python-notes",
     "machine_learning/ml-design/questions/002-design-an-eta-system-for-a-maps-app.md", "generic", "terse bullets"),
)
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


def floor_encoders(embedder: Any, sizes: tuple[int, ...]) -> dict[int, Callable[[list[str]], Any]]:
    """Plain ``SentenceTransformer.encode`` at each fixed batch size; none for the other backends."""
    from mlsd_grader.embeddings import SentenceTransformerEmbedder

    if not isinstance(embedder, SentenceTransformerEmbedder):
        return {}
    model = embedder.model

    def encoder(size: int) -> Callable[[list[str]], Any]:
        return lambda texts: model.encode(
            texts, batch_size=size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )

    return {size: encoder(size) for size in sizes}


def timed(work: Callable[..., Any], *args: Any) -> float:
    """Seconds taken by ``work(*args)``."""
    start = time.perf_counter()
    work(*args)
    return time.perf_counter() - start


def time_answer(
    grader: Any, rubric: Any, name: str, text: str, repeats: int, floor_sizes: tuple[int, ...]
) -> dict[str, Any]:
    """(a) the grader's encode, (b) a grade and (f) the floor's encodes of one answer, alternating."""
    embedder = grader.embedder
    sentences = answer_sentences(text)
    floors = floor_encoders(embedder, floor_sizes)
    # warm-up: rubric vectors, the step model, the caches of words and phrases
    grader.grade(text, rubric)
    if embedder is not None:
        embedder.encode(sentences)
    for encode in floors.values():
        encode(sentences)
    a_times: list[float] = []
    b_times: list[float] = []
    f_times: dict[int, list[float]] = {size: [] for size in floors}
    for r in range(repeats):  # all alternate, so a busy spell of the machine hits each
        if embedder is not None:
            a_times.append(timed(embedder.encode, sentences))
        b_times.append(timed(grader.grade, text + "\n" * (r + 1), rubric))
        for size, encode in floors.items():
            f_times[size].append(timed(encode, sentences))
    a_best = min(a_times) if a_times else None
    floor_size = min(f_times, key=lambda size: min(f_times[size])) if f_times else None
    floor_s = min(f_times[floor_size]) if floor_size is not None else None
    b_best = min(b_times)
    return {
        "answer": name,
        "words": len(text.split()),
        "sentences": len(sentences),
        "encode_s": a_best,
        "encode_median_s": statistics.median(a_times) if a_times else None,
        "grade_s": b_best,
        "grade_median_s": statistics.median(b_times),
        "ratio_encode": b_best / a_best if a_best else None,
        "floor_s": floor_s,
        "floor_batch_size": floor_size,
        "fixed_batch_s": {str(size): min(times) for size, times in f_times.items()},
        "ratio": b_best / floor_s if floor_s else None,
    }


def time_sizes(
    grader: Any, rubric: Any, lines: list[str], repeats: int, floor_sizes: tuple[int, ...]
) -> list[dict[str, Any]]:
    return [
        time_answer(grader, rubric, name, build_answer(words, lines), repeats, floor_sizes)
        for name, words in SIZES.items()
    ]


def read_real_answer(mirrors: Path, repo: str, path: str) -> str | None:
    """The file at HEAD of the read-only mirror ``mirrors/repo/repo``, or None if it is absent."""
    git_dir = mirrors / repo / "repo"
    if not git_dir.is_dir():
        return None
    proc = subprocess.run(
        ["git", "--git-dir", str(git_dir), "show", f"HEAD:{path}"], capture_output=True, check=False
    )
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", errors="replace")


def time_real_answers(
    grader: Any, mirrors: Path | None, repeats: int, floor_sizes: tuple[int, ...]
) -> tuple[list[dict[str, Any]], list[str]]:
    """time_answer on each of REAL_ANSWERS found in ``mirrors``; and the ones skipped."""
    from mlsd_grader import load_rubric

    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    if mirrors is None:
        return rows, skipped
    for repo, path, rubric_id, shape in REAL_ANSWERS:
        text = read_real_answer(mirrors, repo, path)
        name = f"{repo.split('+', 1)[1]}:{os.path.basename(path)}"
        if text is None:
            skipped.append(name)
            continue
        row = time_answer(grader, load_rubric(rubric_id), name, text, repeats, floor_sizes)
        rows.append(row | {"shape": shape, "rubric": rubric_id})
    return rows, skipped


def time_batch(
    grader: Any, rubric: Any, lines: list[str], n: int, repeats: int, floor_sizes: tuple[int, ...]
) -> dict[str, Any]:
    """Encode passes over the batch's sentences (the grader's own, and plain ``encode`` at each floor
    batch size) and the batch through grade_many, alternating, ``repeats`` times (a drift of the
    machine's speed hits all); the best of each is kept. Each repeat grades new texts (1, 2, ...
    trailing newlines), as in time_answer."""
    answers = [build_answer(SIZES["medium"], lines, offset=k * BATCH_STRIDE) for k in range(n)]
    sentences = [s for text in answers for s in answer_sentences(text)]
    embedder = grader.embedder
    floors = floor_encoders(embedder, floor_sizes)
    how = "Grader.grade_many" if hasattr(grader, "grade_many") else "Grader.grade in a loop"
    encode_times: list[float] = []
    batch_times: list[float] = []
    f_times: dict[int, list[float]] = {size: [] for size in floors}
    for r in range(repeats):
        if embedder is not None:
            encode_times.append(timed(embedder.encode, sentences))
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
        for size, encode in floors.items():
            f_times[size].append(timed(encode, sentences))
    encode_s = min(encode_times) if encode_times else None
    batch_s = min(batch_times)
    floor_size = min(f_times, key=lambda size: min(f_times[size])) if f_times else None
    floor_s = min(f_times[floor_size]) if floor_size is not None else None
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
        "ratio_encode": batch_s / encode_s if encode_s else None,
        "floor_s": floor_s,
        "floor_batch_size": floor_size,
        "fixed_batch_all_s": {str(size): times for size, times in f_times.items()},
        "ratio": batch_s / floor_s if floor_s else None,
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


def sizes_list(value: str) -> tuple[int, ...]:
    return tuple(int(part) for part in value.split(",") if part.strip())


def ratio_text(value: float | None) -> str:
    return f"{value:.3f}" if value is not None else "-"


def print_answers(rows: list[dict[str, Any]]) -> None:
    print(
        f"{'answer':<44} {'words':>6} {'sentences':>9} {'(a) encode':>11} {'(f) floor':>14} {'(b) grade':>10} "
        f"{'b/f':>6} {'b/a':>6}"
    )
    for row in rows:
        encode = f"{row['encode_s'] * 1000:.1f}ms" if row["encode_s"] is not None else "-"
        floor = (
            f"{row['floor_s'] * 1000:.1f}ms@{row['floor_batch_size']}" if row["floor_s"] is not None else "-"
        )
        print(
            f"{row['answer']:<44} {row['words']:>6} {row['sentences']:>9} {encode:>11} {floor:>14} "
            f"{row['grade_s'] * 1000:>8.1f}ms {ratio_text(row['ratio']):>6} {ratio_text(row['ratio_encode']):>6}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backend",
        default="sentence-transformers",
        choices=["sentence-transformers", "static", "none"],
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed runs per answer (best is kept)"
    )
    parser.add_argument("--batch", type=int, default=200, help="medium answers in the batch (0: no batch)")
    parser.add_argument(
        "--batch-repeats", type=int, default=2, help="encode passes and batches, alternating (best is kept)"
    )
    parser.add_argument("--cold-starts", type=int, default=3, help="CLI runs for the cold start")
    parser.add_argument(
        "--floor-sizes",
        type=sizes_list,
        default=FLOOR_BATCH_SIZES,
        help="fixed batch sizes whose fastest plain encode is the floor (comma-separated)",
    )
    parser.add_argument(
        "--real-answers",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder of read-only git mirrors (OWNER+NAME/repo) holding REAL_ANSWERS; absent ones are skipped",
    )
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
    sizes = time_sizes(grader, rubric, lines, args.repeats, args.floor_sizes)
    real, skipped = time_real_answers(grader, args.real_answers, args.repeats, args.floor_sizes)
    batch = (
        time_batch(grader, rubric, lines, args.batch, args.batch_repeats, args.floor_sizes) if args.batch else None
    )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    heavy = sorted(
        m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules
    )
    cold = time_cold_start(args.backend, lines, args.cold_starts)

    print(
        f"backend {args.backend} ({grader.signature_without_rubric().split('|')[1]}), rubric {QUESTION}, "
        f"best of {args.repeats}; floor: fastest plain encode at batch sizes "
        f"{', '.join(map(str, args.floor_sizes))}"
    )
    print_answers(sizes)
    if args.real_answers is not None:
        print(f"real answers from {args.real_answers} (each against its rubric, see REAL_ANSWERS):")
        print_answers(real)
        for name in skipped:
            print(f"  skipped (not found): {name}")
    if batch is not None:
        floor_pass = (
            f"; plain encode pass at its best batch size {batch['floor_batch_size']}: {batch['floor_s']:.2f} s, "
            f"ratio {ratio_text(batch['ratio'])}"
            if batch["floor_s"] is not None
            else ""
        )
        encode_pass = (
            f"; the grader's encode pass over their {batch['sentences']} sentences {batch['encode_s']:.2f} s, "
            f"ratio {ratio_text(batch['ratio_encode'])}"
            if batch["encode_s"] is not None
            else ""
        )
        print(
            f"batch of {batch['answers']} medium answers ({batch['how']}, best of {batch['repeats']}): "
            f"{batch['batch_s']:.2f} s, {batch['answers_per_s']:.2f} answers/s{encode_pass}{floor_pass}"
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
        for row in sizes + real:
            print(
                f"  b/f {row['answer']} {ratio_text(row['ratio'])} <= {TARGET_FLOOR_RATIO}: "
                f"{verdict(row['ratio'], TARGET_FLOOR_RATIO)}"
            )
        for row in (medium, long_):
            print(
                f"  b/a {row['answer']} {ratio_text(row['ratio_encode'])} <= {TARGET_RATIO}: "
                f"{verdict(row['ratio_encode'], TARGET_RATIO)}"
            )
        if batch is not None:
            print(
                f"  batch/floor {ratio_text(batch['ratio'])} <= {TARGET_BATCH_FLOOR_RATIO}: "
                f"{verdict(batch['ratio'], TARGET_BATCH_FLOOR_RATIO)}"
            )
            print(
                f"  batch/encode {ratio_text(batch['ratio_encode'])} <= {TARGET_BATCH_RATIO}: "
                f"{verdict(batch['ratio_encode'], TARGET_BATCH_RATIO)}"
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
            "floor_sizes": list(args.floor_sizes),
            "sizes": sizes,
            "real_answers": real,
            "real_answers_skipped": skipped,
            "batch": batch,
            "peak_mib": peak_mib,
            "heavy_modules": heavy,
            "cold_start": cold,
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
