"""Segmentation: answer text -> sections mapped to framework steps, with character spans.

Explicit structure comes first: markdown headings (parsed with markdown-it-py, which also tells code
blocks apart), "Step 3:" labels, numbered heading lines, bold labels and "Metrics:" style labels. Text
under no recognised heading is labelled sentence by sentence from content (keyword cues plus, when an
embedder is available, similarity to step prototype sentences), and a Viterbi pass turns the per-sentence
scores into contiguous sections that prefer the framework order.
"""

from __future__ import annotations

import bisect
import re
import re._constants as _sre
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from re._parser import parse as _sre_parse

import numpy as np
from markdown_it import MarkdownIt
from pydantic import BaseModel, ConfigDict
from rapidfuzz.distance import Levenshtein

from .cues import CONTENT_CUES, HEADING_CUES, HEADING_VOCABULARY, PROTOTYPES
from .text import Span, normalize_line_ends

__all__ = [
    "Section",
    "Heading",
    "find_headings",
    "body_sentences",
    "segment_text",
    "step_prototypes",
    "classify_heading",
    "required_literals",
]

STEPS: tuple[str, ...] = tuple(HEADING_CUES)
_NONE = len(STEPS)  # index of the "unassigned" state

# Confidence of a section whose step comes from its heading: a cue match, a typo-tolerant match,
# a sub-heading inheriting its parent's step, or only the number of "Step N".
HEADING_CONFIDENCE = 0.95
FUZZY_HEADING_CONFIDENCE = 0.8
INHERITED_CONFIDENCE = 0.8
NUMBER_ONLY_CONFIDENCE = 0.6

# Content segmentation. Grid-searched on the odd-numbered half of tests/gold/segmentation (7 answers,
# scored with and without headings) and checked on the even half, which it did not see: 0.964 / 0.942
# character accuracy there (docs/segmentation.md). Weight of keyword cues against prototype similarity,
CUE_WEIGHT = 0.5
# the score of the "unassigned" state (a sentence scoring below it for every step fits none),
UNASSIGNED_SCORE = 0.14
# the cost of changing step between sentences: inside a paragraph, at a blank line, and extra for going
# back in the framework order (answers mostly follow it),
SWITCH_COST = 0.25
PARAGRAPH_SWITCH_COST = 0.03
BACKWARD_COST = 0.15
# the cue weight of a sentence that opens by naming a step ("For monitoring, ..."),
LEAD_IN_CUE = 1.5
# and how many of a step's prototype sentences (the closest) are averaged into its similarity.
PROTOTYPE_TOP_K = 2
# Bonus a heading gives its steps in every sentence under it (enough to outweigh any content score),
# and the smaller hint of an inline label with no heading above it, for its own paragraph only.
HEADING_PRIOR = 1.0
LABEL_PRIOR = 0.3
# Sharpness of the softmax that turns content scores into a content-based section's confidence.
POSTERIOR_SHARPNESS = 10.0


class Section(BaseModel):
    """A span of the answer attributed to one step (``step`` None when it fits none)."""

    model_config = ConfigDict(frozen=True)

    step: str | None
    start: int
    end: int
    heading: str | None
    confidence: float


@dataclass(frozen=True, slots=True)
class Heading:
    """A heading or label: its span in the answer, its label text, level, and the steps it names."""

    start: int
    end: int
    label: str
    level: int
    steps: tuple[str, ...]
    confidence: float


# ---------------------------------------------------------------- heading detection

# Only block structure is read (headings, fences); the inline pass (emphasis, links inside paragraphs)
# changes no block token and took a third of the parse.
_MD = MarkdownIt("commonmark").disable("inline")
_INNER_BLANKS = re.compile(r"(?<=[^ \t\n])[ \t]+")
_BOLD_LABEL = re.compile(
    r"^[ \t]*(?:[-*+][ \t]+|\d{1,2}[.)][ \t]+)?(\*\*|__)(?P<label>[^*_\n]{2,300}?)\1[ \t]*:?[ \t]*",
    re.MULTILINE,
)
_STEP_LABEL = re.compile(
    r"^[ \t]*(?:\*\*|__)?step[ \t]*(?P<num>\d{1,2})[ \t]*[:.)\-\u2013\u2014]?[ \t]*(?P<label>[^\n:*]{0,300}?)"
    r"[ \t]*(?:\*\*|__)?[ \t]*(?::|$)[ \t]*",
    re.IGNORECASE | re.MULTILINE,
)
_NUMBERED_LINE = re.compile(r"^[ \t]*(?P<num>\d{1,2})[.)][ \t]+(?P<label>[^\n]{2,300}?)[ \t]*:?[ \t]*$", re.MULTILINE)
_COLON_LABEL = re.compile(r"^[ \t]*(?:[-*+][ \t]+)?(?P<label>[A-Za-z][A-Za-z \t&/,\-()]{1,300}?):[ \t]*", re.MULTILINE)
_LABEL_MAX_WORDS = 7
# Numbered lines that name no step still structure the answer when there are at least this many
# numbered section lines (a framework answer has seven; three rules out short numbered lists).
MIN_NUMBERED_SECTIONS = 3
INLINE_LABEL_LEVEL = 10
# Heading levels: markdown headings are 1-6; labels on a line of their own rank below them; a label
# followed by text on its line ("Baseline: logistic regression"), and any plain "Label:", is the lowest:
# under a recognised heading it names a sub-topic of that step, and where no heading is active it only
# hints at the step of its own paragraph.
_LABEL_LEVELS = {"step": 7, "numbered": 8, "bold": 8, "colon": INLINE_LABEL_LEVEL}
# A "Label:" at a line start is a heading only when it reads like one: a few words, no verb or pronoun
# ("Metrics:" or "Offline evaluation:", not "The feature is:" or "Training data would come from:").
_COLON_LABEL_MAX_WORDS = 4
_NOT_A_LABEL = re.compile(
    r"\b(is|are|was|were|be|would|will|should|can|could|we|i|you|they|it|this|that|these|there|do|does)\b",
    re.IGNORECASE,
)


@lru_cache(maxsize=4096)
def classify_heading(label: str) -> tuple[tuple[str, ...], float]:
    """The steps a heading names (usually one; two for "Evaluation & deployment") and a confidence."""
    low = " ".join(label.casefold().split())
    scores = {step: sum(w for rx, w in cues if rx.search(low)) for step, cues in HEADING_CUES.items()}
    confidence = HEADING_CONFIDENCE
    if max(scores.values()) < 1:
        for word in re.findall(r"[a-z]{5,}", low):
            for vocab, step in HEADING_VOCABULARY.items():
                if Levenshtein.distance(word, vocab, score_cutoff=1) <= 1 and word[0] == vocab[0]:
                    scores[step] += 1.5
                    confidence = FUZZY_HEADING_CONFIDENCE
    best = max(scores.values())
    if best < 1:
        return (), 0.0
    named = [s for s in STEPS if scores[s] >= max(1.0, best * 0.6)]
    if len(named) > 1:
        named.sort(key=lambda s: _first_cue_position(low, s))
    return tuple(named[:2]), confidence


def _first_cue_position(low: str, step: str) -> int:
    positions = [m.start() for rx, _ in HEADING_CUES[step] if (m := rx.search(low))]
    return min(positions, default=len(low))


def _line_offsets(text: str) -> list[int]:
    offsets = [0]
    for m in re.finditer("\n", text):
        offsets.append(m.end())
    return offsets


def find_headings(text: str) -> list[Heading]:
    """Every heading or step label in the answer, in text order."""
    text = text.replace("\ufeff", " ")  # a byte-order mark must not hide the first heading
    # markdown-it ends a line at a lone CR too: so must the line offsets its line numbers index
    text = normalize_line_ends(text)
    lines = _line_offsets(text)
    headings: dict[int, Heading] = {}
    code_lines: set[int] = set()
    # Markdown structure must not depend on how wide the spaces inside a line are ("-     # x" would be
    # indented code): parse a copy whose inner runs of blanks are single spaces; lines stay the same.
    for tok in _MD.parse(_INNER_BLANKS.sub(" ", text)):
        if tok.map is None:
            continue
        first, last = tok.map
        if tok.type == "fence":  # indented "code" in answers is nearly always indented prose
            code_lines.update(range(first, last))
        elif tok.type == "heading_open":
            start = lines[first]
            end = lines[last] if last < len(lines) else len(text)
            raw = text[start:end]
            label = re.sub(r"^[ \t]*#+[ \t]*|[ \t]*#*[ \t]*$", "", raw.split("\n")[0]).strip()
            if tok.markup in ("=", "-"):  # setext: the label is the first line
                label = raw.split("\n")[0].strip()
            level = len(tok.markup) if tok.markup.startswith("#") else (1 if tok.markup == "=" else 2)
            label = _strip_numbering(label)
            steps, conf = _label_steps(label)
            headings[start] = Heading(start, end, label, level, steps, conf)

    def line_of(pos: int) -> int:
        lo, hi = 0, len(lines) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if lines[mid] <= pos:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def free(pos: int) -> bool:
        line_start = lines[line_of(pos)]
        return line_of(pos) not in code_lines and not any(
            h.start <= line_start < h.end for h in headings.values()
        )

    unnamed: list[tuple[int, int, str]] = []
    for rx, kind in ((_STEP_LABEL, "step"), (_BOLD_LABEL, "bold"), (_NUMBERED_LINE, "numbered"), (_COLON_LABEL, "colon")):
        for m in rx.finditer(text):
            if not free(m.start()):
                continue
            label = _strip_numbering(m.group("label").strip().rstrip(":").strip())
            if len(label.split()) > _LABEL_MAX_WORDS:
                continue
            if kind == "colon" and (
                len(label.split()) > _COLON_LABEL_MAX_WORDS or _NOT_A_LABEL.search(label)
            ):
                continue
            steps, conf = _label_steps(label)
            if kind == "numbered" and label.endswith("."):
                continue
            if kind == "step":
                if not steps and 1 <= int(m.group("num")) <= len(STEPS):
                    steps, conf = (STEPS[int(m.group("num")) - 1],), NUMBER_ONLY_CONFIDENCE
            elif not steps:
                # A bold phrase, list item or "Note:" that names no step is ordinary text, unless it is
                # one of a series of numbered lines that structure the answer ("5) How we know it works").
                if kind == "numbered" and _heads_a_block(text, m.end()):
                    unnamed.append((m.start(), m.end(), label))
                continue
            end = m.end()
            line_end = text.find("\n", end)
            line_end = len(text) if line_end < 0 else line_end
            if not text[end:line_end].strip():  # the label stands alone on its line
                end = min(len(text), line_end + 1)
            inline = kind == "colon" or (end < len(text) and text[end - 1] != "\n")
            level = _LABEL_LEVELS[kind] if not inline else INLINE_LABEL_LEVEL
            headings[m.start()] = Heading(m.start(), end, label, level, steps, conf)
    numbered_structure = [h for h in headings.values() if h.level == _LABEL_LEVELS["numbered"]]
    if len(numbered_structure) + len(unnamed) >= MIN_NUMBERED_SECTIONS:
        for start, end, label in unnamed:
            if free(start):
                headings[start] = Heading(start, min(len(text), end + 1), label, _LABEL_LEVELS["numbered"], (), 0.0)
    ordered = [headings[k] for k in sorted(headings)]
    return _drop_title(ordered)


def _heads_a_block(text: str, line_end: int) -> bool:
    """Whether the line ending at ``line_end`` is followed by body text rather than by the next item of
    a plain numbered list."""
    rest = text[line_end:].lstrip("\n")
    return bool(rest) and not re.match(r"[ \t]*\d{1,2}[.)][ \t]", rest)


def _drop_title(headings: list[Heading]) -> list[Heading]:
    """A lone top-level heading above all others is the answer's title ("# Video recommendations"),
    not a step, even when its words ("ranking", "search") cue one."""
    markdown = [h for h in headings if h.level <= 6]
    if len(markdown) >= 3 and all(h.level > markdown[0].level for h in markdown[1:]):
        title = markdown[0]
        if not any(h.start < title.start for h in headings):
            headings = [Heading(title.start, title.end, title.label, title.level, (), 0.0) if h is title else h
                        for h in headings]
    return headings


def _strip_numbering(label: str) -> str:
    return re.sub(r"^(?:step[ \t]*)?\d{1,2}[.):\-]?[ \t]*|^[ivx]{1,4}[.)][ \t]+|^[a-g][.)][ \t]+", "", label,
                  flags=re.IGNORECASE).strip(" *_:")


def _label_steps(label: str) -> tuple[tuple[str, ...], float]:
    return classify_heading(label) if label else ((), 0.0)


def body_sentences(text: str, headings: Sequence[Heading]) -> list[Span]:
    """Sentence spans of the answer outside headings and labels, in text order."""
    from .text import split_sentences

    spans: list[Span] = []
    pos = 0
    for h in headings:
        spans.extend(split_sentences(text, pos, h.start))
        pos = max(pos, h.end)
    spans.extend(split_sentences(text, pos, len(text)))
    return spans


# ---------------------------------------------------------------- content classification


def step_prototypes(encode: object) -> np.ndarray:
    """Prototype vectors, shape (steps, k, dim), from an embedder's ``encode``."""
    sentences = [s for step in STEPS for s in PROTOTYPES[step]]
    vectors = encode(sentences)  # type: ignore[operator]
    per_step = len(PROTOTYPES[STEPS[0]])
    return np.asarray(vectors, dtype=np.float32).reshape(len(STEPS), per_step, -1)


# A sentence that opens by naming its topic ("For monitoring, ...", "At serving time ...", "On the
# modeling side ...") announces a step as a heading would.
_LEAD_IN = re.compile(
    r"^\W*(?:(?:and|then|next|now|finally|lastly|so)\W+)?(?:for|on|in terms of|regarding|as for|at|during|"
    r"when it comes to|moving on to|turning to|coming to)\s+(?:the\s+)?(?P<topic>(?:[\w/&-]+\s+){0,2}[\w/&-]+)",
    re.IGNORECASE,
)


def required_literals(rx: re.Pattern[str]) -> tuple[str, ...] | None:
    """Strings one of which every match of ``rx`` contains, or None when the pattern gives none (it
    ignores case, or an alternative holds no literal text). A sentence holding none of them cannot
    match, and a substring test is ten times cheaper than the search. Read from the parsed pattern:
    the longest run of literal characters that a match must hold, or one from each alternative (see
    _literal_options); "\\bre-?rank" gives "rank", not "re", which three sentences in four hold."""
    if rx.flags & ~re.UNICODE:
        return None
    return _literal_options(list(_sre_parse(rx.pattern, rx.flags)))


def _literal_options(items: list[tuple[object, object]]) -> tuple[str, ...] | None:
    """For a parsed sequence: its longest run of consecutive literals (zero-width ``\\b`` and ``^`` do
    not break a run), or for an alternation in it (also inside a group), one string for each branch;
    of these, the choice whose shortest string is the longest (the rarest in text). None if none."""
    choices: list[tuple[str, ...]] = []
    run = ""
    for op, av in items:
        if op is _sre.LITERAL:
            run += chr(av)  # type: ignore[arg-type]
            continue
        if op is not _sre.AT:
            choices.append((run,))
            run = ""
        if op is _sre.SUBPATTERN and not av[1] & re.IGNORECASE:  # type: ignore[index]
            inner = _literal_options(list(av[3]))  # type: ignore[index]
            if inner is not None:
                choices.append(inner)
        elif op is _sre.BRANCH:
            branches = [_literal_options(list(branch)) for branch in av[1]]  # type: ignore[index]
            if all(b is not None for b in branches):
                choices.append(tuple(dict.fromkeys(t for b in branches for t in b)))  # type: ignore[union-attr]
    choices.append((run,))
    best = max(reversed(choices), key=lambda c: min(len(t) for t in c))  # a tie: the later ("one-?hot": "hot")
    return best if min(len(t) for t in best) else None


# Each step's content cues with the literals that a match needs (see required_literals).
_CUES: dict[str, list[tuple[re.Pattern[str], float, tuple[str, ...] | None]]] = {
    step: [(rx, w, required_literals(rx)) for rx, w in cues] for step, cues in CONTENT_CUES.items()
}


# The same cues in one list of (step index, pattern, weight), with each literal beside the cue it lets
# through, and the cues that have no literals: a sentence is tested for all literals in one pass.
_FLAT_CUES = [(i, rx, w) for i, step in enumerate(STEPS) for rx, w, _ in _CUES[step]]
_LITERAL_OF_CUE = [(t, k) for k, lits in enumerate(c[2] for step in STEPS for c in _CUES[step]) if lits for t in lits]
_UNFILTERED_CUES = frozenset(k for k, c in enumerate(c for step in STEPS for c in _CUES[step]) if c[2] is None)


def _cue_scores(sentence: str) -> np.ndarray:
    low = " ".join(sentence.casefold().split())
    matched: list[list[float]] = [[] for _ in STEPS]
    for k in sorted(_UNFILTERED_CUES.union([k for t, k in _LITERAL_OF_CUE if t in low])):
        i, rx, w = _FLAT_CUES[k]
        if rx.search(low):
            matched[i].append(w)
    out = np.array([sum(weights) for weights in matched], dtype=np.float64)  # in cue order, as before
    lead = _LEAD_IN.match(sentence)
    if lead:
        for step in classify_heading(lead.group("topic"))[0][:1]:
            out[STEPS.index(step)] += LEAD_IN_CUE
    return np.minimum(out, 2.0) / 2.0


def _emissions(
    text: str, spans: Sequence[Span], vectors: np.ndarray | None, prototypes: np.ndarray | None
) -> np.ndarray:
    """Per-sentence scores for each step plus the unassigned state, shape (n, steps + 1)."""
    n = len(spans)
    scores = np.zeros((n, len(STEPS) + 1), dtype=np.float64)
    cues = np.stack([_cue_scores(text[s.start : s.end]) for s in spans]) if n else np.zeros((0, len(STEPS)))
    if vectors is not None and prototypes is not None and n:
        cos = np.einsum("nd,skd->nsk", vectors.astype(np.float64), prototypes.astype(np.float64))
        top = np.sort(cos, axis=2)[:, :, -PROTOTYPE_TOP_K:].mean(axis=2)
        scores[:, :_NONE] = (1 - CUE_WEIGHT) * top + CUE_WEIGHT * cues
    else:
        scores[:, :_NONE] = cues
    scores[:, _NONE] = UNASSIGNED_SCORE if vectors is not None else UNASSIGNED_SCORE / 2
    return scores


def _viterbi(scores: np.ndarray, boundary: Sequence[int]) -> list[int]:
    """Best state path: emission scores minus switch costs.

    ``boundary[t]`` says what separates sentence t from t-1: 0 within a paragraph, 1 a blank line,
    2 a heading (switching is free there).
    """
    n, m = scores.shape
    cost = np.zeros((3, m, m))
    for a in range(m):
        for b in range(m):
            if a == b:
                continue
            back = BACKWARD_COST if a != _NONE and b != _NONE and b < a else 0.0
            cost[0, a, b] = SWITCH_COST + back
            cost[1, a, b] = PARAGRAPH_SWITCH_COST + back
    best = scores[0].copy()
    pointers = np.zeros((n, m), dtype=np.int64)
    for t in range(1, n):
        cand = best[:, None] - cost[boundary[t]]
        pointers[t] = np.argmax(cand, axis=0)
        best = cand[pointers[t], np.arange(m)] + scores[t]
    path = [int(np.argmax(best))]
    for t in range(n - 1, 0, -1):
        path.append(int(pointers[t, path[-1]]))
    path.reverse()
    return path


# ---------------------------------------------------------------- sections


def _region_steps(headings: Sequence[Heading]) -> list[tuple[tuple[str, ...], float, bool]]:
    """For each heading: the steps its region is about, the confidence, and whether it is a soft label
    (an inline label with no heading above it, whose hint covers only its own paragraph)."""
    out: list[tuple[tuple[str, ...], float, bool]] = []
    parent: Heading | None = None
    for h in headings:
        if parent is not None and h.level > parent.level and (h.level == INLINE_LABEL_LEVEL or not h.steps):
            out.append((parent.steps, INHERITED_CONFIDENCE, False))
            continue
        out.append((h.steps, h.confidence, h.level == INLINE_LABEL_LEVEL))
        if h.level < INLINE_LABEL_LEVEL:
            parent = h if h.steps else None
    return out


def segment_text(
    text: str,
    headings: Sequence[Heading],
    sentences: Sequence[Span],
    vectors: np.ndarray | None,
    prototypes: np.ndarray | None,
) -> list[Section]:
    """Sections tiling the whole answer, from its headings and per-sentence content scores."""
    if not text.strip():
        return []
    n = len(sentences)
    scores = _emissions(text, sentences, vectors, prototypes)
    content = scores.copy()
    regions = _region_steps(headings)
    starts = [h.start for h in headings]
    owner = [bisect.bisect_right(starts, s.start) - 1 for s in sentences]  # heading index, -1 before any
    boundary = [2] * n
    for t in range(1, n):
        gap = text[sentences[t - 1].end : sentences[t].start]
        if owner[t] != owner[t - 1]:
            boundary[t] = 2
        else:
            boundary[t] = 1 if "\n\n" in gap.replace("\r", "") else 0
    for t in range(n):
        if owner[t] < 0:
            continue
        steps, _, soft = regions[owner[t]]
        if soft and any(boundary[u] == 1 for u in range(t, 0, -1) if owner[u] == owner[t]):
            continue  # a soft label's hint ends with its paragraph
        for label_step in steps:
            scores[t, STEPS.index(label_step)] += LABEL_PRIOR if soft else HEADING_PRIOR
    path = _viterbi(scores, boundary) if n else []
    posterior = np.exp((content - content.max(axis=1, keepdims=True)) * POSTERIOR_SHARPNESS)
    posterior /= posterior.sum(axis=1, keepdims=True)

    # Units in text order: headings and sentences; each owns the text up to the next unit.
    units: list[tuple[int, str | None, str | None, float, bool]] = []  # start, step, heading, conf, hard
    sentence_starts = [span.start for span in sentences]
    for k, h in enumerate(headings):
        steps, conf, soft = regions[k]
        t = bisect.bisect_left(sentence_starts, h.end)  # the sentence the heading introduces
        step = (STEPS[path[t]] if path[t] != _NONE else None) if t < n else (steps[0] if steps else None)
        if steps and step in steps and not soft:
            units.append((h.start, step, h.label, conf, h.level < INLINE_LABEL_LEVEL))
        else:
            units.append((h.start, step, h.label if steps else None, conf if steps else 0.5, False))
    for t, span in enumerate(sentences):
        state = path[t]
        step = STEPS[state] if state != _NONE else None
        steps, conf, soft = regions[owner[t]] if owner[t] >= 0 else ((), 0.0, False)
        confidence = conf if (step in steps and not soft) else float(posterior[t, state])
        units.append((span.start, step, None, confidence, False))
    units.sort(key=lambda u: (u[0], not u[4]))
    return _merge(units, len(text))


def _merge(units: list[tuple[int, str | None, str | None, float, bool]], length: int) -> list[Section]:
    groups: list[list[tuple[int, str | None, str | None, float, bool]]] = []
    for unit in units:
        if groups and groups[-1][0][1] == unit[1] and not unit[4]:
            groups[-1].append(unit)
        else:
            groups.append([unit])
    sections = []
    for k, group in enumerate(groups):
        start = group[0][0] if k else 0
        end = groups[k + 1][0][0] if k + 1 < len(groups) else length
        if end <= start:
            continue
        heading = next((u[2] for u in group if u[2] is not None), None)
        conf = round(float(np.mean([u[3] for u in group])), 4)
        sections.append(Section(step=group[0][1], start=start, end=end, heading=heading, confidence=conf))
    return sections
