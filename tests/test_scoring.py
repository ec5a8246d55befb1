"""Scoring end to end on a tiny rubric with the hashing embedder: hand-computable numbers."""

from __future__ import annotations

import numpy as np
import pytest

from mlsd_grader.scale import IDENTITY
from mlsd_grader import Grader, GraderConfig
from mlsd_grader.scoring import band_for
from mlsd_grader.similarity import GIST_BASELINE, GIST_CEILING, GIST_WEIGHT, rescale

FULL = (
    "## Evaluation\nOffline we measure nDCG on held out sessions. Online we run an A/B test.\n"
    "## Monitoring\nWe monitor feature drift and retrain the model every week.\n"
)


def test_answer_equal_to_model_answers_scores_one(fake_grader: Grader, tiny_rubric) -> None:
    report = fake_grader.grade(FULL, tiny_rubric)
    assert [s.score for s in report.steps] == [1.0, 1.0]
    assert report.score == 1.0 and report.band == "strong_hire"
    assert [s.weight for s in report.steps] == [0.25, 0.75]


def test_partial_answer_hand_computed(fake_grader: Grader, tiny_rubric, hashing_embedder) -> None:
    answer = "## Evaluation\nOffline we measure nDCG on held out sessions.\n"
    report = fake_grader.grade(answer, tiny_rubric)
    ev, mon = report.steps
    coverage = 1 / (0.5 * 2)  # one of two equal concepts, target 0.5
    v = hashing_embedder.encode(["Online we run an A/B test.", "Offline we measure nDCG on held out sessions."])
    alignment = (1.0 + float(rescale(np.array(v[0] @ v[1])))) / 2
    centroid = (v[0] + v[1]) / 2
    gist = float(rescale(np.array(centroid @ v[1] / np.linalg.norm(centroid)), GIST_BASELINE, GIST_CEILING))
    sim = GIST_WEIGHT * gist + (1 - GIST_WEIGHT) * alignment
    assert ev.keyword_coverage == pytest.approx(round(coverage, 4))
    assert ev.similarity == pytest.approx(round(sim, 4))
    assert ev.score == pytest.approx(round(0.3 * coverage + 0.7 * sim, 4))
    assert mon.score == 0.0 and mon.criteria[0].missing == ["drift", "retraining"]
    assert report.score == pytest.approx(round(0.25 * ev.score, 4), abs=1e-4)
    assert [w.code for w in report.warnings] == ["missing_steps"]
    assert ev.criteria[0].matched[0].concept == "ndcg"
    assert ev.criteria[0].missing == ["a/b test"]


def test_anti_pattern_subtracts_its_weight(fake_grader: Grader, tiny_rubric) -> None:
    clean = fake_grader.grade(FULL, tiny_rubric).steps[0].score
    bad = fake_grader.grade(FULL.replace("nDCG", "nDCG and accuracy"), tiny_rubric).steps[0]
    assert bad.criteria[0].anti_patterns[0].id == "accuracy_only"
    assert bad.criteria[0].anti_patterns[0].penalty == -0.2
    assert bad.score == pytest.approx(clean - 0.2, abs=0.02)


def test_empty_answer_is_graded_zero(fake_grader: Grader, tiny_rubric) -> None:
    report = fake_grader.grade("  \n\t ", tiny_rubric)
    assert report.score == 0.0 and report.band == "no_hire"
    assert [w.code for w in report.warnings] == ["empty_answer"]
    assert report.sections == []


def test_keywords_only_backend(tiny_rubric) -> None:
    grader = Grader(GraderConfig(backend="none"), scale=IDENTITY)  # the raw scale: coverage alone
    report = grader.grade(FULL, tiny_rubric)
    assert report.score == 1.0
    assert all(s.similarity == 0.0 for s in report.steps)
    assert "backend:none" in report.signature
    assert [w.code for w in report.warnings][0] == "approximate_scores"


@pytest.mark.parametrize(
    ("score", "band"), [(0.95, "strong_hire"), (0.74, "strong_hire"), (0.62, "hire"), (0.45, "lean_no_hire"), (0.44, "no_hire")]
)
def test_bands(score: float, band: str) -> None:
    assert band_for(score, GraderConfig()) == band


def test_truncation_and_invalid_utf8(fake_grader: Grader, tiny_rubric) -> None:
    grader = Grader(GraderConfig(max_answer_chars=20), embedder=fake_grader.embedder, scale=IDENTITY)
    report = grader.grade(FULL, tiny_rubric)
    assert "truncated" in [w.code for w in report.warnings]
    assert max(s.end for s in report.sections) <= 20
    report = fake_grader.grade(b"## Evaluation\nnDCG \xff\xfe test\n", tiny_rubric)
    assert report.warnings[0].code == "invalid_utf8"


def test_signature_names_everything(fake_grader: Grader, tiny_rubric) -> None:
    sig = fake_grader.grade(FULL, tiny_rubric).signature
    assert sig.startswith("mlsd_grader:")
    parts = (f"rubric:tiny@1#{tiny_rubric.content_hash}", "backend:test:hashing-512", "english:symspellpy-6.",
             "weights:kw=0.3,sim=0.7")
    for part in parts:
        assert part in sig


def test_a_scaled_down_step_says_why_first(tiny_rubric) -> None:
    """The integrity factor (word salad, keyword stuffing) scales the step, and its feedback opens with
    the reason, since the criterion lines may name concepts that the section does mention."""
    from mlsd_grader.keywords import SectionText, WeightedText
    from mlsd_grader.scoring import SCALED_DOWN_FEEDBACK, CriterionInput, score_step

    step = tiny_rubric.steps[0]
    text = "Offline we measure nDCG on held out sessions."
    inputs = [CriterionInput(c, None) for c in step.criteria]
    config = GraderConfig(backend="none")

    def scored(integrity: float):  # type: ignore[no-untyped-def]
        whole = WeightedText(SectionText(text, [(0, len(text))]), [0], [1.0], [(step.id, 1.0)])
        return score_step(step, weight=1.0, text=whole, answer_vectors=None,
                          inputs=inputs, config=config, integrity=integrity)

    plain, halved = scored(1.0), scored(0.5)
    assert plain.score > 0 and SCALED_DOWN_FEEDBACK not in plain.feedback
    assert halved.feedback[0] == SCALED_DOWN_FEEDBACK and halved.feedback[1:] != []
    assert halved.score == pytest.approx(plain.score / 2, abs=1e-4)
