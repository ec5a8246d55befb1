"""How far each backend's scores sit from the default backend's, on the examples and the real dev answers.

Every answer is graded against its own rubric (an example against its question's; a real answer
against its question's, else ``generic``) with the default model, the static backend and keywords
alone. Printed per backend against the default: the mean absolute difference of the overall score,
the share of answers in the same band, and the same two on each answer set separately.

    python bench/backend_scale.py [--mirrors /work/.mirror] [--split dev|heldout|all]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from labelled import DEFAULT_MIRRORS, real_answers

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("sentence-transformers", "static", "none")


def answer_set(mirrors: Path, split: str) -> list[tuple[str, str, str, str]]:
    """(set, name, text, rubric id) for the examples and the labelled real answers of ``split``."""
    out = [("examples", f"{p.parent.name}/{p.stem}", p.read_text(encoding="utf-8"), p.parent.name)
           for p in sorted((ROOT / "examples").glob("*/*.md"))]
    splits = ("dev", "heldout") if split == "all" else (split,)
    out += [("real", a.name, a.text, a.question or "generic") for a in real_answers(mirrors, splits)]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS)
    parser.add_argument("--split", choices=("dev", "heldout", "all"), default="dev")
    args = parser.parse_args(argv)

    from mlsd_grader import Grader, GraderConfig

    answers = answer_set(args.mirrors, args.split)
    if not any(kind == "real" for kind, *_ in answers):
        print(f"(no real answers: mirrors not found under {args.mirrors}; examples only)")
    scores: dict[str, list[float]] = {}
    bands: dict[str, list[str]] = {}
    for backend in BACKENDS:
        grader = Grader(GraderConfig(backend=backend))
        reports = [grader.grade(text, rubric) for _, _, text, rubric in answers]
        scores[backend] = [r.score for r in reports]
        bands[backend] = [r.band for r in reports]
    default = np.array(scores[BACKENDS[0]])
    print(f"{'backend':>10} | {'set':>8} | n | mean abs diff | same band")
    for backend in BACKENDS[1:]:
        for which in ("all", "examples", "real"):
            rows = [i for i, (kind, *_) in enumerate(answers) if which in ("all", kind)]
            if not rows:
                continue
            diff = np.abs(np.array(scores[backend])[rows] - default[rows])
            same = np.mean([bands[backend][i] == bands[BACKENDS[0]][i] for i in rows])
            print(f"{backend:>10} | {which:>8} | {len(rows)} | {diff.mean():.4f} | {same:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
