"""Character accuracy of the segmenter on the gold set in tests/gold/segmentation.

Every character of a gold answer carries its true step (or none). Accuracy is the share of characters
whose predicted step equals the true one; whitespace-only characters are not counted. Measured on each
answer as written and with its headings and labels stripped.

    python bench/segmentation_accuracy.py [--backend sentence-transformers|none]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

GOLD_DIR = Path(__file__).resolve().parent.parent / "tests" / "gold" / "segmentation"


def load_gold(path: Path, *, strip_headings: bool) -> tuple[str, list[str | None]]:
    """The answer text and each character's true step."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    text, labels = [], []
    for seg in data["segments"]:
        part = seg["body"] if strip_headings else (seg["heading"] or "") + seg["body"]
        text.append(part)
        labels.extend([seg["step"]] * len(part))
    return "".join(text), labels


def char_accuracy(text: str, gold: list[str | None], sections: list) -> float:
    predicted: list[str | None] = [None] * len(text)
    for s in sections:
        for i in range(s.start, s.end):
            predicted[i] = s.step
    counted = [i for i, ch in enumerate(text) if not ch.isspace()]
    return sum(predicted[i] == gold[i] for i in counted) / max(1, len(counted))


def measure(grader, *, strip_headings: bool) -> dict[str, float]:
    """Accuracy per gold file, plus 'overall' (characters pooled over all files)."""
    out: dict[str, float] = {}
    hits = total = 0
    for path in sorted(GOLD_DIR.glob("*.yaml")):
        text, gold = load_gold(path, strip_headings=strip_headings)
        acc = char_accuracy(text, gold, grader.segment(text))
        n = sum(1 for ch in text if not ch.isspace())
        hits += acc * n
        total += n
        out[path.stem] = acc
    out["overall"] = hits / max(1, total)
    return out


def main(argv: list[str] | None = None) -> int:
    from mlsd_grader import Grader, GraderConfig

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="sentence-transformers")
    args = parser.parse_args(argv)
    grader = Grader(GraderConfig(backend=args.backend))
    with_h = measure(grader, strip_headings=False)
    without = measure(grader, strip_headings=True)
    print(f"{'gold answer':<34} {'headings':>9} {'stripped':>9}")
    for name in with_h:
        print(f"{name:<34} {with_h[name]:>9.3f} {without[name]:>9.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
