"""Concept coverage: find a rubric's concepts in a section of the answer, with evidence spans.

Matching compares the Snowball stems of a phrase, joined without separators, against windows of the
answer's word stems, so case, inflection, hyphens and spacing do not matter ("A/B test", "ab testing",
"A-B tests" all become ``abtest``). Small typos are forgiven with a Levenshtein bound (RapidFuzz, a C++
implementation, the fastest maintained edit-distance library on PyPI). A mention inside a negated
clause ("we don't need monitoring") is not evidence.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from pydantic import BaseModel, ConfigDict
from rapidfuzz.distance import Levenshtein

from .rubric import AntiPattern, Concept
from .text import Token, tokenize

__all__ = [
    "Evidence",
    "SectionText",
    "find_concept",
    "find_anti_pattern",
    "concept_coverage",
    "WeightedText",
    "MAX_EVIDENCE",
]

# Evidence spans kept per concept: enough to show where it was said without flooding the report.
MAX_EVIDENCE = 3
# Typos forgiven: one edit in a phrase of FUZZY_MIN_CHARS+ letters, two in FUZZY_TWO_EDITS_CHARS+.
# Shorter phrases must match exactly: "rank"/"bank" or "auc"/"arc" are different words, not typos.
FUZZY_MIN_CHARS = 6
FUZZY_TWO_EDITS_CHARS = 11
# Phrase sets (a step's phrases) whose wanted key lengths are remembered: a rubric has seven steps, and a
# batch of SAF answers some hundreds of short-answer rubrics of one step each.
REMEMBERED_PHRASE_SETS = 4_096
# Words between a negation cue and the concept for the mention to count as negated.
NEGATION_WINDOW = 6

# What may stand between two words of one phrase: spaces, hyphens, slashes ("A/B", "A-B", "p@k").
_JOINER = re.compile(r"[ \t]*[\-/@&'\u2019+]?[ \t]*")
_CLAUSE_BREAK = re.compile(r"[.;:!?\n,()]|\bbut\b|\bhowever\b|\bthough\b|\bwhereas\b", re.IGNORECASE)
_WORDS = re.compile(r"[a-z]+(?:'[a-z]+)?")
# Cues that negate what follows in their clause. Not "no", "without" or "avoid": "avoid data leakage"
# and "make sure there is no leakage" do discuss leakage, and a rubric wants them counted.
_NEGATORS = frozenset(
    "not never dont don't doesnt doesn't wont won't isnt isn't arent aren't didnt didn't shouldnt shouldn't "
    "cannot cant can't neither nor skip skipping".split()
)
_NEGATION_EXCEPTIONS = frozenset({"only", "just", "merely", "simply"})  # "not only X" still says X
_NEGATED_AFTER = re.compile(
    r"^\W*(?:\w+\W+){0,3}?(?:is|are|isn't|aren't|'s)?\s*"
    r"(?:not\s+(?:needed|necessary|required|important|useful|worth)|unnecessary|overkill|irrelevant)\b",
    re.IGNORECASE,
)


class Evidence(BaseModel):
    """A span of the answer that supports a finding, with the step its sentence was judged to be and how
    sure that judgement is (the sentence's probability of that step; see ``step_model``)."""

    model_config = ConfigDict(frozen=True)

    text: str
    start: int
    end: int
    step: str | None = None
    probability: float | None = None


@dataclass(frozen=True, slots=True)
class _Key:
    """A phrase's key for one index: the text, the edits a typo may make, and the typo buckets (first
    character, length) whose window keys can be within those edits."""

    text: str
    edits: int
    buckets: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class _Phrase:
    stems: _Key  # stems joined without separators
    letters: _Key  # lower-case letters and digits joined, before stemming


def _key(text: str) -> _Key:
    edits = _allowed_edits(len(text))
    # A typo match starts with the phrase's letter, is long enough to allow a typo itself, and (being
    # within `edits` edits) differs in length by at most `edits`: only those buckets are compared.
    lengths = range(max(len(text) - edits, FUZZY_MIN_CHARS), len(text) + edits + 1) if edits else ()
    return _Key(text, edits, tuple((text[0], n) for n in lengths))


@lru_cache(maxsize=50_000)
def _compile_phrase(phrase: str) -> _Phrase | None:
    tokens = tokenize(phrase)
    if not tokens:
        return None
    letters = "".join(phrase[t.start : t.end].casefold() for t in tokens)
    return _Phrase(_key("".join(t.stem for t in tokens)), _key(letters))


@lru_cache(maxsize=REMEMBERED_PHRASE_SETS)
def _wanted_keys(phrases: frozenset[str]) -> tuple[dict[str, int], dict[str, int]]:
    """For the stem keys and for the letter keys of ``phrases``: by first character, the lengths a
    window's key may have to match one of them (exactly, or within its allowed edits) as a bit mask."""
    stems: dict[str, int] = {}
    letters: dict[str, int] = {}
    for phrase in phrases:
        compiled = _compile_phrase(phrase)
        if compiled is None:
            continue
        for key, wanted in ((compiled.stems, stems), (compiled.letters, letters)):
            first, n = key.text[:1], len(key.text)
            for length in range(n - key.edits, n + key.edits + 1):
                wanted[first] = wanted.get(first, 0) | 1 << length
    return stems, letters


def _allowed_edits(length: int) -> int:
    if length >= FUZZY_TWO_EDITS_CHARS:
        return 2
    if length >= FUZZY_MIN_CHARS:
        return 1
    return 0


class _WindowIndex:
    """Word windows by key (their stems, or their letters, joined). The windows of one key are chained
    through ``next`` (-1 ends a chain) instead of kept in a list per key: a long answer has tens of
    thousands of windows, and plain ints cost the garbage collector nothing, where a list and a tuple per
    window made a 5,000-word grading trigger a full collection (~0.2 s beside torch) every few answers."""

    __slots__ = ("heads", "next", "_typo_keys")

    def __init__(self) -> None:
        self.heads: dict[str, int] = {}
        self.next: list[int] = []
        self._typo_keys: dict[tuple[str, int], list[str]] | None = None

    def windows(self, key: str) -> Iterator[int]:
        w = self.heads.get(key, -1)
        while w >= 0:
            yield w
            w = self.next[w]

    def typo_keys(self) -> dict[tuple[str, int], list[str]]:
        """The keys long enough to be forgiven a typo, by (first character, length)."""
        if self._typo_keys is None:
            buckets: dict[tuple[str, int], list[str]] = {}
            for key in self.heads:
                n = len(key)
                if n >= FUZZY_MIN_CHARS:  # _allowed_edits(n) >= 1
                    buckets.setdefault((key[0], n), []).append(key)
            self._typo_keys = buckets
        return self._typo_keys


class SectionText:
    """The word windows of one region of the answer, indexed for phrase look-up.

    Given ``phrases`` (the ones that will be looked up), it keeps only the windows that could match one
    of them: a window matches a phrase's key exactly or within a typo, so it starts with the key's
    first character and its length is within the key's allowed edits of the key's. Over a step's
    phrases that is half of the windows (on a medium answer, indexing 8.2 to 6.7 ms and the look-ups
    8.7 to 5.5 ms). A phrase outside ``phrases`` is still found, in a complete index made when first
    asked."""

    def __init__(
        self, text: str, regions: Sequence[tuple[int, int]], *, max_words: int = 6,
        phrases: Iterable[str] | None = None,
    ) -> None:
        self.text = text
        self.regions = sorted(regions)
        self.tokens: list[Token] = []
        self._break_starts: list[int] = []
        self._break_ends: list[int] = []
        # Window w covers tokens [_window_first[w], _window_stop[w]); both indexes number windows alike.
        self._window_first: list[int] = []
        self._window_stop: list[int] = []
        self._by_stems = _WindowIndex()
        self._by_letters = _WindowIndex()
        self._max_words = max_words
        # Phrases the kept windows serve (None: all), and the lengths of the stem and letter keys kept,
        # by first character, as bit masks (bit n: keys of n characters).
        self._phrases = None if phrases is None else frozenset(phrases)
        self._wanted = None if self._phrases is None else _wanted_keys(self._phrases)
        self._complete: SectionText | None = None
        # Spans found per phrase: scoring and the integrity checks look up the same phrases.
        self._found: dict[str, list[tuple[int, int]]] = {}
        self._negated: dict[tuple[int, int], bool] = {}
        for start, end in self.regions:
            self._break_starts.append(start)
            self._break_ends.append(start)
            for m in _CLAUSE_BREAK.finditer(text, start, end):
                self._break_starts.append(m.start())
                self._break_ends.append(m.end())
            self._break_starts.append(end)
            self._break_ends.append(end)
            self._index_region(start, end, max_words)

    def _index_region(self, start: int, end: int, max_words: int) -> None:
        text = self.text
        first = len(self.tokens)
        self.tokens.extend(tokenize(text, start, end))
        toks = self.tokens[first:]
        stems = [t.stem for t in toks]
        letters = [text[t.start : t.end].casefold() for t in toks]
        # joined[k]: whether token k continues the phrase of token k - 1 (only a joiner between them;
        # most gaps are one space, which is tested first)
        joined = [False] + [
            (b.start - a.end == 1 and text[a.end] == " ") or _JOINER.fullmatch(text, a.end, b.start) is not None
            for a, b in zip(toks, toks[1:])
        ]
        window_first, window_stop = self._window_first, self._window_stop
        stem_heads, stem_next = self._by_stems.heads, self._by_stems.next
        letter_heads, letter_next = self._by_letters.heads, self._by_letters.next
        # The key lengths kept (bit n: n characters) by the first character of each token's stem and
        # letters; -1 (every bit) keeps every window. A stem may be empty (rarely): None, and the
        # window's key starts with a later token's.
        stem_masks: list[int | None]
        if self._wanted is None:
            want_stems: dict[str, int] = {}
            stem_masks = [-1] * len(toks)
            letter_masks = [-1] * len(toks)
        else:
            want_stems, want_letters = self._wanted
            stem_masks = [want_stems.get(stem[:1], 0) if stem else None for stem in stems]
            letter_masks = [want_letters.get(word[:1], 0) for word in letters]
        n = len(toks)
        for i in range(n):
            stem_mask, letter_mask = stem_masks[i], letter_masks[i]
            if not stem_mask and not letter_mask and stem_mask is not None:
                continue  # no phrase's key starts with this word's first character
            stem_key, letter_key = "", ""
            for j in range(i, min(i + max_words, n)):
                if j > i and not joined[j]:
                    break
                stem_key += stems[j]
                letter_key += letters[j]
                if stem_mask is None:  # the stems so far are empty
                    mask = want_stems.get(stem_key[:1], 0)
                    stem_lengths = mask >> len(stem_key)
                    if stem_key:
                        stem_mask = mask
                else:
                    stem_lengths = stem_mask >> len(stem_key)
                letter_lengths = letter_mask >> len(letter_key)
                if not stem_lengths and not letter_lengths:
                    if stem_mask is not None:
                        break  # no wanted key is this long, and the keys only grow
                    continue
                keep_stem, keep_letters = stem_lengths & 1, letter_lengths & 1
                if not keep_stem and not keep_letters:
                    continue
                w = len(window_first)
                window_first.append(first + i)
                window_stop.append(first + j + 1)
                stem_next.append(stem_heads.get(stem_key, -1) if keep_stem else -1)
                if keep_stem:
                    stem_heads[stem_key] = w
                letter_next.append(letter_heads.get(letter_key, -1) if keep_letters else -1)
                if keep_letters:
                    letter_heads[letter_key] = w

    def occurrences(self, phrase: str) -> list[tuple[int, int]]:
        """Character spans where ``phrase`` occurs, exactly or within a small typo, in text order."""
        spans = self._found.get(phrase)
        if spans is None:
            if self._phrases is not None and phrase not in self._phrases:
                if self._complete is None:
                    self._complete = SectionText(self.text, self.regions, max_words=self._max_words)
                return self._complete.occurrences(phrase)
            spans = self._found[phrase] = self._find(phrase)
        return list(spans)

    def _find(self, phrase: str) -> list[tuple[int, int]]:
        compiled = _compile_phrase(phrase)
        if compiled is None:
            return []
        found: set[int] = set()
        for key, index in ((compiled.stems, self._by_stems), (compiled.letters, self._by_letters)):
            if key.text in index.heads:
                found.update(index.windows(key.text))
            if key.edits:
                typo_keys = index.typo_keys()
                for bucket in key.buckets:
                    for cand in typo_keys.get(bucket, ()):
                        if Levenshtein.distance(key.text, cand, score_cutoff=key.edits) <= key.edits:
                            found.update(index.windows(cand))
        if not found:
            return []
        tokens = self.tokens
        spans = {(tokens[self._window_first[w]].start, tokens[self._window_stop[w] - 1].end) for w in found}
        return sorted(spans)

    def is_negated(self, start: int, end: int) -> bool:
        """Whether the mention at [start, end) sits in a clause that negates it."""
        negated = self._negated.get((start, end))
        if negated is None:  # the stuffing check and each concept ask about the same mentions
            negated = self._negated[(start, end)] = self._is_negated(start, end)
        return negated

    def _is_negated(self, start: int, end: int) -> bool:
        text = self.text
        k = bisect.bisect_right(self._break_ends, start)
        clause_start = self._break_ends[k - 1] if k else 0
        words = _WORDS.findall(text[clause_start:start].casefold().replace("\u2019", "'"))[-NEGATION_WINDOW:]
        for i, word in enumerate(words):
            nxt = words[i + 1] if i + 1 < len(words) else ""
            if (word in _NEGATORS and nxt not in _NEGATION_EXCEPTIONS) or (word == "no" and nxt == "need"):
                return True
        k = bisect.bisect_left(self._break_starts, end)
        clause_end = self._break_starts[k] if k < len(self._break_starts) else len(text)
        after = " ".join(text[end:clause_end].split())
        return bool(_NEGATED_AFTER.match(after.replace("\u2019", "'")))

    def positive_spans(self, phrases: Iterable[str]) -> list[tuple[int, int]]:
        """Spans of the non-negated mentions of any of ``phrases``, in text order, overlapping spans
        merged."""
        spans: set[tuple[int, int]] = set()
        for phrase in phrases:
            spans.update(self.occurrences(phrase))
        kept: list[tuple[int, int]] = []
        for s, e in sorted(spans, key=lambda p: (p[0], -p[1])):
            if kept and s < kept[-1][1]:
                continue
            if not self.is_negated(s, e):
                kept.append((s, e))
        return kept

    def positive_evidence(self, phrases: Iterable[str]) -> list[Evidence]:
        """The non-negated mentions of any of ``phrases`` as evidence (see positive_spans)."""
        return [Evidence(text=self.text[s:e], start=s, end=e) for s, e in self.positive_spans(phrases)]


def find_concept(section: SectionText, concept: Concept) -> list[Evidence]:
    """Evidence that the section mentions ``concept`` (empty if it does not, or only negatively)."""
    return section.positive_evidence(concept.phrases)[:MAX_EVIDENCE]


def find_anti_pattern(section: SectionText, anti: AntiPattern) -> list[Evidence]:
    """Evidence of the mistake: a trigger mentioned and no ``unless`` phrase; empty when absent."""
    hits = section.positive_evidence(anti.triggers)
    if not hits or (anti.unless and section.positive_evidence(anti.unless)):
        return []
    return hits[:MAX_EVIDENCE]


def concept_coverage(matched: Sequence[tuple[Concept, float]], target: float) -> float:
    """Weighted share of concepts matched, where ``target`` of the total weight earns 1.0. A concept's
    credit is 1 or 0 (matched or not), or a share for a mention in a sentence that may belong elsewhere."""
    total = sum(c.weight for c, _ in matched)
    if total <= 0:
        return 0.0
    hit = sum(c.weight * float(credit) for c, credit in matched)
    return min(1.0, hit / (target * total))


class WeightedText:
    """The whole answer as seen by one step: each unit (a sentence, or a heading) carries a weight, how
    far it counts as that step's content (0 to 1, from its probability of belonging to the step), and
    the step it was judged to be with that judgement's probability. Evidence is looked for everywhere,
    and a mention earns the weight of its unit, so a sentence placed in the wrong step costs part of its
    credit, never all of it."""

    def __init__(
        self, section: SectionText, unit_starts: Sequence[int], weights: Sequence[float],
        judged: Sequence[tuple[str | None, float]],
    ) -> None:
        self.section = section
        self.unit_starts = list(unit_starts)
        self.weights = list(weights)
        self.judged = list(judged)

    def unit_of(self, start: int) -> int:
        """The index of the unit holding character ``start``."""
        return max(0, bisect.bisect_right(self.unit_starts, start) - 1)

    def weighted_evidence(self, phrases: Iterable[str]) -> list[tuple[float, Evidence]]:
        """Non-negated mentions of ``phrases`` in units of some weight for the step, heaviest first (then
        in text order), each with its unit's weight."""
        found = []
        for s, e in self.section.positive_spans(phrases):
            u = self.unit_of(s)
            w = self.weights[u]
            if w > 0:
                step, prob = self.judged[u]
                found.append((w, Evidence(text=self.section.text[s:e], start=s, end=e, step=step,
                                          probability=round(prob, 4))))
        found.sort(key=lambda we: (-we[0], we[1].start))
        return found

    def concept(self, concept: Concept) -> tuple[float, list[Evidence]]:
        """The concept's credit (the weight of its best mention; 0 if none) and its evidence."""
        found = self.weighted_evidence(concept.phrases)
        if not found:
            return 0.0, []
        return found[0][0], [ev for _, ev in found[:MAX_EVIDENCE]]

    def anti_pattern(self, anti: AntiPattern, step: str) -> list[Evidence]:
        """Evidence of the mistake in the sentences judged to be ``step`` (so that one mistake is charged
        to one step): a trigger mentioned there and no ``unless`` phrase; empty when absent."""
        hits = [ev for _, ev in self.weighted_evidence(anti.triggers) if ev.step == step]
        if not hits or (anti.unless and any(ev.step == step for _, ev in self.weighted_evidence(anti.unless))):
            return []
        return sorted(hits, key=lambda ev: ev.start)[:MAX_EVIDENCE]
