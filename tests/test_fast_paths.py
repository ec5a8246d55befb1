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
from mlsd_grader.keywords import FUZZY_MIN_CHARS, FUZZY_TWO_EDITS_CHARS, SectionText
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


