"""How often an answer's own rubric ranks first among the ten question rubrics.

Run on the held-out strong answers in tests/heldout (written in a different structure and vocabulary
from the examples, never used to tune anything) and on the examples' strong answers.

    python bench/rubric_discrimination.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def ranks(grader, answers: list[Path]) -> list[tuple[str, int, float, float]]:
    """(question, rank of its own rubric, own score, best other score) per answer."""
    from mlsd_grader.rubric import bundled_rubric_ids

    questions = [r for r in bundled_rubric_ids() if r != "generic"]
    out = []
    for path in answers:
        question = path.stem if path.parent.name == "heldout" else path.parent.name
        text = path.read_bytes()
        scores = {q: grader.grade(text, q).score for q in questions}
        order = sorted(scores, key=lambda q: -scores[q])
        best_other = max(v for q, v in scores.items() if q != question)
        out.append((question, order.index(question) + 1, scores[question], best_other))
    return out


def main() -> int:
    from mlsd_grader import Grader

    grader = Grader()
    for name, answers in (
        ("held-out strong answers (tests/heldout)", sorted((ROOT / "tests" / "heldout").glob("*.md"))),
        ("example strong answers (examples/*/strong.md)", sorted((ROOT / "examples").glob("*/strong.md"))),
    ):
        rows = ranks(grader, answers)
        first = sum(1 for _, rank, _, _ in rows if rank == 1)
        print(f"{name}: own rubric ranks first for {first} of {len(rows)}")
        for question, rank, own, other in rows:
            print(f"  {question:<28} rank {rank:>2}  own {own:.3f}  best other {other:.3f}  margin {own - other:+.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
