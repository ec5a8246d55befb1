"""Text primitives shared by the stages: word tokens with spans, stems, and sentence spans.

Stemming uses snowballstemmer (the Porter2/English Snowball algorithm, pure Python, the stemmer Sphinx
and many IR tools rely on). Sentence boundaries inside a line come from sentencex (Wikimedia's
rule-based splitter, compiled; it keeps "e.g.", "i.e.", "vs." and decimals such as "v2.1" whole), used
through its public function only; which splitter and why is measured in docs/benchmarks.md.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from typing import NamedTuple

import sentencex
import snowballstemmer

__all__ = [
    "Token", "Span", "tokenize", "stem", "split_sentences", "rubric_sentences", "normalize_phrase",
    "normalize_line_ends",
]

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_BLANK_RUN = re.compile(r"[ \t]+")
_STEMMER = snowballstemmer.stemmer("english")
_STEM_LOCK = threading.Lock()


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


# A line with no sentence-ending mark before more text is one sentence; the splitter only sees the rest.
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
    piece_start = 0
    for cut in _sentence_cuts(canon):
        _append_trimmed(text, start + origin[piece_start], start + origin[cut], out)
        piece_start = cut
    _append_trimmed(text, start + origin[piece_start], end, out)


# The number that opens a numbered list item ("1. ", "- 2. ", "### 3. "): sentencex reads its period as
# a sentence end, and a markdown line is never a sentence that ends after its own number.
_ITEM_NUMBER = re.compile(r"[ \t>*+#-]*\d{1,3}\.[ \t]+")


def _sentence_cuts(canon: str) -> list[int]:
    """The offsets in ``canon`` (a canonical line) where one sentence ends and the next begins."""
    item = _ITEM_NUMBER.match(canon)
    skip = item.end() if item else 0
    bounds = sentencex.get_sentence_boundaries("en", canon[skip:] if skip else canon)
    return [skip + b["end_index"] for b in bounds[:-1]]


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
