"""Text primitives shared by the stages: word tokens with spans, stems, and sentence spans.

Stemming uses snowballstemmer (the Porter2/English Snowball algorithm, pure Python, the stemmer Sphinx
and many IR tools rely on); sentence boundaries come from pysbd (rule-based, handles abbreviations such
as "e.g." and decimals such as "v2.1" that a regex splitter breaks on). pysbd runs with three speed-ups
that give its own sentences (tests/test_fast_paths.py checks each against pysbd itself): kept and
pre-checked patterns (_PysbdPatterns), no abbreviation pass where no period follows (_AbbreviationReplacer)
and sentences located with str.find (_Segmenter). Together they split three times faster.
"""

from __future__ import annotations

import re
import re._constants as _sre
import sys
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from re._parser import parse as _sre_parse
from string import ascii_lowercase
from typing import Any, NamedTuple

import pysbd
import snowballstemmer
from pysbd.lang.english import English
from pysbd.lists_item_replacer import ListItemReplacer
from pysbd.utils import TextSpan

__all__ = [
    "Token", "Span", "tokenize", "stem", "split_sentences", "rubric_sentences", "normalize_phrase",
    "normalize_line_ends",
]

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_BLANK_RUN = re.compile(r"[ \t]+")
_STEMMER = snowballstemmer.stemmer("english")
_STEM_LOCK = threading.Lock()
_SEGMENTER_LOCAL = threading.local()
# Compiled regular expressions kept for pysbd (see _PysbdPatterns): it builds about 650 distinct
# patterns over a long answer (three for each of its 188 abbreviations that a line contains).
PYSBD_PATTERNS = 2_048


_NEW_TUPLE = tuple.__new__


class Token(NamedTuple):
    """A word of the text: its stem and its code-point span [start, end). A named tuple rather than a
    frozen dataclass, whose __init__ made tokenizing a third slower (2.1 ms against 1.4 ms for a
    1,500-word answer)."""

    stem: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Span:
    """A code-point span [start, end) of the answer."""

    start: int
    end: int


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Case-folded, accent-stripped Snowball stem of one word."""
    folded = unicodedata.normalize("NFKD", word.casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    with _STEM_LOCK:  # the Snowball stemmer object keeps state between calls
        return str(_STEMMER.stemWord(folded))


def tokenize(text: str, start: int = 0, end: int | None = None) -> list[Token]:
    """Word tokens of ``text[start:end]`` with spans into ``text``."""
    stop = len(text) if end is None else end
    found = list(_WORD.finditer(text, start, stop))
    # The tuples made by tuple.__new__ in C rather than by Token's own __new__ (a Python function): the
    # same tokens, in 0.9 ms instead of 1.5 for a 1,500-word answer.
    fields = zip(map(stem, [m.group() for m in found]), [m.start() for m in found], [m.end() for m in found])
    return list(map(_NEW_TUPLE, repeat(Token), fields))


_LONE_CR = re.compile(r"\r(?!\n)")


def normalize_line_ends(text: str) -> str:
    """``text`` with each lone carriage return (a classic Mac OS line end) made a line feed. Markdown reads
    a lone CR as a line end, and every stage splits lines at LF; the length is kept, so the offsets of
    evidence and sections are those of the text given."""
    return _LONE_CR.sub("\n", text) if "\r" in text else text


def normalize_phrase(phrase: str) -> tuple[str, ...]:
    """The stems of a phrase, as the keyword matcher compares them."""
    return tuple(t.stem for t in tokenize(phrase))


@lru_cache(maxsize=PYSBD_PATTERNS)
def _compiled(pattern: str | re.Pattern[str], flags: int) -> re.Pattern[str]:
    return re.compile(pattern, flags)


# Stands for "some decimal digit" among what a pattern needs (``\d``, pysbd's lists and numbers). What a
# pattern needs is a character, or a character class (such as this, or "[A-Z]") that one character of
# every match is in: of two or more characters, it is searched for as a pattern of its own.
_A_DIGIT = r"\d"


def _class_source(items: list[tuple[Any, Any]]) -> str | None:
    r"""A parsed character class as pattern source, if it is made of characters, ranges and ``\d`` only."""
    parts = []
    for op, av in items:
        if op is _sre.LITERAL:
            parts.append(re.escape(chr(av)))
        elif op is _sre.RANGE:
            parts.append(f"{re.escape(chr(av[0]))}-{re.escape(chr(av[1]))}")
        elif op is _sre.CATEGORY and av is _sre.CATEGORY_DIGIT:
            parts.append(_A_DIGIT)
        else:  # a negated class, or one with spaces or word characters, which nearly every line holds
            return None
    source = parts[0] if parts == [_A_DIGIT] else "[" + "".join(parts) + "]"
    # pysbd runs on lower-cased lines, where a class with a lower-case letter is nearly always hit: its
    # search would cost more than the few patterns it lets skip
    return None if re.search(source, ascii_lowercase) else source


def _mandatory_characters(items: Any) -> set[str]:
    r"""What every match of a parsed (sub)pattern contains: its literals outside optional parts,
    alternatives (but for those all branches share) and negative lookarounds; and for each character
    class it must match (``\d``, ``[A-Z]``, ``(!|\?)``), the class (see _A_DIGIT)."""
    out: set[str] = set()
    for op, av in items:
        if op is _sre.LITERAL:
            out.add(chr(av))
        elif op is _sre.IN:
            if len(av) == 1 and av[0][0] is _sre.LITERAL:
                out.add(chr(av[0][1]))
            elif (source := _class_source(av)) is not None:
                out.add(source)
        elif op is _sre.SUBPATTERN:
            if not av[1] & re.IGNORECASE:  # (?i:...) matches other letters
                out |= _mandatory_characters(av[3])
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
            if av[0] >= 1:
                out |= _mandatory_characters(av[2])
        elif op is _sre.ATOMIC_GROUP:
            out |= _mandatory_characters(av)
        elif op is _sre.ASSERT:  # a lookahead or lookbehind that must match
            out |= _mandatory_characters(av[1])
        elif op is _sre.BRANCH:
            out |= set.intersection(*(_mandatory_characters(branch) for branch in av[1]))
    return out


# Two of pysbd's list patterns written as one lookbehind instead of alternatives that differ only in it
# ("(?<=^)x|(?<=\A)x|(?<=\s)x" is "(?<!\S)x" where "^" means the start): the same matches, found 2.7
# times faster; run on every line with a period, they were a tenth of sentence splitting.
# tests/test_fast_paths.py compares each pair on random and real text.
_FASTER_EQUIVALENTS = {
    ListItemReplacer.ALPHABETICAL_LIST_WITH_PERIODS: r"(?<!\S)[a-z](?=\.)",
    ListItemReplacer.ALPHABETICAL_LIST_WITH_PARENS: r"(?<![^\s(])[a-z]+(?=\))",
}


@lru_cache(maxsize=PYSBD_PATTERNS)
def _pattern(pattern: str | re.Pattern[str], flags: int) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """The compiled pattern (or its faster equivalent), and what it cannot match without (see
    _mandatory_characters; none when case is ignored, where a literal also matches other characters):
    the characters first, which are cheaper to test than the classes."""
    if isinstance(pattern, str) and not flags & re.MULTILINE:
        pattern = _FASTER_EQUIVALENTS.get(pattern, pattern)
    compiled = re.compile(pattern, flags)
    parsed = _sre_parse(compiled.pattern, compiled.flags)
    if parsed.state.flags & re.IGNORECASE:
        return compiled, ()
    return compiled, tuple(sorted(_mandatory_characters(parsed), key=lambda need: (len(need) > 1, need)))


class _PysbdPatterns:
    """Stands in for the ``re`` module inside pysbd, with the same functions and results.

    pysbd passes its patterns to ``re`` as strings at every call, and over a long answer they are more
    than the 512 compiled patterns ``re`` keeps, which it drops oldest first: every line compiled them
    all again, 40% of sentence splitting (measured on a 5,000-word answer). Here they are kept. And most
    of its rules cannot apply to a given line (a placeholder, a parenthesis or a digit the pattern needs
    is not in it: four calls in five over the examples): a pattern is only run on a string that holds
    every character it needs (and a character of each class it must hit, such as a digit or a capital),
    otherwise the result of no match is returned at once.
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(re, name)

    @staticmethod
    def _compiled(pattern: str | re.Pattern[str], flags: int, string: str) -> re.Pattern[str] | None:
        compiled, needed = _pattern(pattern, flags)
        for need in needed:
            if (need not in string) if len(need) == 1 else (_compiled(need, 0).search(string) is None):
                return None
        return compiled

    def sub(self, pattern: str | re.Pattern[str], repl: Any, string: str, count: int = 0, flags: int = 0) -> str:
        compiled = self._compiled(pattern, flags, string)
        return str.__str__(string) if compiled is None else compiled.sub(repl, string, count)

    def findall(self, pattern: str | re.Pattern[str], string: str, flags: int = 0) -> list[Any]:
        compiled = self._compiled(pattern, flags, string)
        return [] if compiled is None else compiled.findall(string)

    def finditer(self, pattern: str | re.Pattern[str], string: str, flags: int = 0) -> Iterator[re.Match[str]]:
        compiled = self._compiled(pattern, flags, string)
        return iter(()) if compiled is None else compiled.finditer(string)

    def search(self, pattern: str | re.Pattern[str], string: str, flags: int = 0) -> re.Match[str] | None:
        compiled = self._compiled(pattern, flags, string)
        return None if compiled is None else compiled.search(string)

    def match(self, pattern: str | re.Pattern[str], string: str, flags: int = 0) -> re.Match[str] | None:
        compiled = self._compiled(pattern, flags, string)
        return None if compiled is None else compiled.match(string)

    def split(self, pattern: str | re.Pattern[str], string: str, maxsplit: int = 0, flags: int = 0) -> list[Any]:
        compiled = self._compiled(pattern, flags, string)
        return [str.__str__(string)] if compiled is None else compiled.split(string, maxsplit)


def _share_compiled_patterns() -> None:
    patterns = _PysbdPatterns()
    for name, module in list(sys.modules.items()):
        if (name == "pysbd" or name.startswith("pysbd.")) and getattr(module, "re", None) is re:
            module.re = patterns  # type: ignore[attr-defined]


_share_compiled_patterns()


_PLAIN_ABBREVIATION = re.compile(r"[a-z]+")


class _AbbreviationTable:
    """pysbd's abbreviations split by the test _AbbreviationReplacer applies to them on an ASCII line: a
    plain one (letters only) counts where it is followed by a period, any other where it occurs."""

    def __init__(self, abbreviations: list[str]) -> None:
        stripped = [a.strip() for a in abbreviations]
        self.plain = frozenset(a for a in stripped if _PLAIN_ABBREVIATION.fullmatch(a))
        self.lengths = sorted({len(a) for a in self.plain})
        self.other = tuple(dict.fromkeys(a for a in stripped if a not in self.plain))

    def passing(self, lowered: str) -> set[str]:
        """The abbreviations that ``lowered`` (a lower-cased ASCII line) holds as the test asks."""
        found = {a for a in self.other if a in lowered}
        period = lowered.find(".")
        while period >= 0:
            for length in self.lengths:
                if length > period:
                    break
                if lowered[period - length : period] in self.plain:
                    found.add(lowered[period - length : period])
            period = lowered.find(".", period + 1)
        return found


_ENGLISH_ABBREVIATIONS = _AbbreviationTable(English.Abbreviation.ABBREVIATIONS)


class _AbbreviationReplacer(English.AbbreviationReplacer):  # type: ignore[misc]
    """pysbd's abbreviation pass for English, skipping each abbreviation that no period follows.

    pysbd looks up each of its 188 abbreviations that occurs in a line as a substring ("co" in
    "compute", "st" in "first") and runs a substitution for every word that starts with it: a fifth of
    grading time. Every substitution only turns a period right after the abbreviation into a placeholder,
    and no step adds a period, so where the abbreviation is nowhere followed by a period (matched as pysbd
    matches it, ignoring case) the pass changes nothing and is skipped. The rest is pysbd's own loop.
    """

    def search_for_abbreviations_in_string(self, text: str) -> str:
        lowered = text.lower()
        ascii_text = text.isascii()
        # On ASCII text, the abbreviations that pass the two tests below, found from the line's periods
        # instead of testing each of the 188 (12% of sentence splitting on the benchmark's medium answer).
        passing = None
        if ascii_text and self.lang.Abbreviation.ABBREVIATIONS is English.Abbreviation.ABBREVIATIONS:
            passing = _ENGLISH_ABBREVIATIONS.passing(lowered)
        if passing is not None and not passing:
            return text
        for abbr in self.lang.Abbreviation.ABBREVIATIONS:
            stripped = abbr.strip()
            if passing is not None:
                if stripped not in passing:
                    continue
            elif stripped not in lowered:
                continue
            elif (
                _PLAIN_ABBREVIATION.fullmatch(stripped)
                and stripped + "." not in lowered
                # beyond ASCII, ignoring case also matches e.g. the long s to "s": ask the same regex engine
                and not _compiled(re.escape(stripped) + r"\.", re.IGNORECASE).search(text)
            ):
                continue
            abbrev_match = _compiled(r"(?:^|\s|\r|\n){}".format(stripped), re.IGNORECASE).findall(text)
            if not abbrev_match:
                continue
            next_word_start = r"(?<={" + str(re.escape(stripped)) + "} ).{1}"
            char_array = _compiled(next_word_start, 0).findall(text)
            for ind, match in enumerate(abbrev_match):
                text = self.scan_for_replacements(text, match, ind, char_array)
        return text


class _English(English):  # type: ignore[misc]
    AbbreviationReplacer = _AbbreviationReplacer


class _Segmenter(pysbd.Segmenter):  # type: ignore[misc]
    r"""pysbd's segmenter, locating its sentences in the text with ``str.find`` instead of a regular
    expression made from each sentence (``re.escape(sentence) + r"\s*"``): the same spans, without
    compiling a pattern per sentence, which was a fifth of sentence splitting and pushed pysbd's
    reusable patterns out of the compiled-pattern cache."""

    def sentences_with_char_spans(self, sentences: list[str]) -> list[TextSpan]:
        text = self.original_text
        spans: list[TextSpan] = []
        prior_end = 0
        for sentence in sentences:
            if not sentence:  # an empty pattern matches everywhere: leave that to pysbd
                return list(super().sentences_with_char_spans(sentences))
            pos = 0
            # the first non-overlapping occurrence, with the blanks after it, that ends past the last span
            while (found := text.find(sentence, pos)) >= 0:
                end = found + len(sentence)
                while end < len(text) and text[end].isspace():  # r"\s" is str.isspace() on str patterns
                    end += 1
                if end > prior_end:
                    spans.append(TextSpan(text[found:end], found, end))
                    prior_end = end
                    break
                pos = end
        return spans


def _segmenter() -> pysbd.Segmenter:
    seg = getattr(_SEGMENTER_LOCAL, "segmenter", None)
    if seg is None:
        seg = _Segmenter(language="en", clean=False)
        seg.language_module = _English
        _SEGMENTER_LOCAL.segmenter = seg
    return seg


# A line with no sentence-ending mark before more text is one sentence; pysbd is only run on the rest.
_INNER_END = re.compile(r"[.!?][\"')\]]*\s+\S")
# Rubric texts whose sentence spans are remembered: the bundled rubrics hold 202 model answers, so this
# keeps every criterion of many rubrics; answers are never remembered (each is seen once).
REMEMBERED_RUBRIC_TEXTS = 4_096


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentence spans of ``text[start:end]``: every line is split on its own, spans exclude outer blanks.

    Lines come first because answers are written in lines (bullets, headings, list items) whose ends
    are sentence ends even without a period.
    """
    stop = len(text) if end is None else end
    spans: list[Span] = []
    pos = start
    while pos < stop:
        nl = text.find("\n", pos, stop)
        line_end = stop if nl < 0 else nl
        _split_line(text, pos, line_end, spans)
        pos = line_end + 1
    return spans


@lru_cache(maxsize=REMEMBERED_RUBRIC_TEXTS)
def rubric_sentences(text: str) -> tuple[str, ...]:
    """The sentences of a rubric text (a model answer), as ``split_sentences`` finds them, remembered:
    grading splits the same model answers again for every answer."""
    return tuple(text[s.start : s.end] for s in split_sentences(text))


def _split_line(text: str, start: int, end: int, out: list[Span]) -> None:
    line = text[start:end]
    if not line.strip() or not _WORD.search(line):
        return
    if not _INNER_END.search(line):
        _append_trimmed(text, start, end, out)
        return
    canon, origin = _canonical(line)  # boundaries must not depend on letter case or space width
    cursor = 0
    for piece in _segmenter().segment(canon):
        piece_text = str(piece)
        found = canon.find(piece_text, cursor)
        if found < 0 or not piece_text:  # pysbd altered the text: keep the rest of the line whole
            break
        _append_trimmed(text, start + origin[found], start + origin[found + len(piece_text) - 1] + 1, out)
        cursor = found + len(piece_text)
    if cursor < len(canon):
        _append_trimmed(text, start + origin[cursor], end, out)


def _canonical(line: str) -> tuple[str, Sequence[int]]:
    """The line lower-cased character by character with runs of spaces and tabs folded to one space,
    and for each of its characters the offset it came from."""
    lowered = line.lower()
    if "\u03a3" in line or len(lowered) != len(line):
        return _canonical_by_character(line)
    # lower() of a line is lower() of each of its characters but for the capital sigma (whose lower case
    # depends on its place in a word) and characters whose lower case is longer (which change the
    # length): without those, only the runs of blanks need folding, and most lines have none (each
    # character then comes from its own offset: 1 ms of a medium answer's grading, built as a list).
    if "\t" not in line and "  " not in line:
        return lowered, range(len(line))
    parts: list[str] = []
    origin: list[int] = []
    pos = 0
    for m in _BLANK_RUN.finditer(line):
        parts += (line[pos : m.start()], " ")
        origin += range(pos, m.start() + 1)
        pos = m.end()
    parts.append(line[pos:])
    origin += range(pos, len(line))
    return "".join(parts).lower(), origin


def _canonical_by_character(line: str) -> tuple[str, Sequence[int]]:
    chars: list[str] = []
    origin: list[int] = []
    for i, c in enumerate(line):
        if c in " \t":
            if chars and chars[-1] == " ":
                continue
            c = " "
        low = c.lower()
        chars.append(low if len(low) == 1 else c)
        origin.append(i)
    return "".join(chars), origin


def _append_trimmed(text: str, start: int, end: int, out: list[Span]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end and _WORD.search(text, start, end):
        out.append(Span(start, end))
