"""Integrity checks: signs that an answer games the grader rather than answers the question.

Word order: does the answer read as English sentences, or as words in a shuffled heap?

Bags of concepts and sentence embeddings barely notice word order, so shuffled words keep most of
their score. English function words, though, follow strict patterns: a determiner is not followed by a
preposition or a full stop ("the of", "a."), a preposition not by a conjunction ("to and"). The share of
function words breaking those patterns is a case- and spacing-blind measure of word salad. A second
measure covers every word: adjacent words in prose are pairs that English uses, and shuffling breaks them
up (order_score, on symspellpy's Google Books word-pair counts).
"""

from __future__ import annotations

import importlib.util
import re
import threading
from array import array
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from .keywords import WeightedText

__all__ = [
    "anomaly_rate",
    "fluency_factor",
    "copied_share",
    "keyword_density",
    "unit_word_counts",
    "stuffing_factor",
    "NATURAL_DENSITY",
    "STUFFED_DENSITY",
    "FLUENT_RATE",
    "SALAD_RATE",
    "MIN_FUNCTION_WORDS",
    "order_score",
    "ORDER_SHUFFLES",
    "ORDER_SEED",
    "MIN_EXPECTED_BIGRAMS",
    "DENSE_PAIR_WORDS",
    "english_bigrams",
    "EnglishBigrams",
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


_FUNCTION_WORDS = _DETERMINERS | _PREPOSITIONS | _PRONOUNS  # the first words _breaks_pattern judges


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
        if first in _FUNCTION_WORDS:  # the only words _breaks_pattern judges: two in three are not
            verdict = _breaks_pattern(first, second)
            judged += 1
            broken += bool(verdict)
    return (broken / judged if judged else 0.0), judged


# Word order, second view: adjacent words in English prose are pairs English uses ("of the", "the model",
# "machine learning"); the same words in random order mostly are not. order_score sums, over the answer's
# adjacent word pairs, each pair's association in English (its PMI from symspellpy's Google Books word and
# word-pair counts, negative values and unknown pairs counted as 0) and compares the sum with its mean and
# spread over ORDER_SHUFFLES shuffles of the answer's own lines, as a z-score. It judges only answers whose
# shuffles still hold at least MIN_EXPECTED_BIGRAMS known pairs (about 190 words of prose, 164 to 247
# among real texts at that gate): below that there is too little evidence.
# Measured with bench/word_order.py --seeds 30. Shuffled: 600 strong answers (20 answers x 30 seeds), all
# holding 163 or more expected pairs, score at most 3.57 (median -0.05, p99 2.47). Real: 2,187 texts
# (every SAF answer and reference, the examples, held-out, gold and model answers), of which the 111
# judged score at least 10.8; and excerpts of the non-SAF ones, from every other line the shortest run
# of lines the gate judges, 447 at least 7.70. The gate decides how short a real excerpt can be judged:
# at 40 pairs 13 of 687 excerpts fell under ORDER_FLUENT_Z (lowest 5.03, dense technical bullets), at 60
# two of 574 (5.98), at 70 none (7.08), at 80 none (7.70). Up to ORDER_SALAD_Z the factor is 0, from
# ORDER_FLUENT_Z on it is 1, linear between: 0.43 above the highest shuffled answer, 1.7 below the lowest
# real excerpt. Mean and spread are summed line by line, so 16 shuffles suffice (as steady as 32
# shuffles' totals); the seed is fixed so that the same answer gets the same score.
ORDER_SHUFFLES = 16
ORDER_SEED = 20261122
MIN_EXPECTED_BIGRAMS = 80.0
ORDER_SALAD_Z = 4.0
ORDER_FLUENT_Z = 6.0
# Distinct known words of an answer up to which its word pairs are looked up in square tables (9 bytes
# a cell: 36 MB at 2,000 words; a 1,500-word answer has about 700, the examples joined into 100,000
# characters about 1,900), the quicker way at every size measured (3.7 against 5.6 ms for a 1,500-word
# answer, 10 against 16 ms for 5,000 words). Beyond it by binary search in a sorted array, in memory
# that grows with the pairs: 19 MB for a 100,000-character answer of 12,000 distinct words, which square
# tables would make 1.3 GB.
DENSE_PAIR_WORDS = 2_000
_ALPHA = re.compile(r"[^\W\d_]+")
# The English frequency lists that symspellpy (MIT) ships: 82,834 words and 242,342 word pairs with their
# counts, made by SymSpell from the Google Books Ngram data (free for any use) and Hunspell word lists.
_UNIGRAMS = "frequency_dictionary_en_82_765.txt"
_BIGRAMS = "frequency_bigramdictionary_en_243_342.txt"


class EnglishBigrams(NamedTuple):
    """English word pairs by first word: the pairs whose first word has id ``i`` are
    ``seconds[starts[i]:starts[i + 1]]``, in increasing order, with association ``weights`` (PMI, at
    least 0)."""

    ids: Mapping[str, int]
    starts: np.ndarray
    seconds: np.ndarray
    weights: np.ndarray

    def weight(self, first: str, second: str) -> float | None:
        """The association of ``first second``; None when English does not use the pair."""
        a, b = self.ids.get(first), self.ids.get(second)
        if a is None or b is None:
            return None
        row = self.seconds[self.starts[a] : self.starts[a + 1]]
        at = int(np.searchsorted(row, b))
        return float(self.weights[self.starts[a] + at]) if at < len(row) and row[at] == b else None


_BIGRAMS_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def english_counts_signature() -> str:
    """The English word and word-pair counts that the word-order check reads, as the report signature
    names them (they move scores): the symspellpy release that ships them."""
    return f"symspellpy-{metadata.version('symspellpy')}"


def english_bigrams() -> EnglishBigrams:
    """symspellpy's word and word-pair counts, read once per process (0.4 s on an idle core, 4 MB kept;
    threads that ask meanwhile wait for the one reading). The arrays are read-only."""
    with _BIGRAMS_LOCK:
        return _read_english_bigrams()


@lru_cache(maxsize=1)
def _read_english_bigrams() -> EnglishBigrams:
    """The package is found without importing it: only its data files are used. They are read a line at
    a time into compact arrays (reading them whole made 40 MB of short-lived strings), and only the
    19,792 words that begin or end a pair get an id: any other word never makes a known pair."""
    spec = importlib.util.find_spec("symspellpy")
    if spec is None or spec.origin is None:  # pragma: no cover - a declared dependency
        raise ImportError("symspellpy is not installed; it holds the English word-pair counts")
    folder = Path(spec.origin).parent
    row_of: dict[str, int] = {}
    counts = array("d")
    with (folder / _UNIGRAMS).open(encoding="utf-8") as lines:
        for line in lines:
            word, count = line.split()
            row_of[word] = len(counts)
            counts.append(float(count))
    log_counts = np.log(np.frombuffer(counts))
    log_total = float(np.log(np.frombuffer(counts).sum()))
    ids: dict[str, int] = {}
    rows = array("q")  # each word id's row in the word counts
    pair_ids = array("q")  # first and second word ids, alternating
    pair_counts = array("d")
    with (folder / _BIGRAMS).open(encoding="utf-8") as lines:
        for line in lines:
            first_word, second_word, count = line.split()
            if first_word in row_of and second_word in row_of:
                for word in (first_word, second_word):
                    if word not in ids:
                        ids[word] = len(rows)
                        rows.append(row_of[word])
                    pair_ids.append(ids[word])
                pair_counts.append(float(count))
    first, second = np.frombuffer(pair_ids, dtype=np.int64).reshape(-1, 2).T
    word_log_counts = log_counts[np.frombuffer(rows, dtype=np.int64)]
    pmi = np.log(np.frombuffer(pair_counts)) - word_log_counts[first] - word_log_counts[second] + log_total
    order = np.lexsort((second, first))
    starts = np.searchsorted(first[order], np.arange(len(ids) + 1))
    arrays = starts, second[order].copy(), np.maximum(pmi[order], 0.0)
    for values in arrays:
        values.setflags(write=False)
    return EnglishBigrams(MappingProxyType(ids), *arrays)


def _answer_pairs(
    english: EnglishBigrams, vocabulary: np.ndarray, local: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The English word pairs both of whose words are among the answer's distinct words ``vocabulary``
    (sorted word ids; ``local`` maps every word id to its index there, or -1): (codes, weights), a pair
    of local indices (i, j) coded as i * (len(vocabulary) + 1) + j, in increasing order. Memory grows
    with those pairs, not with the square of the vocabulary (see DENSE_PAIR_WORDS)."""
    size = len(vocabulary)
    lengths = english.starts[vocabulary + 1] - english.starts[vocabulary]
    # the pairs of every vocabulary word, as one run of indices into english.seconds
    runs = np.repeat(english.starts[vocabulary] - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
    rows, cols = np.repeat(np.arange(size), lengths), local[english.seconds[runs]]
    inside = cols >= 0
    # rows do not decrease, and within a row cols increase (seconds are sorted, local keeps their order)
    return rows[inside] * (size + 1) + cols[inside], english.weights[runs[inside]]


def _look_up_pairs(
    codes: np.ndarray, weights: np.ndarray, size: int, left: np.ndarray, right: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(association, known) of each pair (left, right) of local word indices, from _answer_pairs' codes
    and weights over ``size`` words: through square tables up to DENSE_PAIR_WORDS words, else by binary
    search in the codes."""
    wanted = left * (size + 1) + right
    if size <= DENSE_PAIR_WORDS:
        association = np.zeros((size + 1) * (size + 1))
        known = np.zeros((size + 1) * (size + 1), dtype=bool)
        association[codes] = weights
        known[codes] = True
        return association[wanted], known[wanted]
    if not len(codes):
        return np.zeros(wanted.shape), np.zeros(wanted.shape, dtype=bool)
    at = np.minimum(np.searchsorted(codes, wanted), len(codes) - 1)
    found = codes[at] == wanted
    return np.where(found, weights[at], 0.0), found


def order_score(text: str) -> tuple[float, float]:
    """(z-score of the English association of the answer's adjacent word pairs against shuffles of its
    lines, known pairs those shuffles hold on average). Words are the whitespace-separated chunks of each
    line that hold letters; heading lines are left out (they are structure, and an answer keeps them in
    place to be segmented). A pair is the last word of one chunk and the first of the next, so a chunk
    such as "A/B" moves as one piece."""
    english = english_bigrams()
    chunks: list[str] = []
    line_of: list[int] = []
    for number, line in enumerate(text.casefold().split("\n")):
        if not line.lstrip().startswith("#"):
            words = line.split()
            chunks += words
            line_of += [number] * len(words)
    # Each distinct chunk once: the ids of its first and last word (-1 for a word English lacks, -2 for
    # a chunk without letters, which is left out).
    index = {chunk: k for k, chunk in enumerate(dict.fromkeys(chunks))}
    firsts: list[int] = []
    lasts: list[int] = []
    ids = english.ids
    for chunk in index:
        words = [chunk] if chunk.isalpha() else _ALPHA.findall(chunk)  # most chunks are one plain word
        firsts.append(ids.get(words[0], -1) if words else -2)
        lasts.append(ids.get(words[-1], -1) if words else -2)
    ends = np.array((firsts, lasts), dtype=np.int64).T  # built once, not row by row
    chunk_ids = np.array([index[chunk] for chunk in chunks], dtype=np.int64)
    kept = ends[chunk_ids, 0] > -2
    pairs, lines = ends[chunk_ids[kept]], np.array(line_of)[kept]
    n = len(pairs)
    if n < 3:
        return 0.0, 0.0
    same_line = lines[1:] == lines[:-1]
    if not same_line.any():  # one word a line: no pair to judge
        return 0.0, 0.0
    vocabulary = np.unique(pairs[pairs >= 0])
    local = np.full(len(english.ids), -1)
    local[vocabulary] = np.arange(len(vocabulary))
    codes, weights = _answer_pairs(english, vocabulary, local)
    # local word indices; a word English lacks gets len(vocabulary), which no known pair holds
    first, last = np.where(pairs >= 0, local[pairs], len(vocabulary)).T
    # Row 0 is the answer's own order; each further row a random order within each line, all rows at once:
    # sorting line number + a random key in [0, 1) keeps every word in its line and shuffles within it.
    keys = np.random.default_rng(ORDER_SEED).random((ORDER_SHUFFLES, n))
    orders = np.vstack([np.arange(n), np.argsort(lines + keys, axis=1)])
    left, right = last[orders[:, :-1]][:, same_line], first[orders[:, 1:]][:, same_line]
    association, known = _look_up_pairs(codes, weights, len(vocabulary), left, right)
    # Lines are shuffled independently, so the shuffled total's mean and variance are sums over lines:
    # estimated line by line, they are far steadier than from the totals of a few shuffles.
    pair_lines = lines[1:][same_line]
    starts = np.flatnonzero(np.r_[True, pair_lines[1:] != pair_lines[:-1]])
    per_line = np.add.reduceat(association, starts, axis=1)
    mean = float(per_line[1:].mean(axis=0).sum())
    spread = max(float(np.sqrt(per_line[1:].var(axis=0, ddof=1).sum())), 1.0)
    expected = float(known[1:].sum(axis=1).mean())
    return (float(per_line[0].sum()) - mean) / spread, expected


def fluency_factor(text: str) -> float:
    """1 for English prose, 0 for shuffled words, linear between; 1 when there is too little to judge.
    The lower of two views: function-word patterns (anomaly_rate) and English word pairs (order_score)."""
    factor = 1.0
    rate, judged = anomaly_rate(text)
    if judged >= MIN_FUNCTION_WORDS:
        factor = min(1.0, max(0.0, (SALAD_RATE - rate) / (SALAD_RATE - FLUENT_RATE)))
    z, expected = order_score(text)
    if expected >= MIN_EXPECTED_BIGRAMS:
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


def unit_word_counts(text: str, unit_starts: Sequence[int]) -> list[int]:
    """The words of each unit (from its start to the next unit's), as ``keyword_density`` counts them."""
    bounds = [*unit_starts, len(text)]
    return [len(_WORD.findall(text, a, b)) for a, b in zip(bounds, bounds[1:])]


def keyword_density(text: WeightedText, phrases: list[str], unit_words: Sequence[int] | None = None) -> float:
    """Share of the step's words inside mentions of ``phrases``, each unit's words counted by its weight
    for the step; 0 when the step holds under 10 (weighted) words. ``unit_words`` (``unit_word_counts``)
    are the same for every step of an answer: counted once, they need not be counted for each."""
    words = unit_words if unit_words is not None else unit_word_counts(text.section.text, text.unit_starts)
    total = sum(w * n for w, n in zip(text.weights, words))
    if total < 10:
        return 0.0
    covered = 0.0
    for s, e in text.section.positive_spans(phrases):
        covered += text.weights[text.unit_of(s)] * len(_WORD.findall(text.section.text, s, e))
    return covered / total


def stuffing_factor(density: float) -> float:
    """1 for natural prose, 0 for a bare list of the rubric's terms, linear between."""
    return float(min(1.0, max(0.0, (STUFFED_DENSITY - density) / (STUFFED_DENSITY - NATURAL_DENSITY))))
