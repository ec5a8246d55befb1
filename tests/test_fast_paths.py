"""The fast paths of the pipeline against slow, obvious references (as RapidFuzz tests its C++ code).

Each speed-up of issue 6 must change no result: phrase look-up through the window index, the ASCII path
of the canonical line, and the literal test before each content-cue search.
"""

from __future__ import annotations

import os
import re

from conftest import EXAMPLES
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import Levenshtein

from mlsd_grader import text as text_module
from mlsd_grader.cues import CONTENT_CUES
from mlsd_grader.keywords import FUZZY_MIN_CHARS, FUZZY_TWO_EDITS_CHARS, SectionText
from mlsd_grader.segmentation import required_literals
from mlsd_grader.text import split_sentences, tokenize

SETTINGS = settings(max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "60")), deadline=None)
MAX_WORDS = 6  # SectionText's default window

# Words with near-misses of each other (one or two edits), joiners that glue words into one phrase, and
# breaks that do not, so typo matching and phrase windows are both exercised.
_VOCAB = (
    "monitoring monitorng monitorin retraining retrainig drift drifts ndcg a/b a-b ab test tests testing "
    "feature featur store stores click-through clickthrough rate model models latency latencies"
).split() + ["\uff9e", "\uff9edrift"]  # a halfwidth sound mark, whose stem is empty
_GLUE = [" ", " ", " ", "-", "/", " - ", ", ", ". ", "\n", " (", ") "]
section_texts = st.lists(
    st.tuples(st.sampled_from(_VOCAB), st.sampled_from(_GLUE)), max_size=40
).map(lambda parts: "".join(w + g for w, g in parts))
phrases = st.lists(st.sampled_from(_VOCAB), min_size=1, max_size=3).map(" ".join)


def allowed_edits(length: int) -> int:
    return 2 if length >= FUZZY_TWO_EDITS_CHARS else 1 if length >= FUZZY_MIN_CHARS else 0


def reference_occurrences(text: str, phrase: str) -> list[tuple[int, int]]:
    """Every window of up to MAX_WORDS joined words compared with the phrase one by one."""
    joiner = re.compile(r"[ \t]*[\-/@&'\u2019+]?[ \t]*")
    tokens = tokenize(text)
    want = tokenize(phrase)
    keys = (
        "".join(t.stem for t in want),
        "".join(phrase[t.start : t.end].casefold() for t in want),
    )
    spans = set()
    for i in range(len(tokens)):
        for j in range(i + 1, min(i + MAX_WORDS, len(tokens)) + 1):
            if j > i + 1 and not joiner.fullmatch(text, tokens[j - 2].end, tokens[j - 1].start):
                break
            window = tokens[i:j]
            candidates = (
                "".join(t.stem for t in window),
                "".join(text[t.start : t.end].casefold() for t in window),
            )
            for key, cand in zip(keys, candidates):
                edits = allowed_edits(len(key))
                exact = cand == key
                typo = (
                    edits
                    and cand[:1] == key[:1]
                    and allowed_edits(len(cand)) >= 1
                    and Levenshtein.distance(key, cand) <= edits
                )
                if exact or typo:
                    spans.add((window[0].start, window[-1].end))
    return sorted(spans)


@SETTINGS
@given(text=section_texts, phrase=phrases)
def test_window_index_finds_what_comparing_every_window_finds(text: str, phrase: str) -> None:
    section = SectionText(text, [(0, len(text))])
    assert section.occurrences(phrase) == reference_occurrences(text, phrase)
    assert section.occurrences(phrase) == reference_occurrences(
        text, phrase
    )  # asked again: same answer


@SETTINGS
@given(text=section_texts, wanted=st.lists(phrases, min_size=1, max_size=4), other=phrases)
def test_index_kept_for_some_phrases_finds_what_comparing_every_window_finds(
    text: str, wanted: list[str], other: str
) -> None:
    """An index told which phrases it serves keeps fewer windows, and finds those phrases (and any
    other, from a complete index) as comparing every window does."""
    section = SectionText(text, [(0, len(text))], phrases=wanted)
    for phrase in [*wanted, other]:
        assert section.occurrences(phrase) == reference_occurrences(text, phrase)


def test_index_kept_for_some_phrases_keeps_fewer_windows() -> None:
    text = "We monitor drift daily, retrain weekly and alert on latency spikes for the ranking model."
    complete = SectionText(text, [(0, len(text))])
    kept = SectionText(text, [(0, len(text))], phrases=["drift", "latency"])
    assert len(kept._window_first) < len(complete._window_first) / 3
    assert [text[s:e] for s, e in kept.occurrences("drift")] == ["drift"]
    assert [text[s:e] for s, e in kept.occurrences("weekly")] == ["weekly"]  # not declared: still found


def test_window_index_sees_typos_and_joined_spellings() -> None:
    text = "We track monitorng dashboards, run an a-b test and retrain weekly."
    section = SectionText(text, [(0, len(text))])
    assert [text[s:e] for s, e in section.occurrences("monitoring")] == ["monitorng"]
    assert [text[s:e] for s, e in section.occurrences("A/B test")] == ["a-b test"]
    assert section.occurrences("latency") == []


@SETTINGS
@given(line=st.text(alphabet=st.sampled_from(list("aBZz .\t\r!?'1\u2013\u00e9\u00c9\u0130\u03a3\u03c3\u1e9e")), max_size=40))
def test_canonical_line_equals_the_character_by_character_reference(line: str) -> None:
    canon, origin = text_module._canonical(line)
    ref_canon, ref_origin = text_module._canonical_by_character(line)
    assert (canon, list(origin)) == (ref_canon, list(ref_origin))


def test_required_literals_of_hand_written_patterns() -> None:
    assert required_literals(re.compile(r"\bclarif|\bask\b")) == ("clarif", "ask")
    # the longest run a match must hold; a tie goes to the later run
    assert required_literals(re.compile(r"\bmillions?\b|\bone-?hot|log[- ]?loss")) == ("million", "hot", "loss")
    assert required_literals(re.compile(r"\bsupport (for|of)?|x(y|z)")) == ("support ", "x")
    assert required_literals(re.compile(r"\b(daily|monthly) active|\bdau\b")) == (" active", "dau")
    assert required_literals(re.compile(r"\b(daily|monthly)\b|\bdau\b")) == ("daily", "monthly", "dau")
    assert required_literals(re.compile(r"\bre-?rank|\ba/?b[- ]test")) == ("rank", "test")
    assert required_literals(re.compile(r"\bcase", re.IGNORECASE)) is None
    assert required_literals(re.compile(r"\bx|\d+")) is None  # an alternative with no literal
    assert required_literals(re.compile(r"(?i:ab)c")) == ("c",)


def test_no_content_cue_matches_a_sentence_without_its_literals() -> None:
    """Over every sentence of the examples and a few edge cases, each cue that matches holds a literal."""
    sentences = [
        t[s.start : s.end].casefold()
        for p in sorted(EXAMPLES.glob("*/*.md"))
        for t in [p.read_text(encoding="utf-8")]
        for s in split_sentences(t)
    ]
    sentences += ["support for ml objective", "multiclass one hot", "a/b test", "re-rank on-call ms"]
    checked = 0
    for cues in CONTENT_CUES.values():
        for rx, _ in cues:
            literals = required_literals(rx)
            for sentence in sentences:
                if rx.search(sentence):
                    checked += 1
                    assert literals is None or any(t in sentence for t in literals), (rx.pattern, sentence)
    assert checked > 1000


def test_cue_scores_equal_searching_every_cue() -> None:
    """The step-cue scores with the literal pre-filter against searching every cue of every step."""
    import numpy as np

    from mlsd_grader import segmentation

    def reference(sentence: str) -> np.ndarray:
        low = " ".join(sentence.casefold().split())
        out = np.array([sum(w for rx, w in CONTENT_CUES[step] if rx.search(low)) for step in segmentation.STEPS],
                       dtype=np.float64)
        lead = segmentation._LEAD_IN.match(sentence)
        if lead:
            for step in segmentation.classify_heading(lead.group("topic"))[0][:1]:
                out[segmentation.STEPS.index(step)] += segmentation.LEAD_IN_CUE
        return np.minimum(out, 2.0) / 2.0

    texts = [p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.glob("*/*.md"))]
    sentences = [t[s.start : s.end] for t in texts for s in split_sentences(t)]
    assert len(sentences) > 500
    for sentence in sentences + [s.upper() for s in sentences[:100]]:
        assert np.array_equal(segmentation._cue_scores(sentence), reference(sentence)), sentence
