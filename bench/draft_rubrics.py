"""Drafted rubrics on real answers that other people wrote (issue 16).

For every dev real answer to a bundled question (labels in bench/real_answers/, texts read from the
read-only git mirrors in MIRRORS, never copied), a rubric is drafted from that answer alone, with the
bundled rubric's title and question. Then, for every question with two or more dev answers, each of its
answers is graded against the rubric drafted from each other answer of the question, and against the
rubrics drafted from every answer to another question: a case holds when the same question's draft
scores it above every other question's draft. Beside it, the answer's score against the hand-written
bundled rubric of its question.

    python bench/draft_rubrics.py MIRRORS [--backend NAME] [--split dev|heldout|all]

Without MIRRORS, or when it holds none of the mirrors, it says so and exits 0.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labelled import real_answers

# The target: the same question's draft ranks first in at least this share of the cases.
TARGET_SHARE = 0.9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mirrors", type=Path, nargs="?", default=None, help="folder of owner+name/repo git mirrors")
    parser.add_argument("--backend", default="sentence-transformers")
    parser.add_argument("--split", choices=("dev", "heldout", "all"), default="dev")
    args = parser.parse_args(argv)
    if args.mirrors is None or not args.mirrors.is_dir():
        print("no mirror folder given (or not a directory): nothing measured")
        return 0
    splits = ("dev", "heldout") if args.split == "all" else (args.split,)
    answers = [a for a in real_answers(args.mirrors, splits) if a.question]
    if not answers:
        print(f"no real answers found under {args.mirrors}: nothing measured")
        return 0

    import numpy as np

    from mlsd_grader import Grader, GraderConfig, load_rubric
    from mlsd_grader.draft import draft_rubric

    grader = Grader(GraderConfig(backend=args.backend))
    drafts = {}
    for a in answers:
        bank = load_rubric(a.question)
        drafts[a.name] = draft_rubric([a.text], id="draft", title=bank.title, question=bank.question,
                                      grader=grader, sources=[a.name]).rubric
    question_of = {a.name: a.question for a in answers}
    by_question: dict[str, list] = defaultdict(list)
    for a in answers:
        by_question[a.question].append(a)
    multi = {q for q, group in by_question.items() if len(group) >= 2}
    print(f"{len(answers)} answers to {len(by_question)} questions drafted ({args.split}, {args.backend}); "
          f"{len(multi)} questions with two or more answers")
    print(f"{'graded answer':<40} {'drafted from':<40} {'draft':>6} {'other A':>7} {'other B':>7} {'bank':>6}  best draft of another question (A)")
    rows = []
    for question in sorted(multi):
        for graded in by_question[question]:
            scores = {name: grader.grade(graded.text, rubric).score for name, rubric in drafts.items()
                      if name != graded.name}
            bank = grader.grade(graded.text, question).score
            # A: the drafts of the questions measured here; B: the drafts of every answer to another question
            pool_a = {n: s for n, s in scores.items() if question_of[n] != question and question_of[n] in multi}
            best_a = max(pool_a, key=lambda n: (pool_a[n], n))
            other_a = pool_a[best_a]
            other_b = max(s for n, s in scores.items() if question_of[n] != question)
            same_author = best_a.split(":")[0] == graded.name.split(":")[0]
            for source in by_question[question]:
                if source.name != graded.name:
                    own = scores[source.name]
                    rows.append((own, other_a, other_b, bank, same_author))
                    print(f"{graded.name[:40]:<40} {source.name[:40]:<40} {own:>6.3f} {other_a:>7.3f} {other_b:>7.3f}"
                          f" {bank:>6.3f}  {best_a[:40]}")
    if not rows:
        print("no question has two answers: nothing measured")
        return 0
    for label, column in (("A (drafts of these questions)", 1), ("B (drafts of every other answer)", 2)):
        hits = sum(r[0] > r[column] for r in rows)
        share = hits / len(rows)
        margin = min(r[0] - r[column] for r in rows)
        print(f"same question's draft first, pool {label}: {hits} of {len(rows)} ({share:.0%}; target "
              f"{TARGET_SHARE:.0%}: {'met' if share >= TARGET_SHARE else 'MISSED'}); smallest margin {margin:+.3f}")
    missed = [r for r in rows if r[0] <= r[1]]
    print(f"of the {len(missed)} cases missed in pool A, {sum(r[4] for r in missed)} lose to a draft from the same "
          "author's answer to another question")
    mean_draft = sum(r[0] for r in rows) / len(rows)
    mean_bank = sum(r[3] for r in rows) / len(rows)
    print(f"mean score of the graded answers: drafted rubric {mean_draft:.3f}, bundled rubric {mean_bank:.3f}; "
          f"Pearson between them {np.corrcoef([r[0] for r in rows], [r[3] for r in rows])[0, 1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
