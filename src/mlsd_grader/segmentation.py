"""Segmentation: answer text -> sections mapped to framework steps, with character spans.

Structure is found first: markdown headings (parsed with markdown-it-py, which also tells code blocks
apart), "Step 3:" labels, numbered heading lines, bold labels and "Metrics:" style labels. Then every
sentence gets a probability of each step from the learned step model (``step_model``), which reads the
sentence, the headings above it and its neighbours; a heading is evidence, not a verdict. Sections are
the runs of sentences whose most likely step is the same.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from markdown_it import MarkdownIt
from pydantic import BaseModel, ConfigDict
from rapidfuzz.distance import Levenshtein

from .cues import HEADING_CUES, HEADING_VOCABULARY
from .step_model import (
    BOUNDARY_KINDS, SentenceContext, StepModel, boundary_kind, feature_matrix, load_step_model, sentence_features,
    state_step,
)
from .text import Span, normalize_line_ends

__all__ = [
    "Section",
    "Heading",
    "find_headings",
    "body_sentences",
    "segment_text",
    "assign_steps",
    "step_inputs",
    "introduced_sentences",
    "sentence_contexts",
    "answer_features",
    "StepAssignment",
    "classify_heading",
]

STEPS: tuple[str, ...] = tuple(HEADING_CUES)

# Confidence of a heading's step where no sentence follows it to take the step from (a heading last in
# the answer): a lexicon match, a typo-tolerant match, or only the number of "Step N".
HEADING_CONFIDENCE = 0.95
FUZZY_HEADING_CONFIDENCE = 0.8
NUMBER_ONLY_CONFIDENCE = 0.6


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


# ---------------------------------------------------------------- step assignment

# A sentence that opens by naming its topic ("For monitoring, ...", "At serving time ...", "On the
# modeling side ...") announces a step as a heading would: a feature of the step model.
_LEAD_IN = re.compile(
    r"^\W*(?:(?:and|then|next|now|finally|lastly|so)\W+)?(?:for|on|in|in terms of|regarding|as for|at|during|"
    r"when it comes to|moving on to|turning to|coming to)\s+(?:the\s+)?(?P<topic>(?:[\w/&-]+\s+){0,2}[\w/&-]+)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class StepAssignment:
    """Each body sentence's probability of each state (``step_model.STATES``: the seven steps, then
    none), and the most likely sequence of states."""

    probabilities: np.ndarray
    path: list[int]


def sentence_contexts(
    text: str, headings: Sequence[Heading], sentences: Sequence[Span]
) -> tuple[list[SentenceContext], list[int]]:
    """For each sentence: its heading context and the kind of boundary before it (``BOUNDARY_KINDS``)."""
    starts = [h.start for h in headings]
    governing: list[int] = []  # per heading: the nearest heading at or before it that is not inline
    for k, h in enumerate(headings):
        governing.append(k if h.level < INLINE_LABEL_LEVEL else (governing[k - 1] if k else -1))

    def parent_of(k: int) -> int:
        for j in range(k - 1, -1, -1):
            if headings[j].level < headings[k].level:
                return j
        return -1

    contexts: list[SentenceContext] = []
    boundaries: list[int] = []
    owners: list[int] = []
    # A paragraph that opens by naming its topic ("For data, ...", "In deployment, ...") is labelled by
    # it, as by an inline label "Data: ...".
    paragraph_lead: tuple[str, tuple[str, ...]] | None = None
    for t, span in enumerate(sentences):
        owner = bisect.bisect_right(starts, span.start) - 1
        owners.append(owner)
        if t:
            boundaries.append(boundary_kind(text, sentences[t - 1], span, owner != owners[t - 1]))
        else:
            boundaries.append(BOUNDARY_KINDS.index("heading"))
        g = governing[owner] if owner >= 0 else -1
        p = parent_of(g) if g >= 0 else -1
        label: tuple[str, tuple[str, ...]] | None = None
        if owner >= 0 and headings[owner].level == INLINE_LABEL_LEVEL:
            if "\n\n" not in text[headings[owner].start : span.start]:
                label = (headings[owner].label, headings[owner].steps)
        lead = _LEAD_IN.match(text[span.start : span.end])
        lead_steps = classify_heading(lead.group("topic"))[0][:1] if lead else ()
        if boundaries[-1] >= BOUNDARY_KINDS.index("blank_line"):
            paragraph_lead = (lead.group("topic"), lead_steps) if lead and lead_steps else None
        if label is None and paragraph_lead is not None:
            label = paragraph_lead
        contexts.append(SentenceContext(
            heading=headings[g].label if g >= 0 else None,
            heading_steps=headings[g].steps if g >= 0 else (),
            parent=headings[p].label if p >= 0 else None,
            parent_steps=headings[p].steps if p >= 0 else (),
            label=label[0] if label is not None else None,
            label_steps=label[1] if label is not None else (),
            lead_steps=lead_steps,
        ))
    return contexts, boundaries


def answer_features(text: str, sentences: Sequence[Span], contexts: Sequence[SentenceContext]) -> list[list[str]]:
    """The step model's features of every sentence (its neighbours speak through the chain, not here:
    their words as features lowered accuracy, 0.764 to 0.746 with headings, five-fold cross-validation)."""
    out = []
    for span, context in zip(sentences, contexts):
        line_start = text.rfind("\n", 0, span.start) + 1
        out.append(sentence_features(text[span.start : span.end], text[line_start : span.end], context))
    return out


def step_inputs(
    text: str, headings: Sequence[Heading], sentences: Sequence[Span]
) -> tuple[list[list[str]], list[int]]:
    """What the step model reads of an answer: each sentence's features and the boundary before it."""
    contexts, boundaries = sentence_contexts(text, headings, sentences)
    return answer_features(text, sentences, contexts), boundaries


def assign_steps(
    text: str, headings: Sequence[Heading], sentences: Sequence[Span], *, inputs: tuple[list[list[str]], list[int]]
    | None = None, model: StepModel | None = None,
) -> StepAssignment:
    """Soft step assignment of every body sentence (see ``step_model``), by the shipped model unless
    ``model`` is given; ``inputs`` are ``step_inputs`` made before (the fit script reuses them)."""
    model = model if model is not None else load_step_model()
    features, boundaries = inputs if inputs is not None else step_inputs(text, headings, sentences)
    idx, ptr = feature_matrix(features)
    probabilities, path = model.posteriors(model.sentence_log_probs(idx, ptr), boundaries)
    return StepAssignment(probabilities, path)


def introduced_sentences(headings: Sequence[Heading], sentences: Sequence[Span]) -> list[int]:
    """For each heading, the index of the sentence it introduces (the first after it), -1 if none."""
    starts = [span.start for span in sentences]
    return [t if (t := bisect.bisect_left(starts, h.end)) < len(sentences) else -1 for h in headings]


def segment_text(
    text: str, headings: Sequence[Heading], sentences: Sequence[Span], assignment: StepAssignment | None = None,
) -> list[Section]:
    """Sections tiling the whole answer: runs of sentences assigned the same step, a new one at each
    heading. A heading takes the step of the sentence it introduces; a section's confidence is the mean
    probability of its step over its sentences and headings."""
    if not text.strip():
        return []
    if assignment is None:
        assignment = assign_steps(text, headings, sentences)
    path, probs = assignment.path, assignment.probabilities
    # Units in text order: headings and sentences; each owns the text up to the next unit.
    units: list[tuple[int, str | None, str | None, float, bool]] = []  # start, step, heading, conf, hard
    for h, t in zip(headings, introduced_sentences(headings, sentences)):
        if t >= 0:
            units.append((h.start, state_step(path[t]), h.label, float(probs[t, path[t]]), h.level < INLINE_LABEL_LEVEL))
        else:
            step = h.steps[0] if h.steps else None
            units.append((h.start, step, h.label, h.confidence if h.steps else 0.5, h.level < INLINE_LABEL_LEVEL))
    for t, span in enumerate(sentences):
        units.append((span.start, state_step(path[t]), None, float(probs[t, path[t]]), False))
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
