"""Agreement with human graders on SAF (English), beside the baseline the issue names.

Each record is graded against a rubric built from its question and reference answer
(Rubric.from_reference). The baseline is the MiniLM cosine between the whole answer and the whole
reference plus the share of the reference's distinct lower-case words that the answer contains.
Both get Pearson with bootstrap 95% confidence intervals (1,000 resamples, fixed seed).

    python bench/agreement.py [--data ../shared/data/saf_en] [--splits unseen_answers unseen_questions]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BOOTSTRAP = 1000
SEED = 7


def pearson_ci(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    rng = np.random.default_rng(SEED)
    point = float(np.corrcoef(x, y)[0, 1])
    samples = []
    for _ in range(BOOTSTRAP):
        idx = rng.integers(0, len(x), len(x))
        if np.ptp(x[idx]) > 0 and np.ptp(y[idx]) > 0:
            samples.append(np.corrcoef(x[idx], y[idx])[0, 1])
    lo, hi = np.percentile(samples, [2.5, 97.5])
    return point, float(lo), float(hi)


def main(argv: list[str] | None = None) -> int:
    from mlsd_grader import Grader, GraderConfig, Rubric

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "saf_en")
    parser.add_argument("--splits", nargs="+", default=["unseen_answers", "unseen_questions"])
    parser.add_argument("--backend", default="sentence-transformers")
    args = parser.parse_args(argv)
    grader = Grader(GraderConfig(backend=args.backend))
    baseline_encoder = Grader().embedder
    for split in args.splits:
        rows = [json.loads(line) for line in (args.data / f"{split}.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
        rubrics: dict[tuple[str, str], Rubric] = {}
        ours, base, human = [], [], []
        for row in rows:
            key = (row["question"], row["reference_answer"])
            if key not in rubrics:
                rubrics[key] = Rubric.from_reference(*key)
            ours.append(grader.grade(row["answer"], rubrics[key]).score)
            human.append(row["score"] / row.get("max_score", 1.0))
        assert baseline_encoder is not None
        answers = baseline_encoder.encode([r["answer"] for r in rows])
        references = baseline_encoder.encode([r["reference_answer"] for r in rows])
        for row, a, r in zip(rows, answers, references):
            ref_words = set(re.findall(r"\w+", row["reference_answer"].lower()))
            ans_words = set(re.findall(r"\w+", row["answer"].lower()))
            base.append(float(a @ r) + len(ref_words & ans_words) / max(1, len(ref_words)))
        y = np.array(human)
        for name, x in (("mlsd_grader", np.array(ours)), ("baseline", np.array(base))):
            p, lo, hi = pearson_ci(x, y)
            print(f"{split:<18} n={len(rows):<4} {name:<12} Pearson {p:.3f}  95% CI [{lo:.3f}, {hi:.3f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
