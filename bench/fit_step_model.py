"""Fit the step model shipped as src/mlsd_grader/step_model.npz (see mlsd_grader.step_model).

Training data, all labelled with the true step of every character:
- the gold set tests/gold/segmentation (14 answers written for the project);
- the dev split of the real answers in bench/real_answers (texts read from the mirrors);
- every criterion's model answer of the bundled framework rubrics (a sentence list per step);
and each answer also with its headings removed, so the content alone must decide. The held-out real
answers are never read here.

    python bench/fit_step_model.py [--mirrors DIR] [--out PATH]   # write the shipped model
    python bench/fit_step_model.py --sweep                        # five-fold choice of C, scale and uniform share

tests/test_step_model.py refits with the shipped settings and checks the weights equal the shipped ones.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labelled import DEFAULT_MIRRORS, LabelledAnswer, char_accuracy, gold_answers, real_answers, strip_headings  # noqa: E402

from mlsd_grader.rubric import load_rubric  # noqa: E402
from mlsd_grader.rubric import bundled_rubric_ids  # noqa: E402
from mlsd_grader.segmentation import (  # noqa: E402
    assign_steps, body_sentences, find_headings, segment_text, step_inputs,
)
from mlsd_grader.step_model import (  # noqa: E402
    BOUNDARY_KINDS, FEATURE_BITS, NONE_STATE, STATES, SentenceContext, StepModel, feature_bucket, feature_matrix, save_step_model,
    sentence_features,
)
from mlsd_grader.text import split_sentences  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "src" / "mlsd_grader" / "step_model.npz"
# Regularisation of the logistic regression and the weight of its evidence in the chain: chosen by
# --sweep (five-fold cross-validation over the gold set and the dev answers); see docs/segmentation.md.
C = 1.0
EMISSION_SCALE = 1.5
# Add-one smoothing of the chain's counts.
SMOOTHING = 1.0
# Share of a uniform choice in where the chain goes when it changes step (the rest is counted from the
# answers, which mostly follow the framework order): chosen by --sweep.
SWITCH_UNIFORM = 0.5


class Sample:
    """One answer's sentences: feature rows, true states, boundary kinds."""

    def __init__(self, answer: LabelledAnswer) -> None:
        self.answer = answer
        text = answer.text
        self.headings = find_headings(text)
        self.sentences = body_sentences(text, self.headings)
        self.features, self.boundaries = step_inputs(text, self.headings, self.sentences)
        self.states = [_state(answer, s.start, s.end) for s in self.sentences]


def _state(answer: LabelledAnswer, start: int, end: int) -> int:
    counts = Counter(lab for ch, lab in zip(answer.text[start:end], answer.labels[start:end]) if not ch.isspace())
    if not counts:
        return NONE_STATE
    lab = max(sorted(counts, key=str), key=counts.__getitem__)
    return NONE_STATE if lab is None else STATES.index(lab)


# Sentences that belong to no step (greetings, asides, sign-offs), written for this script: the labelled
# answers hold few of them, and an answer's small talk must not count as a step's content.
NO_STEP_SENTENCES = (
    "Hello there, nice weather today.",
    "Thanks for having me, happy to walk through this.",
    "Sure, let me think out loud for a moment.",
    "Great question.",
    "Okay, sounds good.",
    "Let me know if you want me to go deeper anywhere.",
    "I hope that covers what you were looking for.",
    "That is roughly how I would approach it.",
    "Any questions so far?",
    "Let me grab some water first.",
    "I will go through it in the usual order.",
    "Sorry, could you repeat that?",
    "Happy to take follow-up questions.",
    "Thanks, that was fun.",
    "Give me a second to organise my thoughts.",
    "I did something similar in my last job, which was a lot of fun.",
    "My name is Alex and I have been an engineer for five years.",
    "Good morning, nice to meet you.",
    "I think we have about forty minutes, right?",
    "Let me draw a quick picture on the whiteboard.",
)


def rubric_rows() -> tuple[list[list[str]], list[int]]:
    """Every sentence of every bundled framework rubric's model answers, labelled with its step, and the
    sentences of no step."""
    feats: list[list[str]] = []
    states: list[int] = []
    for rid in bundled_rubric_ids():
        rubric = load_rubric(rid)
        if rubric.is_short_answer:
            continue
        for step in rubric.steps:
            for crit in step.criteria:
                text = crit.model_answer
                for s in split_sentences(text):
                    sentence = text[s.start : s.end]
                    feats.append(sentence_features(sentence, sentence, SentenceContext()))
                    states.append(STATES.index(step.id))
    for sentence in NO_STEP_SENTENCES:
        feats.append(sentence_features(sentence, sentence, SentenceContext()))
        states.append(NONE_STATE)
    return feats, states


def training_answers(mirrors: Path) -> list[LabelledAnswer]:
    return gold_answers() + real_answers(mirrors, splits=("dev",))


def fit(samples: Sequence[Sample], extra: tuple[list[list[str]], list[int]], c: float,
        emission_scale: float, switch_uniform: float = SWITCH_UNIFORM) -> StepModel:
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    feats = [f for s in samples for f in s.features] + extra[0]
    y = np.array([st for s in samples for st in s.states] + extra[1])
    idx, ptr = feature_matrix(feats)
    x = csr_matrix((np.ones(len(idx)), idx, ptr), shape=(len(feats), 1 << FEATURE_BITS))
    clf = LogisticRegression(C=c, max_iter=3000, tol=1e-5)
    clf.fit(x, y)
    weights = np.zeros((1 << FEATURE_BITS, len(STATES)))
    for k, cls in enumerate(clf.classes_):
        weights[:, cls] = clf.coef_[k]
    # the bias feature carries the intercept, so the model needs no separate one
    weights[feature_bucket("bias"), clf.classes_] += clf.intercept_
    counts = np.bincount(y, minlength=len(STATES)) + SMOOTHING
    log_prior = np.log(counts / counts.sum())
    stay_n = np.zeros(len(BOUNDARY_KINDS))
    all_n = np.zeros(len(BOUNDARY_KINDS))
    switch = np.full((len(STATES), len(STATES)), SMOOTHING)
    np.fill_diagonal(switch, 0.0)
    for s in samples:
        for t in range(1, len(s.states)):
            b, a, z = s.boundaries[t], s.states[t - 1], s.states[t]
            all_n[b] += 1
            stay_n[b] += a == z
            if a != z:
                switch[a, z] += 1
    stay = (stay_n + SMOOTHING) / (all_n + 2 * SMOOTHING)
    switch /= switch.sum(axis=1, keepdims=True)
    uniform = np.full_like(switch, 1.0 / (len(STATES) - 1))
    np.fill_diagonal(uniform, 0.0)
    switch = (1 - switch_uniform) * switch + switch_uniform * uniform
    return StepModel(weights, log_prior, stay, switch, emission_scale)


def counts(model: StepModel, s: Sample) -> tuple[int, int]:
    """Correct and counted characters of one answer's segmentation under ``model``."""
    assignment = assign_steps(s.answer.text, s.headings, s.sentences, inputs=(s.features, s.boundaries), model=model)
    return char_accuracy(s.answer, segment_text(s.answer.text, s.headings, s.sentences, assignment))


def accuracy(model: StepModel, samples: Sequence[Sample]) -> float:
    pooled = np.sum([counts(model, s) for s in samples], axis=0)
    return float(pooled[0] / max(1, pooled[1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--c", type=float, action="append", help="with --sweep: the C values to try")
    args = parser.parse_args(argv)
    answers = training_answers(args.mirrors)
    if not any(a.source != "gold" for a in answers):
        print(f"no real answers under {args.mirrors}: fetch the mirrors first (bench/real_answers/README.md)")
        return 1
    pairs = [(Sample(a), Sample(strip_headings(a))) for a in answers]
    extra = rubric_rows()
    if args.sweep:
        folds = 5
        settings = [(scale, mix) for scale in (1.0, 1.5, 2.0) for mix in (0.0, 0.5, 0.8)]
        for c in args.c or (C,):
            # per setting: correct and counted characters, real answers and gold, headed and stripped
            res = {key: np.zeros((2, 2, 2)) for key in settings}
            for f in range(folds):
                train = [s for k, p in enumerate(pairs) if k % folds != f for s in p]
                test = [p for k, p in enumerate(pairs) if k % folds == f]
                base = fit(train, extra, c, 1.0, 0.0)
                for scale, mix in settings:
                    uniform = np.full_like(base.switch, 1.0 / (len(STATES) - 1))
                    np.fill_diagonal(uniform, 0.0)
                    model = StepModel(base.weights, base.log_prior, base.stay,
                                      (1 - mix) * base.switch + mix * uniform, scale)
                    for p in test:
                        for v in (0, 1):
                            res[scale, mix][int(p[v].answer.source == "gold"), v] += counts(model, p[v])
            for (scale, mix), r in res.items():
                print(f"C={c:<4} scale={scale:<4} uniform={mix:<4} real headed {r[0, 0, 0] / r[0, 0, 1]:.3f} stripped "
                      f"{r[0, 1, 0] / r[0, 1, 1]:.3f} | gold headed {r[1, 0, 0] / r[1, 0, 1]:.3f} stripped "
                      f"{r[1, 1, 0] / r[1, 1, 1]:.3f}", flush=True)
        return 0
    model = fit([s for p in pairs for s in p], extra, C, EMISSION_SCALE)
    save_step_model(args.out, model)
    print(f"wrote {args.out}: {len(pairs)} answers, {sum(len(p[0].states) for p in pairs)} sentences "
          f"(+{len(extra[1])} rubric sentences); training accuracy headed {accuracy(model, [p[0] for p in pairs]):.3f}, "
          f"stripped {accuracy(model, [p[1] for p in pairs]):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
