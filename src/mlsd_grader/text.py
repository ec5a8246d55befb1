"""Text primitives shared by the stages: word tokens with spans, stems, and sentence spans.

Stemming uses snowballstemmer (the Porter2/English Snowball algorithm, pure Python, the stemmer Sphinx
and many IR tools rely on); sentence boundaries come from pysbd (rule-based, handles abbreviations such
as "e.g." and decimals such as "v2.1" that a regex splitter breaks on).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import pysbd
import snowballstemmer

__all__ = ["Token", "Span", "tokenize", "stem", "split_sentences", "normalize_phrase"]

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STEMMER = snowballstemmer.stemmer("english")
_STEM_LOCK = threading.Lock()
_SEGMENTER_LOCAL = threading.local()


@dataclass(frozen=True, slots=True)
class Token:
    """A word of the text: its stem and its code-point span [start, end)."""

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
    return [Token(stem(m.group()), m.start(), m.end()) for m in _WORD.finditer(text, start, stop)]


def normalize_phrase(phrase: str) -> tuple[str, ...]:
    """The stems of a phrase, as the keyword matcher compares them."""
    return tuple(t.stem for t in tokenize(phrase))


def _segmenter() -> pysbd.Segmenter:
    seg = getattr(_SEGMENTER_LOCAL, "segmenter", None)
    if seg is None:
        seg = pysbd.Segmenter(language="en", clean=False)
        _SEGMENTER_LOCAL.segmenter = seg
    return seg


# A line with no sentence-ending mark before more text is one sentence; pysbd is only run on the rest.
_INNER_END = re.compile(r"[.!?][\"')\]]*\s+\S")


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


def _canonical(line: str) -> tuple[str, list[int]]:
    """The line lower-cased character by character with runs of spaces and tabs folded to one space,
    and for each of its characters the offset it came from."""
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
