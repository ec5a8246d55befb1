"""Choose STEP_WEIGHT_FLOOR and STEP_WEIGHT_FULL (grader.py), how a sentence's
probability of a step turns into the weight its evidence carries for that step, and GIST_FULL_WEIGHT
(similarity.py), the weight from which the gist view counts in full.

For each setting, on the dev real answers (bench/real_answers, texts from the mirrors) and the bundled
examples: the mean absolute score change when headings are removed and when they are renamed, the
answers to a bundled question whose own rubric ranks first, and the examples' tiers (strong minus weak,
and whether strong > middling > weak holds for every question), and the gaming check: each strong
example without one of its sections (the step's score after over before, at most and on average, and
the largest change of another step).

    python bench/step_weights.py [--backend static] [--mirrors DIR]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labelled import DEFAULT_MIRRORS, real_answers, rename_headings, strip_headings  # noqa: E402
from real_answers import QUESTION_RUBRICS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# (STEP_WEIGHT_FLOOR, STEP_WEIGHT_FULL, GIST_FULL_WEIGHT)
SETTINGS = [(0.1, 0.5, 0.0), (0.1, 0.5, 1.0), (0.1, 0.5, 2.0), (0.3, 0.7, 2.0), (0.3, 0.9, 2.0), (0.3, 1.0, 2.0)]
_SECTION = re.compile(r"^## .*$", re.MULTILINE)


def removals(grader, examples):  # type: ignore[no-untyped-def]
    """For each strong example and each of its '## ' sections whose step no other section has: the step's
    score without the section over its score with it, and the largest change of another step."""
    ratios, others = [], []
    for path, text in examples.items():
        if path.stem != "strong":
            continue
        full = grader.grade(text, path.parent.name)
        steps = {s.heading: s.step for s in full.sections if s.heading and s.step}
        before = {s.id: s.score for s in full.steps}
        heads = [m for m in _SECTION.finditer(text)]
        for k, m in enumerate(heads):
            step = steps.get(m.group()[3:].strip())
            if step is None or list(steps.values()).count(step) > 1:
                continue
            end = heads[k + 1].start() if k + 1 < len(heads) else len(text)
            after = {s.id: s.score for s in grader.grade(text[: m.start()] + text[end:], path.parent.name).steps}
            ratios.append(after[step] / max(before[step], 1e-9))
            others.append(max(abs(after[o] - before[o]) for o in before if o != step))
    return max(ratios), sum(ratios) / len(ratios), max(others)


def main(argv: list[str] | None = None) -> int:
    from mlsd_grader import Grader, GraderConfig
    from mlsd_grader import grader as grader_module
    from mlsd_grader import similarity

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="static")
    parser.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS)
    args = parser.parse_args(argv)
    answers = real_answers(args.mirrors, ("dev",))
    examples = {p: p.read_text(encoding="utf-8") for p in sorted((ROOT / "examples").glob("*/*.md"))}
    print(f"{'floor':>5} {'full':>5} {'mass':>4} {'Δstrip':>7} {'Δrename':>8} {'own first':>9} {'strong-weak':>11} "
          f"tiers {'removed: max':>12} {'mean':>5} {'others':>6}")
    for floor, full, mass in SETTINGS:
        grader_module.STEP_WEIGHT_FLOOR, grader_module.STEP_WEIGHT_FULL = floor, full
        similarity.GIST_FULL_WEIGHT = mass
        grader = Grader(GraderConfig(backend=args.backend))
        d_strip, d_ren, first, asked = [], [], 0, 0
        for a in answers:
            rubric = a.question or "generic"
            score = grader.grade(a.text, rubric).score
            d_strip.append(abs(grader.grade(strip_headings(a).text, rubric).score - score))
            d_ren.append(abs(grader.grade(rename_headings(a).text, rubric).score - score))
            if a.question in QUESTION_RUBRICS:
                asked += 1
                scores = {r: grader.grade(a.text, r).score for r in QUESTION_RUBRICS}
                first += max(scores, key=scores.__getitem__) == a.question
        tiers = {}
        for path, text in examples.items():
            tiers.setdefault(path.parent.name, {})[path.stem] = grader.grade(text, path.parent.name).score
        gap = min(t["strong"] - t["weak"] for t in tiers.values())
        ordered = all(t["strong"] > t["middling"] > t["weak"] for t in tiers.values())
        worst, mean, others = removals(grader, examples)
        print(f"{floor:>5} {full:>5} {mass:>4} {sum(d_strip) / len(d_strip):>7.4f} {sum(d_ren) / len(d_ren):>8.4f} "
              f"{first:>4} of {asked:<2} {gap:>11.3f} {ordered!s:<5} {worst:>12.3f} {mean:>5.3f} {others:>6.3f}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
