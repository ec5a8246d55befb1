"""The word-order checks (mlsd_grader.integrity) on real answers and on shuffled ones.

Real texts: every SAF answer and reference answer (../shared/data/saf_en), the bundled examples, the
held-out answers, the gold segmentation answers and the rubrics' model answers. Shuffled texts: every
strong answer (examples/*/strong*.md and tests/heldout) with its words shuffled within each line, headings
kept, for --seeds seeds each (as tests/test_robustness.py shuffles them). Prints, for each view, the
extremes of both sides where the view judges, and how many texts get a fluency factor under 1.

    python bench/word_order.py [--seeds 10]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SAF = ROOT.parent / "shared" / "data" / "saf_en"


def shuffled_within_lines(text: str, seed: int) -> str:
    rng = random.Random(seed)
    out = []
    for line in text.split("\n"):
        if line.lstrip().startswith("#"):
            out.append(line)
            continue
        words = line.split()
        rng.shuffle(words)
        out.append(" ".join(words))
    return "\n".join(out)


def real_texts() -> dict[str, str]:
    from mlsd_grader import load_rubric
    from mlsd_grader.rubric import bundled_rubric_ids

    texts: dict[str, str] = {}
    for path in sorted(SAF.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            texts[f"saf:{record['id']}"] = record["answer"]
            texts[f"saf-reference:{record['question_id']}"] = record["reference_answer"]
    for path in sorted((ROOT / "examples").glob("*/*.md")) + sorted((ROOT / "tests" / "heldout").glob("*.md")):
        texts[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
    for path in sorted((ROOT / "tests" / "gold" / "segmentation").glob("*.yaml")):
        gold = yaml.safe_load(path.read_text(encoding="utf-8"))
        texts[str(path.relative_to(ROOT))] = "\n\n".join(
            (f"## {s['heading']}\n" if s.get("heading") else "") + s["body"] for s in gold["segments"]
        )
    for rubric_id in bundled_rubric_ids():
        rubric = load_rubric(rubric_id)
        texts[f"rubric:{rubric_id}"] = "\n".join(c.model_answer for s in rubric.steps for c in s.criteria)
    return texts


def shuffled_texts(seeds: int) -> dict[str, str]:
    strong = sorted((ROOT / "examples").glob("*/strong*.md")) + sorted((ROOT / "tests" / "heldout").glob("*.md"))
    return {
        f"{path.relative_to(ROOT)}#{seed}": shuffled_within_lines(path.read_text(encoding="utf-8"), seed)
        for path in strong
        for seed in range(seeds)
    }


def extremes(values: list[tuple[float, str]], n: int = 3) -> str:
    return ", ".join(f"{v:.3f} ({k})" for v, k in values[:n])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args(argv)
    from mlsd_grader.integrity import (
        MIN_EXPECTED_BIGRAMS,
        MIN_FUNCTION_WORDS,
        anomaly_rate,
        fluency_factor,
        order_score,
    )

    real, fake = real_texts(), shuffled_texts(args.seeds)
    for name, texts in (("real", real), ("shuffled", fake)):
        rates = sorted(((r, k) for k, t in texts.items() for r, n in [anomaly_rate(t)] if n >= MIN_FUNCTION_WORDS),
                       reverse=name == "real")
        scores = sorted(((z, k) for k, t in texts.items() for z, e in [order_score(t)] if e >= MIN_EXPECTED_BIGRAMS),
                        reverse=name == "shuffled")
        factors = [fluency_factor(t) for t in texts.values()]
        worst = "highest" if name == "real" else "lowest"
        print(f"{name}: {len(texts)} texts")
        print(f"  function-word anomaly rate, {len(rates)} judged; {worst}: {extremes(rates)}")
        best = "lowest" if name == "real" else "highest"
        print(f"  English word-pair z, {len(scores)} judged; {best}: {extremes(scores)}")
        print(f"  fluency factor: {sum(f < 1 for f in factors)} under 1, {sum(f <= 0.5 for f in factors)} at most 0.5, "
              f"{sum(f == 0 for f in factors)} at 0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
