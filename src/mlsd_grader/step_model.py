"""Soft step assignment: every sentence of an answer gets a probability over the seven steps and "none".

Two parts, both fitted on labelled answers by ``bench/fit_step_model.py`` and shipped in
``step_model.npz`` (numpy only: no torch, the same for every embedding backend):

- a multinomial logistic regression over hashed features of the sentence (its word stems and stem
  pairs, the content cues of ``cues.py`` it matches, its shape) and of the
  headings above it (their stems and the steps the heading lexicon of ``cues.py`` reads in them), so a
  heading is evidence that the content can outweigh. The sentence's place in the answer is not a
  feature: it raised accuracy on the project's own answers but lowered it on real ones (0.746 against
  0.729 with headings, five-fold cross-validation) and pulled out-of-order sentences to the usual order;
- a hidden Markov chain over the sentences, whose chance of staying in the same step depends on what
  separates two sentences (nothing, a line end, a blank line, a heading): forward-backward gives each
  sentence's probability of each step given all the others, and Viterbi the most likely sequence.

The sentence's own probabilities enter the chain as scaled likelihoods (the classifier's posterior
divided by the step's prior), the usual hybrid of a discriminative classifier and a hidden Markov model.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from .cues import CONTENT_CUES
from .text import Span, tokenize

__all__ = [
    "StepModel",
    "STATES",
    "NONE_STATE",
    "FEATURE_BITS",
    "BOUNDARY_KINDS",
    "SentenceContext",
    "sentence_features",
    "feature_matrix",
    "boundary_kind",
    "load_step_model",
    "MODEL_FILE",
    "save_step_model",
    "state_step",
    "feature_bucket",
]

# The states: the seven steps in framework order, then "none" (a title, chit-chat, a link list).
STATES: tuple[str, ...] = (
    "requirements", "framing", "data", "modeling", "evaluation", "serving", "monitoring", "none",
)
NONE_STATE = len(STATES) - 1
# Hashed feature space: 2**13 buckets, which keeps the shipped weights at 256 KB (float32). The training
# answers hold 25,837 distinct features, about three per used bucket; a larger space was not measured.
FEATURE_BITS = 13
# What separates a sentence from the one before it: the same line, a line end, a blank line, a heading.
BOUNDARY_KINDS = ("same_line", "new_line", "blank_line", "heading")
MODEL_FILE = "step_model.npz"

_QUESTION = re.compile(r"\?\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+\u2022]|\d{1,2}[.)]|[a-z][.)])\s")


@dataclass(frozen=True, slots=True)
class SentenceContext:
    """What a sentence's features are read from besides its own words: the labels of the heading over
    it and of that heading's parent (each with the steps the lexicon reads in it), and of an inline label
    ("Metrics: ...") whose paragraph holds it."""

    heading: str | None = None
    heading_steps: tuple[str, ...] = ()
    parent: str | None = None
    parent_steps: tuple[str, ...] = ()
    label: str | None = None
    label_steps: tuple[str, ...] = ()
    lead_steps: tuple[str, ...] = ()


def _stems(text: str) -> list[str]:
    """The word stems the step model reads."""
    return [t.stem for t in tokenize(text) if t.stem]


def sentence_features(sentence: str, line: str, context: SentenceContext) -> list[str]:
    """The named features of one sentence (hashed by ``feature_matrix``)."""
    stems = _stems(sentence)
    feats = ["bias"]
    feats.extend("w:" + s for s in set(stems))
    feats.extend("b:" + a + "_" + b for a, b in set(zip(stems, stems[1:])))
    if _QUESTION.search(sentence):
        feats.append("shape:question")
    if _BULLET.match(line):
        feats.append("shape:bullet")
    if len(stems) <= 3:
        feats.append("shape:short")
    for prefix, label, steps in (
        ("h", context.heading, context.heading_steps),
        ("p", context.parent, context.parent_steps),
        ("l", context.label, context.label_steps),
    ):
        if label is None:
            feats.append(prefix + ":-")
            continue
        feats.extend(f"{prefix}:" + s for s in set(_stems(label)))
        feats.extend(f"{prefix}s:" + s for s in steps)
        if not steps:
            feats.append(prefix + "s:-")
    feats.extend("lead:" + s for s in context.lead_steps)
    low = " ".join(sentence.casefold().split())
    feats.extend(name for name, rx in _CUE_FEATURES if rx.search(low))
    return feats


# Each hand-written content cue of cues.py is a feature of its own ("c:data:3"), so words of the lexicon
# that the training answers never used still count.
_CUE_FEATURES = [(f"c:{step}:{k}", rx) for step, cues in CONTENT_CUES.items() for k, (rx, _) in enumerate(cues)]


def state_step(state: int) -> str | None:
    """The step id of a state, None for "none"."""
    return STATES[state] if state != NONE_STATE else None


@lru_cache(maxsize=200_000)
def feature_bucket(feature: str) -> int:
    """The hashed bucket of a named feature."""
    return zlib.crc32(feature.encode("utf-8")) & ((1 << FEATURE_BITS) - 1)


def feature_matrix(features: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
    """Hashed features as (bucket indices, row offsets): row i is ``idx[ptr[i]:ptr[i + 1]]``, each bucket
    once per row (a collision does not count twice)."""
    idx: list[int] = []
    ptr = [0]
    for feats in features:
        idx.extend(sorted({feature_bucket(f) for f in feats}))
        ptr.append(len(idx))
    return np.asarray(idx, dtype=np.int64), np.asarray(ptr, dtype=np.int64)


def boundary_kind(text: str, previous: Span, current: Span, heading_between: bool) -> int:
    """Index into BOUNDARY_KINDS of what separates two consecutive sentences."""
    if heading_between:
        return 3
    gap = text[previous.end : current.start]
    newlines = gap.count("\n")
    if newlines == 0:
        return 0
    if newlines == 1:
        return 1
    return 2


class StepModel:
    """Fitted weights: the classifier's (buckets x states) and the chain's stay and switch probabilities."""

    def __init__(
        self, weights: np.ndarray, log_prior: np.ndarray, stay: np.ndarray, switch: np.ndarray,
        emission_scale: float,
    ) -> None:
        self.weights = np.ascontiguousarray(weights, dtype=np.float64)
        self.log_prior = np.asarray(log_prior, dtype=np.float64)
        self.emission_scale = float(emission_scale)
        self.stay = np.asarray(stay, dtype=np.float64)
        self.switch = np.asarray(switch, dtype=np.float64)
        # log transition matrices, one per boundary kind: stay on the diagonal, switch elsewhere
        trans = []
        for p_stay in stay:
            t = (1.0 - p_stay) * np.asarray(switch, dtype=np.float64)
            np.fill_diagonal(t, p_stay)
            trans.append(np.log(t))
        self.log_transitions = np.stack(trans)
        self.log_initial = self.log_prior.copy()
        self._hash: str | None = None

    def sentence_log_probs(self, idx: np.ndarray, ptr: np.ndarray) -> np.ndarray:
        """log P(state | sentence) from the classifier alone, shape (n, states)."""
        n = len(ptr) - 1
        if n == 0:
            return np.zeros((0, len(STATES)))
        sums = np.add.reduceat(self.weights[idx], ptr[:-1], axis=0) if len(idx) else np.zeros((n, len(STATES)))
        # every row holds the bias feature; were one empty, reduceat would give it the next row's sum
        sums[ptr[1:] == ptr[:-1]] = 0.0
        out: np.ndarray = sums - _logsumexp(sums)[:, None]
        return out

    def posteriors(self, log_probs: np.ndarray, boundaries: Sequence[int]) -> tuple[np.ndarray, list[int]]:
        """Each sentence's probability of each state given the whole answer (forward-backward), and the
        most likely state sequence (Viterbi)."""
        n = log_probs.shape[0]
        if n == 0:
            return np.zeros((0, len(STATES))), []
        emit = self.emission_scale * (log_probs - self.log_prior)
        trans = self.log_transitions
        fwd = np.empty_like(emit)
        fwd[0] = self.log_initial + emit[0]
        best = fwd[0].copy()
        pointers = np.zeros((n, len(STATES)), dtype=np.int64)
        for t in range(1, n):
            step = trans[boundaries[t]]
            fwd[t] = _logsumexp(fwd[t - 1][:, None] + step, axis=0) + emit[t]
            cand = best[:, None] + step
            pointers[t] = np.argmax(cand, axis=0)
            best = cand[pointers[t], np.arange(len(STATES))] + emit[t]
        bwd = np.zeros_like(emit)
        for t in range(n - 2, -1, -1):
            bwd[t] = _logsumexp(trans[boundaries[t + 1]] + (emit[t + 1] + bwd[t + 1])[None, :], axis=1)
        post = fwd + bwd
        post = np.exp(post - _logsumexp(post)[:, None])
        path = [int(np.argmax(best))]
        for t in range(n - 1, 0, -1):
            path.append(int(pointers[t, path[-1]]))
        path.reverse()
        return post, path

    def content_hash(self) -> str:
        """A short hash of the model, named in every report's signature: computed once (a model is not
        changed after it is made), since it reads all 256 KB of weights."""
        if self._hash is None:
            self._hash = self._compute_hash()
        return self._hash

    def _compute_hash(self) -> str:
        h = zlib.crc32(self.weights.astype(np.float32).tobytes())
        for arr in (self.log_prior, self.stay, self.switch, np.array([self.emission_scale])):
            h = zlib.crc32(np.asarray(arr, dtype=np.float64).tobytes(), h)
        return f"{h:08x}"


def _logsumexp(a: np.ndarray, axis: int = -1) -> np.ndarray:
    top = np.max(a, axis=axis, keepdims=True)
    out: np.ndarray = np.squeeze(top, axis=axis) + np.log(np.sum(np.exp(a - top), axis=axis))
    return out


def save_step_model(path: object, model: StepModel) -> None:
    """Write a fitted model (its classifier weights as float32, which is what ``load_step_model`` reads)."""
    np.savez_compressed(
        path,  # type: ignore[arg-type]
        weights=model.weights.astype(np.float32), log_prior=model.log_prior, stay=model.stay,
        switch=model.switch, emission_scale=np.array(model.emission_scale), feature_bits=np.array(FEATURE_BITS),
        states=np.array(STATES),
    )


@lru_cache(maxsize=1)
def load_step_model() -> StepModel:
    """The shipped model, read once per process."""
    with resources.files("mlsd_grader").joinpath(MODEL_FILE).open("rb") as fh:
        data = np.load(fh)
        if int(data["feature_bits"]) != FEATURE_BITS or tuple(data["states"]) != STATES:
            raise RuntimeError("step_model.npz does not match this version of mlsd_grader")
        return StepModel(data["weights"], data["log_prior"], data["stay"], data["switch"],
                         float(data["emission_scale"]))
