"""The fast paths of the pipeline against slow, obvious references (as RapidFuzz tests its C++ code).

Each speed-up of issue 6 must change no result: phrase look-up through the window index, the ASCII path
of the canonical line, pysbd running on kept compiled patterns, and the literal test before each
content-cue search.
"""

from __future__ import annotations

import os
import re
import sys

import pysbd
import pytest
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


@SETTINGS
@given(
    text=st.lists(
        st.sampled_from(
            [
                "Mr. Smith",
                "e.g. this",
                "It works.",
                "See Fig. 2 now.",
                "U.S. users",
                "v2.1 ships",
                "Done!",
                "why? because",
                "No. 5 is",
                "etc. and so",
            ]
        ),
        max_size=12,
    ).map(" ".join)
)
def test_pysbd_on_kept_patterns_splits_as_plain_re(text: str) -> None:
    assert _split_with_and_without_the_stand_in(text)


def test_pysbd_on_kept_patterns_on_every_example_line() -> None:
    """pysbd with the stand-in for ``re`` (kept patterns, skipped when a character they need is missing)
    against pysbd on ``re`` itself, over every example line, as written and upper-cased."""
    lines = [
        line
        for p in sorted(EXAMPLES.glob("*/*.md"))
        for line in p.read_text(encoding="utf-8").splitlines()
        if text_module._INNER_END.search(line)
    ]
    assert len(lines) > 100
    assert _split_with_and_without_the_stand_in("\n".join(lines + [line.upper() for line in lines]))


def _split_with_and_without_the_stand_in(text: str) -> bool:
    patched = [
        m
        for name, m in sys.modules.items()
        if name.startswith("pysbd")
        and isinstance(getattr(m, "re", None), text_module._PysbdPatterns)
    ]
    assert patched, "pysbd should run on kept compiled patterns"
    fast = split_sentences(text)
    saved = [(m, m.re) for m in patched]
    try:
        for module, _ in saved:
            module.re = re  # type: ignore[attr-defined]
        reference = split_sentences(text)
    finally:
        for module, shim in saved:
            module.re = shim  # type: ignore[attr-defined]
    return fast == reference


def test_mandatory_characters_of_hand_written_patterns() -> None:
    assert text_module._pattern(r"(?<=\s)\.(?=(\s|:\d+))", 0)[1] == (".",)  # lookahead: one branch has none
    assert text_module._pattern(r"ab|ac", 0)[1] == ("a",)  # what every branch needs
    assert text_module._pattern(r"x?y+z*(?!q)", 0)[1] == ("y",)  # optional parts and negative lookarounds
    assert text_module._pattern(r"(?<=P∯M)∯", 0)[1] == ("M", "P", "∯")
    assert text_module._pattern(r"abc", re.IGNORECASE)[1] == ()  # ignoring case, "k" also matches the Kelvin sign
    assert text_module._pattern(r"(?i:k)x", 0)[1] == ("x",)
    assert text_module._pattern(re.compile(r"\d+\.\d"), 0)[1] == (".", text_module._A_DIGIT)
    assert text_module._pattern(r"\s\d{1,2}(?=\.\s)|(?<=\s-)\d(?=\.\))", 0)[1] == (".", text_module._A_DIGIT)
    assert text_module._pattern(r"\d?x", 0)[1] == ("x",)
    # character classes a match must hit: searched for as patterns of their own
    assert text_module._pattern(r"(?<=\S)(!|\?){3,}", 0)[1] == ("[!\\?]",)
    assert text_module._pattern(r"(?<=\s[A-Z])\.", 0)[1] == (".", "[A-Z]")  # characters before classes
    assert text_module._pattern(r"[.][\d,]", 0)[1] == (".", "[\\d,]")
    assert text_module._pattern(r"[a-z0-9]\.", 0)[1] == (".",)  # lines are lower-cased: nearly always there
    assert text_module._pattern(r"[^a-z]q[\s,]", 0)[1] == ("q",)  # negated, or holding spaces: not kept


_LIST_TEXT = st.text(alphabet=st.sampled_from(list("ab z.()\n\t\u00a0")), max_size=30)


@SETTINGS
@given(text=_LIST_TEXT)
def test_faster_equivalents_of_pysbd_patterns_match_alike(text: str) -> None:
    for original, faster in text_module._FASTER_EQUIVALENTS.items():
        assert re.findall(faster, text) == re.findall(original, text)
        assert re.sub(faster, "#", text) == re.sub(original, "#", text)


def test_faster_equivalents_on_every_example_line() -> None:
    lines = [
        line.lower() for p in sorted(EXAMPLES.glob("*/*.md")) for line in p.read_text(encoding="utf-8").splitlines()
    ]
    lines += ["a. one b. two", "(a) one (b) two", "x (iv) y", "see a.", "\tc) three"]
    for original, faster in text_module._FASTER_EQUIVALENTS.items():
        assert [re.findall(faster, line) for line in lines] == [re.findall(original, line) for line in lines]
        assert sum(bool(re.findall(faster, line)) for line in lines) >= 3


def test_what_pysbd_patterns_need_every_match_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each pattern pysbd runs on the example lines, against those lines as written, upper- and
    lower-cased: wherever it matches, the string holds each character and character class _pattern
    says it needs (so skipping the pattern where one is missing loses no match)."""
    lines = [
        line
        for p in sorted(EXAMPLES.glob("*/*.md"))
        for line in p.read_text(encoding="utf-8").splitlines()
        if text_module._INNER_END.search(line)
    ]
    seen: set[tuple[str, int]] = set()
    original = text_module._pattern

    def recording(pattern: str | re.Pattern[str], flags: int) -> tuple[re.Pattern[str], tuple[str, ...]]:
        seen.add((pattern if isinstance(pattern, str) else pattern.pattern, flags))
        return original(pattern, flags)

    monkeypatch.setattr(text_module, "_pattern", recording)
    for line in lines:
        text_module._segmenter().segment(line)
    monkeypatch.undo()
    strings = lines + [line.upper() for line in lines] + [line.lower() for line in lines]
    checked = 0
    for pattern, flags in sorted(seen):
        compiled, needed = text_module._pattern(pattern, flags)
        for string in strings:
            if compiled.search(string):
                checked += 1
                for need in needed:
                    assert (need in string) if len(need) == 1 else re.search(need, string), (pattern, need, string)
    assert len(seen) > 50 and checked > 1000


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


_PIECES = ["Yes.", "yes.", "It works.", "e.g. this", "Mr. Smith", "ok!", "a. b.", "v2.1 ships", "x", "...",
           "Co. ltd", "compute co", "No. 5", "st. louis", "first.", "\u017ft. x", "\u212ay. y", "\u0131d. z",
           "Fig. 3", "fig 3.", "u.s. users", "exg. q", "i.e. so", "vs. them", "etc. and", "al. et", "Ph.D. thesis",
           "dr.philos. x", "D.Phil. y", "Jan. 5", "approx. 3", "Inc. now", "e.g no period", "ph.d", "U.S"]


@SETTINGS
@given(
    text=st.lists(
        st.tuples(st.sampled_from(_PIECES), st.sampled_from([" ", "  ", "\u00a0", "\t", "\u2003 ", ""])),
        max_size=10,
    ).map(lambda parts: "".join(p + sep for p, sep in parts))
)
def test_our_segmenter_splits_as_plain_pysbd(text: str) -> None:
    """Sentences located with str.find, abbreviations that no period follows skipped: the same sentences
    as pysbd's own segmenter, for repeated sentences, every kind of blank, abbreviations with and without
    periods in any case, and the letters that match another only when case is ignored (long s, Kelvin
    sign, dotless i)."""
    ours = [str(s) for s in text_module._segmenter().segment(text)]
    assert ours == [str(s) for s in pysbd.Segmenter(language="en", clean=False).segment(text)]


def test_abbreviations_found_from_periods_equal_testing_each() -> None:
    """On ASCII lines, the abbreviations found from the line's periods are those that testing each of
    pysbd's abbreviations in turn lets through."""
    abbreviations = [a.strip() for a in pysbd.lang.english.English.Abbreviation.ABBREVIATIONS]

    def reference(lowered: str) -> set[str]:
        return {a for a in abbreviations if a in lowered
                and not (re.fullmatch("[a-z]+", a) and a + "." not in lowered)}

    lines = [
        line.lower() for p in sorted(EXAMPLES.glob("*/*.md")) for line in p.read_text(encoding="utf-8").splitlines()
    ]
    lines += [piece.lower() for piece in _PIECES if piece.isascii()] + [" ".join(_PIECES).lower(), ".", "", "al."]
    lines += [a + "." for a in abbreviations] + ["x " + a + ". y" for a in abbreviations] + abbreviations
    assert any(reference(line) for line in lines)
    for line in lines:
        if line.isascii():
            assert text_module._ENGLISH_ABBREVIATIONS.passing(line) == reference(line), line


def test_our_segmenter_on_every_example_line() -> None:
    lines = [
        line
        for p in sorted(EXAMPLES.glob("*/*.md"))
        for line in p.read_text(encoding="utf-8").splitlines()
        if text_module._INNER_END.search(line)
    ]
    ours, plain = text_module._segmenter(), pysbd.Segmenter(language="en", clean=False)
    assert len(lines) > 100
    for line in lines + [line.upper() for line in lines]:
        assert [str(s) for s in ours.segment(line)] == [str(s) for s in plain.segment(line)], line


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
