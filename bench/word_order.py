"""The word-order checks (mlsd_grader.integrity) on real answers and on shuffled ones.

Real texts: every SAF answer and reference answer (../shared/data/saf_en), the bundled examples, the
held-out answers, the gold segmentation answers and the rubrics' model answers. Shuffled texts: every
strong answer (examples/*/strong*.md and tests/heldout) with its words shuffled within each line, headings
kept, for --seeds seeds each (as tests/test_robustness.py shuffles them). Prints, for each view, the
extremes of both sides where the view judges, and how many texts get a fluency factor under 1. Then the
short end of real prose: excerpts of the real texts but SAF's (which are short already), from every
other line the shortest run of lines that the word-pair view judges, and how many of them it would
penalise; with --gates, the same for other gates (what chose MIN_EXPECTED_BIGRAMS).

    python bench/word_order.py [--seeds 30] [--gates 40 60 80]
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


def gate_excerpts(texts: dict[str, str], gates: list[float]) -> dict[float, list[tuple[float, str]]]:
    """For each gate, (z, name) of every excerpt: from every other line of each text, the shortest run
    of lines whose shuffles expect at least the gate's known pairs."""
    from mlsd_grader.integrity import order_score

    found: dict[float, list[tuple[float, str]]] = {gate: [] for gate in gates}
    ordered = sorted(gates)
    for name, text in texts.items():
        lines = text.split("\n")
        for start in range(0, len(lines), 2):
            g, end = 0, start + 1
            while g < len(ordered) and end <= len(lines):
                z, expected = order_score("\n".join(lines[start:end]))
                while g < len(ordered) and expected >= ordered[g]:
                    found[ordered[g]].append((z, f"{name} lines {start + 1}-{end}"))
                    g += 1
                end += 1
    return found


def extremes(values: list[tuple[float, str]], n: int = 3) -> str:
    return ", ".join(f"{v:.3f} ({k})" for v, k in values[:n])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--gates", type=float, nargs="*", default=[], help="other gates to measure excerpts at")
    args = parser.parse_args(argv)
    from mlsd_grader.integrity import (
        MIN_EXPECTED_BIGRAMS,
        MIN_FUNCTION_WORDS,
        ORDER_FLUENT_Z,
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
    prose = {k: t for k, t in real.items() if not k.startswith("saf")}
    for gate, found in sorted(gate_excerpts(prose, sorted({MIN_EXPECTED_BIGRAMS, *args.gates})).items()):
        found.sort()
        mark = " (MIN_EXPECTED_BIGRAMS)" if gate == MIN_EXPECTED_BIGRAMS else ""
        print(f"real excerpts at gate {gate:g}{mark}: {len(found)}, {sum(z < ORDER_FLUENT_Z for z, _ in found)} "
              f"under ORDER_FLUENT_Z; lowest: {extremes(found)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
