"""Text primitives: tokens with spans, stems, and sentence spans."""

from __future__ import annotations

from mlsd_grader.text import normalize_phrase, split_sentences, tokenize


def test_tokens_carry_spans_and_stems() -> None:
    text = "Training Embeddings"
    toks = tokenize(text)
    assert [(t.stem, text[t.start : t.end]) for t in toks] == [("train", "Training"), ("embed", "Embeddings")]


def test_phrase_normalisation_ignores_case_and_separators() -> None:
    assert normalize_phrase("A/B Tests") == normalize_phrase("a-b testing") == ("a", "b", "test")


def test_sentences_split_on_lines_and_periods_but_not_abbreviations() -> None:
    text = "## Eval\nWe use e.g. nDCG@10 and A/B tests. Is the p99 latency low? Then we deploy v2.1 to 5% of users at once.\n- one\n\n- two"
    got = [text[s.start : s.end] for s in split_sentences(text)]
    assert got == [
        "## Eval",
        "We use e.g. nDCG@10 and A/B tests.",
        "Is the p99 latency low?",
        "Then we deploy v2.1 to 5% of users at once.",
        "- one",
        "- two",
    ]


def test_sentences_of_a_slice_keep_absolute_offsets() -> None:
    text = "xx First one. Second one."
    spans = split_sentences(text, 3)
    assert [text[s.start : s.end] for s in spans] == ["First one.", "Second one."]
    assert spans[0].start == 3


def test_sentences_keep_abbreviations_decimals_urls_code_and_item_numbers_whole() -> None:
    text = (
        "Pick a threshold, i.e. 0.5 for now. Compare ranking vs. retrieval.\n"
        "1. Collect logs. Then train.\n"
        "- 2. Accuracy is 97.5%. Recall is 0.82.\n"
        "See https://example.com/a.b?x=1 for it. Call `model.fit(X, y)` first."
    )
    got = [text[s.start : s.end] for s in split_sentences(text)]
    assert got == [
        "Pick a threshold, i.e. 0.5 for now.",
        "Compare ranking vs. retrieval.",
        "1. Collect logs.",
        "Then train.",
        "- 2. Accuracy is 97.5%.",
        "Recall is 0.82.",
        "See https://example.com/a.b?x=1 for it.",
        "Call `model.fit(X, y)` first.",
    ]
    assert [(s.start, s.end) for s in split_sentences(text.upper())] == [(s.start, s.end) for s in split_sentences(text)]
