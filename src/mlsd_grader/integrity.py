"""Integrity checks: signs that an answer games the grader rather than answers the question.

Word order: does the answer read as English sentences, or as words in a shuffled heap?

Bags of concepts and sentence embeddings barely notice word order, so shuffled words keep most of
their score. English function words, though, follow strict patterns: a determiner is not followed by a
preposition or a full stop ("the of", "a."), a preposition not by a conjunction ("to and"). The share of
function words breaking those patterns is a case- and spacing-blind measure of word salad.
"""

from __future__ import annotations

import re

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


def fluency_factor(text: str) -> float:
    """1 for English prose, 0 for shuffled words, linear between; 1 when there is too little to judge."""
    rate, judged = anomaly_rate(text)
    if judged < MIN_FUNCTION_WORDS:
        return 1.0
    return float(min(1.0, max(0.0, (SALAD_RATE - rate) / (SALAD_RATE - FLUENT_RATE))))


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
