"""Integrity checks: signs that an answer games the grader rather than answers the question.

Word order: does the answer read as English sentences, or as words in a shuffled heap?

Bags of concepts and sentence embeddings barely notice word order, so shuffled words keep most of
their score. English function words, though, follow strict patterns: a determiner is not followed by a
preposition or a full stop ("the of", "a."), a preposition not by a conjunction ("to and"). The share of
function words breaking those patterns is a case- and spacing-blind measure of word salad. In a long
answer, recurring word pairs give a second measure: shuffling breaks them up (order_score).
"""

from __future__ import annotations

import re

import numpy as np

from .keywords import SectionText

__all__ = [
    "anomaly_rate",
    "fluency_factor",
    "copied_share",
    "keyword_density",
    "stuffing_factor",
    "NATURAL_DENSITY",
    "STUFFED_DENSITY",
    "FLUENT_RATE",
    "SALAD_RATE",
    "MIN_FUNCTION_WORDS",
    "order_score",
    "ORDER_SHUFFLES",
    "ORDER_SEED",
    "MIN_EXPECTED_REPEATS",
    "ORDER_SALAD_Z",
    "ORDER_FLUENT_Z",
    "COPY_RATIO",
    "COPIED_SHARE",
]

# Anomaly rates measured with these patterns: the 2,112 SAF answers (real short answers by students, many
# not native speakers) reach at most 0.050 (p99 0.042); the bundled example and held-out answers at most
# 0.009; the strong ones with their words shuffled within each line 0.010 to 0.114, mean about 0.08. Up to
# FLUENT_RATE the factor is 1 (no real answer is touched); at SALAD_RATE and beyond it is 0; linear between.
# A shuffle that happens to leave few anomalies (rate under 0.05) escapes: the patterns are deliberately
# few, to leave real prose alone.
FLUENT_RATE = 0.05
SALAD_RATE = 0.10
# Below this many function words there is too little text to judge (a terse bullet list): factor 1.
MIN_FUNCTION_WORDS = 20

# Only words that are nothing but determiners: not "a" (host A), "this"/"each"/"some" (also pronouns: "this
# is", "each of"), nor auxiliaries after them ("the IS" is an acronym in networking answers).
_DETERMINERS = frozenset("the an our their its my your".split())
_PREPOSITIONS = frozenset(
    "of in on at to for with from by into onto over under between through during via per about against "
    "within without across after before among toward towards upon".split()
)
_CONJUNCTIONS = frozenset("and or but nor".split())
_PRONOUNS = frozenset("i we you they he she".split())
_PUNCTUATION = frozenset(".,;:!?")
# Finite auxiliaries that never follow an article or a preposition ("the were", "of would"); not "is"/"am"
# (acronyms IS, AM), "be"/"have"/"do" ("to be") or "being" ("without being").
_AUXILIARIES = frozenset("are was were would could should been has did".split())
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?|[.,;:!?]")


def _breaks_pattern(first: str, second: str) -> bool | None:
    """Whether ``first second`` breaks a function-word pattern; None when ``first`` is no function word."""
    if first in _DETERMINERS:
        return (second in _DETERMINERS or second in _PREPOSITIONS or second in _CONJUNCTIONS
                or second in _PRONOUNS or second in _PUNCTUATION or second in _AUXILIARIES)
    if first in _PREPOSITIONS:
        return second in _AUXILIARIES  # not conjunctions: "to and from", "before and after"
    if first in _PRONOUNS:
        return second in _PRONOUNS or second in _DETERMINERS
    return None


def anomaly_rate(text: str) -> tuple[float, int]:
    """(share of function words that break a pattern, how many function words were judged)."""
    tokens = _TOKEN.findall(text.casefold())
    judged = broken = 0
    for first, second in zip(tokens, tokens[1:]):
        verdict = _breaks_pattern(first, second)
        if verdict is not None:
            judged += 1
            broken += verdict
    return (broken / judged if judged else 0.0), judged


# Word order, second view: in real text the same word pairs recur in the same order ("of the", "the
# model", "feature store") far more often than when the words of each line are put in random order; in
# shuffled text they recur no more often than chance. order_score compares the answer's repeated word pairs
# with ORDER_SHUFFLES shuffles of its own lines, as a z-score, and judges only answers whose shuffles expect
# at least MIN_EXPECTED_REPEATS repeats: below that (short answers) real and shuffled texts overlap.
# Measured with bench/word_order.py: the 38 judged real texts (SAF, examples, held-out, gold, model
# answers) score 6.87 or more; the 94 judged shuffled strong answers (of 200: 20 answers x 10 seeds) at
# most 2.10, median about 0. Up to ORDER_SALAD_Z the factor is 0, from ORDER_FLUENT_Z on it is 1, linear
# between: more than 3.8 below every real text. With this view, 165 of the 200 shuffled answers get a
# factor under 1 and 89 get 0 (function words alone: 157 and 31); no real text is touched. With gates of
# 4 to 8 expected repeats instead, a real text (3.40) scores below a shuffled one (3.90): 10 is the lowest
# gate with a clear gap. 16 shuffles give a mean and spread stable to about 0.3 in z, in about two
# milliseconds for a 1,500-word answer; the seed is fixed so that the same answer gets the same score.
ORDER_SHUFFLES = 16
ORDER_SEED = 20261122
MIN_EXPECTED_REPEATS = 10.0
ORDER_SALAD_Z = 1.5
ORDER_FLUENT_Z = 3.0
_ALPHA = re.compile(r"[^\W\d_]{2,}")


def order_score(text: str) -> tuple[float, float]:
    """(z-score of the answer's repeated word pairs against shuffles of its lines, repeats those shuffles
    expect). Words are the whitespace-separated chunks of each line that hold letters; heading lines are
    left out (they are structure, and an answer keeps them in place to be segmented). A pair is the last
    word of one chunk and the first of the next, so a chunk such as "A/B" moves as one piece."""
    chunks: list[str] = []
    line_of: list[int] = []
    for number, line in enumerate(text.casefold().split("\n")):
        if not line.lstrip().startswith("#"):
            words = line.split()
            chunks += words
            line_of += [number] * len(words)
    if len(chunks) < 3:
        return 0.0, 0.0
    # Each distinct chunk once: its first and last word (-1 for a chunk without one), as word ids.
    index: dict[str, int] = {}
    chunk_ids = np.array([index.setdefault(chunk, len(index)) for chunk in chunks])
    ids: dict[str, int] = {}
    ends = np.full((len(index), 2), -1)
    for k, chunk in enumerate(index):
        words = [chunk] if chunk.isalpha() else _ALPHA.findall(chunk)  # most chunks are one plain word
        if words and len(words[0]) >= 2 and len(words[-1]) >= 2:
            ends[k] = ids.setdefault(words[0], len(ids)), ids.setdefault(words[-1], len(ids))
    kept = ends[chunk_ids, 0] >= 0
    first, last = ends[chunk_ids[kept], 0], ends[chunk_ids[kept], 1]
    n = len(first)
    if n < 3:
        return 0.0, 0.0
    firsts, lasts, lines = first, last, np.array(line_of)[kept]
    same_line = lines[1:] == lines[:-1]
    # Row 0 is the answer's own order; each further row a random order within each line, all rows at once:
    # sorting line number + a random key in [0, 1) keeps every word in its line and shuffles within it.
    keys = np.random.default_rng(ORDER_SEED).random((ORDER_SHUFFLES, n))
    orders = np.vstack([np.arange(n), np.argsort(lines + keys, axis=1)])
    pairs = np.sort((lasts[orders[:, :-1]] * len(ids) + firsts[orders[:, 1:]])[:, same_line], axis=1)
    # repeats = pairs - distinct pairs, per row
    repeats = (pairs[:, 1:] == pairs[:, :-1]).sum(axis=1)
    shuffles = repeats[1:]
    spread = max(float(np.std(shuffles)), 1.0)
    return (float(repeats[0]) - float(np.mean(shuffles))) / spread, float(np.mean(shuffles))


def fluency_factor(text: str) -> float:
    """1 for English prose, 0 for shuffled words, linear between; 1 when there is too little to judge.
    The lower of two views: function-word patterns (anomaly_rate) and recurring word pairs (order_score)."""
    factor = 1.0
    rate, judged = anomaly_rate(text)
    if judged >= MIN_FUNCTION_WORDS:
        factor = min(1.0, max(0.0, (SALAD_RATE - rate) / (SALAD_RATE - FLUENT_RATE)))
    z, expected = order_score(text)
    if expected >= MIN_EXPECTED_REPEATS:
        factor = min(factor, max(0.0, (z - ORDER_SALAD_Z) / (ORDER_FLUENT_Z - ORDER_SALAD_Z)))
    return float(factor)


# Copying: a model-answer sentence counts as copied when some answer sentence matches it with a RapidFuzz
# ratio of at least COPY_RATIO (0-100, case-folded; light rewording stays above 90, an independently
# written sentence on the same topic stays below 60 in the bundled examples), and the answer is flagged
# when at least COPIED_SHARE of the rubric's model-answer sentences are copied.
COPY_RATIO = 85.0
COPIED_SHARE = 0.5


def copied_share(answer_sentences: list[str], model_sentences: list[str]) -> float:
    """Share of model-answer sentences that appear near-verbatim among the answer's sentences."""
    from rapidfuzz import fuzz, process, utils

    if not answer_sentences or not model_sentences:
        return 0.0
    best = process.cdist(model_sentences, answer_sentences, scorer=fuzz.ratio, processor=utils.default_process,
                         score_cutoff=COPY_RATIO, workers=1)
    return float((best.max(axis=1) >= COPY_RATIO).mean())


# Keyword stuffing: the share of a section's words that are mentions of its step's concepts. Measured with
# the bundled rubrics: real answers' sections (examples and held-out, 312 sections) at most 0.41 (p95 0.19);
# sections that list the step's concept names 0.75 or more, names and aliases 0.87 or more. Up to
# NATURAL_DENSITY the factor is 1, from STUFFED_DENSITY on it is 0, linear between.
NATURAL_DENSITY = 0.45
STUFFED_DENSITY = 0.70
_WORD = re.compile(r"[^\W_]+")


def keyword_density(section: SectionText, phrases: list[str]) -> float:
    """Share of the section's words inside mentions of ``phrases``; 0 for a section under 10 words."""
    total = sum(len(_WORD.findall(section.text, a, b)) for a, b in section.regions)
    if total < 10:
        return 0.0
    covered = sum(len(_WORD.findall(e.text)) for e in section.positive_evidence(phrases))
    return covered / total


def stuffing_factor(density: float) -> float:
    """1 for natural prose, 0 for a bare list of the rubric's terms, linear between."""
    return float(min(1.0, max(0.0, (STUFFED_DENSITY - density) / (STUFFED_DENSITY - NATURAL_DENSITY))))
