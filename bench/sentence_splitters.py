"""Sentence splitters compared inside the grader: the one text.py uses (sentencex) and the others
measured when it was chosen (docs/benchmarks.md, "Sentence splitter").

Each candidate stands in for ``text._sentence_cuts`` (the only place the splitter is called), behind
the same line handling: lines split first, canonical lines (lower-cased, blanks folded), a numbered
item's number kept with its text. Candidates other than sentencex are not dependencies: install them
to measure them (``pip install pysbd blingfire nupunkt syntok``).

    python bench/sentence_splitters.py lines [--mirror DIR:GLOB ...]     # split time, tricky lines,
                                                                         # sentences against sentencex
    python bench/sentence_splitters.py run NAME SCRIPT [ARGS ...]        # another bench script with
                                                                         # candidate NAME, e.g.
    python bench/sentence_splitters.py run nupunkt bench/segmentation_accuracy.py --backend static

``--mirror`` reads markdown answers from a bare git repository (``git --git-dir DIR show HEAD:PATH``),
so that texts written by others are measured without being copied.
"""

from __future__ import annotations

import argparse
import fnmatch
import runpy
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
Cuts = Callable[[str], list[int]]

# Lines with the cases a splitter must get right in an answer; " | " marks the expected boundaries.
TRICKY = [
    "We use e.g. nDCG@10 and A/B tests. | Is the p99 latency low? | Then we deploy v2.1 to 5% of users.",
    "Pick a threshold, i.e. 0.5 for now. | Compare ranking vs. retrieval. | Then ship.",
    "See https://example.com/a.b?x=1 for it. | It explains the setup.",
    "Also www.foo.org/index.html works. | Next.",
    "- Use a two-tower model (e.g., DSSM). | Train it daily.",
    "Call `model.fit(X, y)` first. | Then `model.predict(X)`.",
    "The U.S. market is large. | We start there.",
    "1. Collect logs. | Train the model.",
    "Latency must be under 100 ms. | Throughput is 10k QPS! | Why? | Scale.",
    "Accuracy is 97.5%. | Recall is 0.82.",
    "Use approx. 3 GPUs. | Fine.",
    "Train with Adam (lr=1e-3). | Evaluate on a holdout set.",
    "Dr. Smith et al. proposed it in Fig. 3. | We follow them.",
]


def _from_pieces(pieces: Callable[[str], list[str]]) -> Cuts:
    """Cuts from a splitter that returns sentence strings: each found in the line after the last."""

    def cuts(line: str) -> list[int]:
        starts, pos = [], 0
        for piece in map(str.strip, pieces(line)):
            found = line.find(piece, pos) if piece else -1
            if found < 0:
                continue
            starts.append(found)
            pos = found + len(piece)
        return starts[1:]

    return cuts


def _cased(line: str) -> str:
    """The canonical line in capitals, for splitters that only end a sentence before a capital."""
    upper = line.upper()
    return upper if len(upper) == len(line) else line


def candidates() -> dict[str, Callable[[], Cuts]]:
    def sentencex_() -> Cuts:
        import sentencex

        return lambda line: [b["end_index"] for b in sentencex.get_sentence_boundaries("en", line)[:-1]]

    def pysbd_() -> Cuts:
        import pysbd

        seg = pysbd.Segmenter(language="en", clean=False)
        return _from_pieces(lambda line: [str(s) for s in seg.segment(line)])

    def blingfire_() -> Cuts:
        import blingfire

        return lambda line: [e for _, e in blingfire.text_to_sentences_and_offsets(_cased(line))[1][:-1]]

    def nupunkt_() -> Cuts:
        import nupunkt

        return lambda line: [e for _, e in nupunkt.sent_spans(line)[:-1]]

    def syntok_() -> Cuts:
        from syntok import segmenter

        def cuts(line: str) -> list[int]:
            starts = [s[0].offset for p in segmenter.analyze(_cased(line)) for s in p]
            return [s for s in starts if s > 0]

        return cuts

    # pysbd first: its sentences are those of the stand-ins text.py had before, the reference below
    return {"pysbd": pysbd_, "sentencex": sentencex_, "blingfire": blingfire_, "nupunkt": nupunkt_,
            "syntok": syntok_}


def use(name: str) -> None:
    """Make text.py split with candidate ``name``, behind its own line handling."""
    from mlsd_grader import text

    inner = candidates()[name]()

    def cuts(canon: str) -> list[int]:
        item = text._ITEM_NUMBER.match(canon)
        skip = item.end() if item else 0
        return [skip + c for c in inner(canon[skip:])]

    text._sentence_cuts = cuts  # type: ignore[assignment]  # our own module, for this benchmark only
    text.rubric_sentences.cache_clear()


def _sentences(text_: str) -> list[str]:
    from mlsd_grader.text import split_sentences

    return [text_[s.start : s.end] for s in split_sentences(text_)]


def mirror_texts(spec: str) -> list[str]:
    directory, pattern = spec.split(":", 1)
    names = subprocess.run(["git", "--git-dir", directory, "ls-tree", "-r", "--name-only", "HEAD"],
                           check=True, capture_output=True, text=True).stdout.split("\n")
    return [subprocess.run(["git", "--git-dir", directory, "show", f"HEAD:{n}"], check=True,
                           capture_output=True, text=True).stdout
            for n in sorted(names) if fnmatch.fnmatch(n, pattern)]


def lines_report(mirrors: list[str]) -> None:
    examples = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "examples").glob("*/*.md"))]
    sets = {"examples": examples} | {Path(m.split(":")[0]).parent.name: mirror_texts(m) for m in mirrors}
    reference: dict[str, list[list[str]]] = {}
    for name in candidates():
        try:
            use(name)
        except ImportError:
            print(f"{name}: not installed")
            continue
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for t in examples:
                _sentences(t)
            best = min(best, time.perf_counter() - start)
        right = sum(_sentences(line.replace(" | ", " ")) == line.split(" | ") for line in TRICKY)
        print(f"{name}: examples split in {best * 1000:.1f} ms; tricky lines right {right}/{len(TRICKY)}")
        for set_name, texts in sets.items():
            got = [_sentences(t) for t in texts]
            reference.setdefault(set_name, got)
            ref = reference[set_name]
            n = sum(map(len, got))
            differ = sum(len(set(g) - set(r)) for g, r in zip(got, ref))
            print(f"  {set_name}: {len(texts)} texts, {n} sentences, {differ / max(1, n):.1%} of them not "
                  f"among the first candidate's")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    lines = sub.add_parser("lines")
    lines.add_argument("--mirror", action="append", default=[], help="GIT_DIR:GLOB of markdown answers")
    run = sub.add_parser("run")
    run.add_argument("name", choices=list(candidates()))
    run.add_argument("script", type=Path)
    run.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command == "lines":
        lines_report(args.mirror)
        return 0
    use(args.name)
    sys.argv = [str(args.script), *args.args]
    runpy.run_path(str(args.script), run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
