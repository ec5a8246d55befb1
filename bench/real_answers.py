"""Segmentation and scoring on real answers that other people wrote (labels in bench/real_answers/).

The texts are read from read-only git mirrors (``--mirrors DIR``, default /work/.mirror or
MLSD_GRADER_MIRRORS); without them the script says so and exits 0. For each answer of the chosen split:

- character accuracy of the segmentation as written, with headings removed, and with headings renamed to
  unusual but clear names (bench/labelled.py);
- the overall score against the answer's own rubric (its question's, else ``generic``) in the three
  forms, and the mean absolute change;
- steps with at least 200 characters of their own (labelled) content that score 0;
- for answers to a bundled question: the rank of their own rubric among the ten question rubrics;
- the band of every answer.

    python bench/real_answers.py [--split dev|heldout|all] [--backend NAME] [--mirrors DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labelled import (  # noqa: E402
    DEFAULT_MIRRORS, char_accuracy, gold_answers, own_content, real_answers, rename_headings, strip_headings,
)

QUESTION_RUBRICS = (
    "ad_click_prediction", "event_recommendation", "harmful_content_detection", "news_feed",
    "people_you_may_know", "similar_listings", "street_view_blurring", "video_recommendation", "video_search",
    "visual_search",
)
# A step with at least this many characters of its own content must not score 0 (the measure).
OWN_CONTENT_CHARS = 200


def main(argv: list[str] | None = None) -> int:
    from mlsd_grader import Grader, GraderConfig

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "heldout", "all"), default="dev")
    parser.add_argument("--backend", default="sentence-transformers")
    parser.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS)
    parser.add_argument("--no-scores", action="store_true", help="segmentation only (fast)")
    args = parser.parse_args(argv)
    splits = ("dev", "heldout") if args.split == "all" else (args.split,)
    answers = real_answers(args.mirrors, splits)
    if not answers:
        print(f"no real answers found under {args.mirrors}: nothing measured")
        return 0
    grader = Grader(GraderConfig(backend=args.backend))

    def seg_totals(items: list) -> tuple[float, float, float]:
        out = []
        for form in (lambda a: a, strip_headings, rename_headings):
            hits = total = 0
            for a in items:
                b = form(a)
                h, n = char_accuracy(b, grader.segment(b.text))
                hits, total = hits + h, total + n
            out.append(hits / max(1, total))
        return out[0], out[1], out[2]

    print(f"split {args.split}, backend {args.backend}, {len(answers)} answers")
    print(f"\n{'answer':<44} {'shape':<9} {'seg':>5} {'strip':>5} {'renam':>5}", end="")
    print("" if args.no_scores else f" {'score':>6} {'Δstrip':>7} {'Δren':>6} {'band':<12} {'zero':<6} rank", end="")
    print()
    d_strip, d_ren, zero_steps, ranks = [], [], [], []
    for a in answers:
        seg = [char_accuracy(f(a), grader.segment(f(a).text)) for f in (lambda x: x, strip_headings, rename_headings)]
        line = f"{a.name[:44]:<44} {a.shape:<9} " + " ".join(f"{h / max(1, n):>5.3f}" for h, n in seg)
        if not args.no_scores:
            rubric = a.question or "generic"
            report = grader.grade(a.text, rubric)
            s_strip = grader.grade(strip_headings(a).text, rubric).score
            s_ren = grader.grade(rename_headings(a).text, rubric).score
            d_strip.append(abs(s_strip - report.score))
            d_ren.append(abs(s_ren - report.score))
            content = own_content(a)
            zeros = [s.id for s in report.steps if s.score == 0 and content.get(s.id, 0) >= OWN_CONTENT_CHARS]
            zero_steps.extend((a.name, z) for z in zeros)
            rank = ""
            if a.question in QUESTION_RUBRICS:
                scores = {r: grader.grade(a.text, r).score for r in QUESTION_RUBRICS}
                order = sorted(scores, key=lambda r: -scores[r])
                ranks.append(order.index(a.question) + 1)
                rank = str(ranks[-1]) + ("" if ranks[-1] == 1 else f" ({order[0]})")
            line += (f" {report.score:>6.3f} {s_strip - report.score:>+7.3f} {s_ren - report.score:>+6.3f} "
                     f"{report.band:<12} {','.join(zeros) or '-':<6} {rank}")
        print(line, flush=True)
    groups = {"all": answers}
    for shape in sorted({a.shape for a in answers}):
        groups[shape] = [a for a in answers if a.shape == shape]
    print(f"\n{'characters pooled':<30} {'n':>3} {'headed':>7} {'stripped':>8} {'renamed':>8}")
    for name, items in groups.items():
        w, s, r = seg_totals(items)
        print(f"{name:<30} {len(items):>3} {w:>7.3f} {s:>8.3f} {r:>8.3f}")
    if args.split in ("dev", "all"):
        w, s, r = seg_totals(gold_answers())
        print(f"{'own gold set':<30} {14:>3} {w:>7.3f} {s:>8.3f} {r:>8.3f}")
    if not args.no_scores:
        print(f"\nmean |score change|: headings removed {sum(d_strip) / len(d_strip):.4f}, "
              f"renamed {sum(d_ren) / len(d_ren):.4f}")
        print(f"steps with >= {OWN_CONTENT_CHARS} chars of own content scoring 0: {len(zero_steps)} {zero_steps}")
        if ranks:
            print(f"own rubric ranked first: {sum(r == 1 for r in ranks)} of {len(ranks)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
