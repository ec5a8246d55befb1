"""Terms of model answers for drafted rubrics: candidate terms, the concepts chosen for a criterion, and
their aliases (abbreviations an answer defines, spellings that differ between answers)."""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from .integrity import NATURAL_DENSITY
from .keywords import SectionText
from .reference import RARITY_CEILING
from .text import normalize_phrase, split_sentences

__all__ = [
    "BACKGROUND_TERM_FACTOR",
    "BASE_WORD_ZIPF",
    "MAX_CONCEPTS_PER_CRITERION",
    "MAX_CONCEPT_DENSITY",
    "MAX_CONCEPT_ZIPF",
    "MAX_TERM_WORDS",
    "VARIANT_WORD_SIMILARITY",
    "ConceptOrigin",
    "ConceptRegistry",
    "SourceSentence",
    "Terms",
    "clean_sentence",
]

# A term is "rare in English" at or below this Zipf frequency (wordfreq; 3 is once per million words).
# The 95th percentile of the bundled rubrics' concept names: 4.64 for one-word names, 4.74 for longer
# ones; 4.7 keeps "feature store" (4.61) and "embedding" (3.0) and drops "users" (4.8), "features" (4.94).
MAX_CONCEPT_ZIPF = 4.7
# Concepts kept per criterion: the bundled criteria have 4 to 8 (median 5); 6 leaves room for one more
# without turning a criterion into a keyword list.
MAX_CONCEPTS_PER_CRITERION = 6
# Two spellings are one term when every differing word matches at this rapidfuzz ratio: catalog and
# catalogue (87.5), normalized and normalised (90), modelling and modeling (94), but not online and
# offline (77) or precision and recall.
VARIANT_WORD_SIMILARITY = 85.0
# Share of a criterion's model-answer words that its concepts' mentions may cover: half the keyword-stuffing
# check's NATURAL_DENSITY (integrity.py), so that a source answer saying part of a model answer, where the
# concepts sit more densely, is not taken for a list of the rubric's terms (at 6 concepts a criterion with
# no limit, two-sentence answers lost up to half of a step to the stuffing factor).
MAX_CONCEPT_DENSITY = NATURAL_DENSITY / 2
# A word ending in -ed or -ly is a participle or adverb when what precedes the ending is an English word
# at least this frequent (wordfreq): "grade" 3.9, "sum" 4.0, "optional" 3.6; "emb" of "embed" and "anoma"
# of "anomaly" are far below.
BASE_WORD_ZIPF = 2.5
# A term the generic rubric already uses (in a concept or a model answer) is ML design vocabulary, not
# what carries this question: its score is multiplied by this. Chosen on the dev real answers
# (bench/draft_rubrics.py, docs/benchmarks.md).
BACKGROUND_TERM_FACTOR = 0.25
# Longest term considered, in words: 98% of the bundled concept names have at most three.
MAX_TERM_WORDS = 3
_LIST_MARK = re.compile(r"^[\s>*+\-#|]*(?:\d{1,3}[.)]\s+)?")
_EMPHASIS = re.compile(r"\*\*|__|`")
_BLANKS = re.compile(r"\s+")
_UNIT = re.compile(r"[^\W_]+(?:[\-/][^\W_]+)*")
_WORD = re.compile(r"[^\W_]+")
_LETTER_FIRST = re.compile(r"^[^\W\d_]")
# "long form (ABBR)" and "ABBR (long form)"
_ABBR_AFTER = re.compile(r"((?:[^\W_]+[ \t\-]+){0,6}[^\W_]+)[ \t]*\(([A-Za-z][A-Za-z0-9&]{1,7})\)")
_ABBR_BEFORE = re.compile(r"\b([A-Za-z][A-Za-z0-9&]{1,7})[ \t]*\(((?:[^\W_]+[ \t\-]+){1,6}[^\W_]+)\)")


@dataclass(frozen=True, slots=True)
class SourceSentence:
    """A sentence of a model answer as a criterion's model answer quotes it."""

    answer: int  # 0-based index of the model answer
    line: int  # 1-based line of the answer where it starts
    step: str
    text: str  # without list markers and emphasis, ending in a full stop
    words: int


@dataclass(frozen=True, slots=True)
class ConceptOrigin:
    """Why a concept was chosen: its occurrences in the criterion's sentences, in how many answers, its
    Zipf frequency, and each alias with where it came from."""

    name: str
    count: int
    answers: int
    zipf: float
    aliases: tuple[tuple[str, str], ...]  # (alias, why)
    rare: bool  # False: no rare term in the criterion, the rarest was taken

def clean_sentence(raw: str) -> str:
    """A sentence without list markers, emphasis and line breaks, ending in a full stop."""
    text = _BLANKS.sub(" ", _EMPHASIS.sub("", _LIST_MARK.sub("", raw))).strip().rstrip(":;,")
    return text if not text or text[-1] in ".!?" else text + "."


# ---------------------------------------------------------------- concepts


@dataclass
class _Candidate:
    key: tuple[str, ...]
    surfaces: Counter[str]
    count: int = 0


class Terms:
    """Candidate terms (one to three words) of the answers, the question's stems, and the abbreviations
    and spelling variants found across the answers."""

    def __init__(self, texts: Sequence[str], question: str, *, background: Sequence[str] = ()) -> None:
        from wordfreq import zipf_frequency

        self._zipf = zipf_frequency
        self.question_stems = set(normalize_phrase(question))
        # terms of any ML design answer (the generic rubric's), which say little about this question
        self.background = {key for text in background for key, _ in self.candidates(clean_sentence(text))}
        self.answers_with: dict[tuple[str, ...], set[int]] = defaultdict(set)
        self.surfaces: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
        for index, text in enumerate(texts):
            for sentence in split_sentences(text):
                for key, surface in self.candidates(clean_sentence(text[sentence.start : sentence.end])):
                    self.answers_with[key].add(index)
                    self.surfaces[key][surface] += 1
        self.abbreviations = _abbreviations(texts)

    def zipf(self, surface: str) -> float:
        return float(self._zipf(surface, "en"))

    def candidates(self, sentence: str) -> list[tuple[tuple[str, ...], str]]:
        """(stem key, lower-case surface) of every one- to three-word term of a cleaned sentence."""
        units = list(_UNIT.finditer(sentence))
        out = []
        for i, first in enumerate(units):
            if not self._edge(first.group()):
                continue
            for j in range(i, min(i + MAX_TERM_WORDS, len(units))):
                if j > i and sentence[units[j - 1].end() : units[j].start()].strip():
                    break  # punctuation between: not one term
                if not self._edge(units[j].group()):
                    break
                surface = sentence[first.start() : units[j].end()].casefold()
                key = normalize_phrase(surface)
                if key and not set(key) <= self.question_stems:
                    out.append((key, surface))
        return out

    @staticmethod
    def _edge(unit: str) -> bool:
        """Whether a word may be part of a term: not a stop word or a single letter, starting with a letter
        (not "200ms"), and in ASCII (wordfreq's English frequencies say nothing of other scripts)."""
        low = unit.casefold()
        return (len(low) > 1 and low.isascii() and low not in ENGLISH_STOP_WORDS
                and _LETTER_FIRST.match(low) is not None)

    def choose(
        self, group: Sequence[SourceSentence], registry: ConceptRegistry, step: str,
        encode: Callable[[list[str]], np.ndarray],
    ) -> list[ConceptOrigin]:
        """The criterion's concepts, registered (with aliases) in ``registry``: its rare terms, ranked by
        how close each is to the group's sentences (cosine with their centroid, as KeyBERT ranks
        keywords), times its rarity, the log of its occurrences and the number of answers that use it (what
        the answers agree on); no term inside a chosen one."""
        found: dict[tuple[str, ...], _Candidate] = {}
        for sentence in group:
            for key, surface in self.candidates(sentence.text):
                cand = found.setdefault(key, _Candidate(key, Counter()))
                cand.surfaces[surface] += 1
                cand.count += 1
        model_answer = " ".join(s.text for s in group)
        evidence = SectionText(model_answer, [(0, len(model_answer))])
        pool = [(cand, _most_common(cand.surfaces)) for cand in found.values()]
        rare = [(c, n) for c, n in pool if self.zipf(n) <= MAX_CONCEPT_ZIPF and self._a_term(c.key, n)]
        ranking = self._ranked(rare or pool, group, encode)
        chosen: list[ConceptOrigin] = []
        taken: list[tuple[str, ...]] = []
        word_starts = [m.start() for m in _WORD.finditer(model_answer)]
        covered: set[int] = set()  # words of the model answer inside a mention of a chosen concept

        def words_in(start: int, end: int) -> range:
            return range(bisect.bisect_left(word_starts, start), bisect.bisect_left(word_starts, end))

        for cand, surface, zipf in ranking:
            if len(chosen) >= MAX_CONCEPTS_PER_CRITERION or (chosen and not rare):
                break  # without a rare term, only the best of the others is taken
            if any(_inside(cand.key, k) or _inside(k, cand.key) for k in taken):
                continue
            if not evidence.positive_evidence([surface]):
                continue  # said only in a negated clause: the model answer would not count it
            aliases = self._aliases(cand.key, surface)
            concept = registry.register(surface, [a for a, _ in aliases], step)
            if concept is None or any(normalize_phrase(p) in taken for p in concept):
                continue
            spans = covered | {i for s, e in evidence.positive_spans(concept) for i in words_in(s, e)}
            if chosen and len(spans) > MAX_CONCEPT_DENSITY * len(word_starts):
                continue  # the model answer would read as stuffed with its own concepts
            covered = spans
            taken += [normalize_phrase(p) for p in concept]
            kept = tuple((a, why) for a, why in aliases if a in concept[1:])
            chosen.append(ConceptOrigin(concept[0], cand.count, len(self.answers_with[cand.key]),
                                        round(zipf, 2), kept, bool(rare)))
        return chosen

    def _ranked(
        self, pool: list[tuple[_Candidate, str]], group: Sequence[SourceSentence],
        encode: Callable[[list[str]], np.ndarray],
    ) -> list[tuple[_Candidate, str, float]]:
        if not pool:
            return []
        vectors = encode([s.text for s in group] + [surface for _, surface in pool])
        centroid = vectors[: len(group)].mean(axis=0)
        centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
        relevance = np.clip(vectors[len(group) :] @ centroid, 0.0, None)
        scored = []
        for (cand, surface), close in zip(pool, relevance):
            zipf = self.zipf(surface)
            answers = len(self.answers_with[cand.key])
            score = float(close) * (RARITY_CEILING - zipf) * (1.0 + math.log(cand.count)) * answers
            if cand.key in self.background:
                score *= BACKGROUND_TERM_FACTOR
            scored.append((score, cand, surface, zipf))
        scored.sort(key=lambda t: (-round(t[0], 9), t[2]))
        return [(cand, surface, zipf) for _, cand, surface, zipf in scored]

    def _a_term(self, key: tuple[str, ...], surface: str) -> bool:
        """Whether words make a term: a word alone that names rather than modifies; words in a row none of
        which is said more often than the whole, said twice in the answers or each word rare itself (a word
        run said once, such as "final re-ranking applies", is not)."""
        if len(key) == 1:
            return not self._modifier(surface)
        said = sum(self.surfaces[key].values())
        if any(sum(self.surfaces.get((stem,), Counter()).values()) > said for stem in key):
            return False  # a phrase around a term said more often on its own ("compare ctr")
        return said >= 2 or all(self.zipf(word) <= MAX_CONCEPT_ZIPF for word in surface.split())

    def _modifier(self, word: str) -> bool:
        """Whether a word alone modifies rather than names: a past participle ("summed", "updated": ends
        in -ed and stems shorter) or an adverb ("optionally": an English word plus -ly)."""
        if len(word) < 6:
            return False  # seed, feed, speed
        bases: tuple[str, ...]
        if word.endswith("ed"):
            bases = (word[:-1], word[:-2], word[:-3])  # graded, weighted, summed
        elif word.endswith("ly"):
            bases = (word[:-2],)  # optionally
        else:
            return False
        return any(len(base) >= 3 and self.zipf(base) >= BASE_WORD_ZIPF for base in bases)

    def _aliases(self, key: tuple[str, ...], surface: str) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for other, where in self.abbreviations.get(key, []):
            out.append((other, f"defined as {where}"))
        from rapidfuzz import fuzz

        mine = self.answers_with[key]
        for other_key, answers in sorted(self.answers_with.items()):
            if other_key == key or len(other_key) != len(key) or not (answers - mine):
                continue
            other = _most_common(self.surfaces[other_key])
            a_words, b_words = surface.split(), other.split()
            if len(a_words) != len(b_words) or a_words == b_words:
                continue
            if all(a == b or (min(len(a), len(b)) >= 5 and fuzz.ratio(a, b) >= VARIANT_WORD_SIMILARITY)
                   for a, b in zip(a_words, b_words)):
                which = ", ".join(str(i + 1) for i in sorted(answers - mine))
                out.append((other, f"spelt so in answer {which}"))
        return out


def _most_common(counter: Counter[str]) -> str:
    return min(counter.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def _inside(small: tuple[str, ...], big: tuple[str, ...]) -> bool:
    n = len(small)
    return n <= len(big) and any(big[i : i + n] == small for i in range(len(big) - n + 1))


def _abbreviations(texts: Sequence[str]) -> dict[tuple[str, ...], list[tuple[str, str]]]:
    """Both forms of every abbreviation an answer defines, keyed by the stems of each form: the long form
    is the last words of the text before the brackets whose initials spell the abbreviation."""
    out: dict[tuple[str, ...], list[tuple[str, str]]] = defaultdict(list)
    for index, text in enumerate(texts):
        pairs = [(m.group(1), m.group(2)) for m in _ABBR_AFTER.finditer(text)]
        pairs += [(m.group(2), m.group(1)) for m in _ABBR_BEFORE.finditer(text)]
        for before, abbr in pairs:
            long_form = _long_form(before, abbr)
            if long_form is None:
                continue
            short, full = abbr.casefold(), long_form.casefold()
            where = f"{full} ({short}) in answer {index + 1}"
            for key, other in ((normalize_phrase(full), short), (normalize_phrase(short), full)):
                if key and all(o != other for o, _ in out[key]):
                    out[key].append((other, where))
    return out


def _long_form(before: str, abbr: str) -> str | None:
    letters = [c for c in abbr.casefold() if c.isalpha()]
    words = re.split(r"[ \t]+", before.strip())
    for n in range(len(letters), 0, -1):  # the fewest words whose parts' initials spell the letters
        tail_words = words[-n:]
        parts = [p for w in tail_words for p in w.split("-") if p]
        if [p[0].casefold() for p in parts] == letters and tail_words[0].casefold() not in ENGLISH_STOP_WORDS:
            return " ".join(tail_words)
    return None


class ConceptRegistry:
    """Which concept owns each phrase key across the whole draft, so that no phrase belongs to two
    concepts (a lint warning), and the steps each concept is in (``shared`` when more than one)."""

    def __init__(self) -> None:
        self.owner: dict[tuple[str, ...], str] = {}
        self.concepts: dict[str, dict[str, Any]] = {}

    def claim(self, concept: dict[str, Any], step: str) -> None:
        """Record an existing concept (a generic criterion's) as it is."""
        del step
        self.concepts.setdefault(concept["name"], concept)
        for phrase in (concept["name"], *concept.get("aliases", [])):
            self.owner.setdefault(normalize_phrase(phrase), concept["name"])

    def register(self, name: str, aliases: list[str], step: str) -> tuple[str, ...] | None:
        """The phrases (name first) of the concept that ``name`` becomes: a known concept owning the name,
        or a new one with the aliases no other concept owns; None if the name has no words."""
        del step
        key = normalize_phrase(name)
        if not key:
            return None
        if key in self.owner:
            existing = self.concepts[self.owner[key]]
            return (existing["name"], *existing.get("aliases", []))
        kept: list[str] = []
        seen = {key}
        for alias in aliases:
            akey = normalize_phrase(alias)
            if akey and akey not in seen and akey not in self.owner:
                kept.append(alias)
                seen.add(akey)
        concept: dict[str, Any] = {"name": name, "aliases": kept}
        self.concepts[name] = concept
        for k in seen:
            self.owner[k] = name
        return (name, *kept)

    def concept(self, name: str) -> dict[str, Any]:
        return dict(self.concepts[name])

    def mark_shared(self, steps: list[dict[str, Any]]) -> None:
        """Set ``shared`` on every concept that is in more than one step."""
        where: dict[str, set[str]] = defaultdict(set)
        for step in steps:
            for crit in step["criteria"]:
                for concept in crit["concepts"]:
                    where[concept["name"]].add(step["id"])
        for step in steps:
            for crit in step["criteria"]:
                crit["concepts"] = [
                    {**c, "shared": True} if len(where[c["name"]]) > 1 else c for c in crit["concepts"]
                ]
