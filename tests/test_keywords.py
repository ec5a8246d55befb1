"""Keyword coverage: hand-checkable cases of matching, evidence spans, negation and coverage."""

from __future__ import annotations

import pytest

from mlsd_grader.keywords import SectionText, concept_coverage, find_anti_pattern, find_concept
from mlsd_grader.rubric import AntiPattern, Concept


def found(text: str, concept: Concept) -> list[str]:
    return [e.text for e in find_concept(SectionText(text, [(0, len(text))]), concept)]


@pytest.mark.parametrize("variant", ["A/B test", "ab testing", "A-B tests", "a / b Test", "AB-tested"])
def test_ab_test_spellings_match(variant: str) -> None:
    assert found(f"Then we run an {variant} for two weeks.", Concept(name="a/b test")) == [variant]


def test_abbreviation_and_long_form_via_aliases() -> None:
    c = Concept(name="ndcg", aliases=["normalized discounted cumulative gain"])
    assert found("We report nDCG@10.", c) == ["nDCG"]
    assert found("We report Normalised Discounted Cumulative Gains.", c) == ["Normalised Discounted Cumulative Gains"]


def test_small_typos_forgiven_but_short_words_exact() -> None:
    assert found("Monitering the model is key.", Concept(name="monitoring")) == ["Monitering"]
    assert found("We use the bank data.", Concept(name="rank")) == []


def test_evidence_spans_point_into_text() -> None:
    text = "Intro.\nWe store features in a feature store."
    ev = find_concept(SectionText(text, [(0, len(text))]), Concept(name="feature store"))
    assert [(e.start, e.end) for e in ev] == [(text.index("feature store"), len(text) - 1)]
    assert text[ev[0].start : ev[0].end] == "feature store"


def test_negated_mentions_do_not_count() -> None:
    c = Concept(name="monitoring")
    assert found("We don't need monitoring.", c) == []
    assert found("Monitoring is not needed here.", c) == []
    assert found("We don't need monitoring, but later we add monitoring dashboards.", c) == ["monitoring"]
    assert found("Not only monitoring but alerts too.", c) == ["monitoring"]


def test_only_given_regions_are_searched() -> None:
    text = "drift here. nothing there."
    section = SectionText(text, [(12, len(text))])
    assert find_concept(section, Concept(name="drift")) == []


def test_words_do_not_join_across_sentences() -> None:
    assert found("We log data. Store it later.", Concept(name="data store")) == []


def test_anti_pattern_trigger_and_unless() -> None:
    anti = AntiPattern(id="acc", description="accuracy only", weight=-0.2, triggers=["accuracy"], unless=["recall"])
    sec = lambda t: SectionText(t, [(0, len(t))])  # noqa: E731
    assert [e.text for e in find_anti_pattern(sec("We check accuracy."), anti)] == ["accuracy"]
    assert find_anti_pattern(sec("We check accuracy and recall."), anti) == []
    assert find_anti_pattern(sec("We check precision."), anti) == []


def test_coverage_saturates_at_target() -> None:
    a, b, c = Concept(name="a1"), Concept(name="b1"), Concept(name="c1", weight=2.0)
    assert concept_coverage([(a, True), (b, False), (c, False)], 1.0) == pytest.approx(0.25)
    assert concept_coverage([(a, True), (b, False), (c, False)], 0.5) == pytest.approx(0.5)
    assert concept_coverage([(a, True), (b, True), (c, True)], 0.6) == 1.0
    assert concept_coverage([], 0.6) == 0.0


def test_discussing_a_risk_is_not_negation() -> None:
    c = Concept(name="data leakage")
    assert found("We split by time to avoid data leakage.", c) == ["data leakage"]
    assert found("There is no need for data leakage checks.", c) == []
