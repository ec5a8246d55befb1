"""One score scale for every backend (scale.py): the map's arithmetic, the reference set, what ships
against what scripts/fit_backend_scales.py makes, first-use fitting of a model of one's own, and static
against default on answers the fit never saw."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import EXAMPLES, HashingEmbedder
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from mlsd_grader import Grader, GraderConfig, load_rubric
from mlsd_grader.scale import (
    IDENTITY,
    ScoreScale,
    fit_backend_scale,
    fit_scale,
    reference_hash,
    reference_items,
    scale_file_name,
    shipped_scale,
    shipped_targets,
)

integration = pytest.mark.integration


@pytest.fixture(scope="module")
def static_grader() -> Grader:
    return Grader(GraderConfig(backend="static"))

# What the static backend holds against the default model on answers no fit saw: the mean absolute
# difference of the overall score over ten answers, and the share of them in the same band. The issue
# asks for 0.03 and 90%: missed. Measured on 60 drawn sentence mixtures: 0.036 (blocks of ten 0.026 to
# 0.047) and 93% (bench/backend_scale.py: 0.046 and 82% on the examples and real dev answers; see
# docs/scoring.md). These bounds hold the measured level so that it cannot grow unnoticed.
STATIC_MEAN_DIFFERENCE = 0.06
STATIC_SAME_BAND = 0.8


def test_identity_leaves_scores_alone() -> None:
    assert IDENTITY(0.37) == 0.37 and IDENTITY.content_hash == "identity"


def test_a_map_interpolates_between_its_breakpoints() -> None:
    scale = ScoreScale((0.0, 0.5, 1.0), (0.1, 0.3, 0.9), "hand")
    assert scale(0.0) == pytest.approx(0.1)
    assert scale(0.25) == pytest.approx(0.2)
    assert scale(0.75) == pytest.approx(0.6)
    assert scale(1.0) == pytest.approx(0.9)
    assert ScoreScale.from_json(scale.to_json()) == scale


def test_fit_of_a_monotone_relation_recovers_it() -> None:
    x = np.linspace(0, 1, 101)
    scale = fit_scale(x, x**2, name="square")
    for v in (0.0, 0.3, 0.5, 0.9, 1.0):
        assert scale(v) == pytest.approx(v**2, abs=0.01)


@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=2, max_size=60))
def test_fitted_maps_are_monotone_and_stay_in_range(pairs: list[tuple[float, float]]) -> None:
    scale = fit_scale([p[0] for p in pairs], [p[1] for p in pairs], name="drawn")
    values = [scale(v) for v in np.linspace(0, 1, 57)]
    assert all(0.0 <= v <= 1.0 for v in values)
    assert all(b >= a for a, b in itertools.pairwise(values))


def test_reference_set_is_fixed_and_matches_the_shipped_targets() -> None:
    items = reference_items()
    assert reference_hash(items) == reference_hash(reference_items())
    assert len({item.name for item in items}) == len(items)
    targets = shipped_targets()
    assert targets is not None, "run scripts/fit_backend_scales.py targets"
    assert targets[0] == reference_hash(items), "an example changed: run scripts/fit_backend_scales.py"
    criteria = sum(len(step.criteria) for item in items for r in item.rubrics for step in load_rubric(r).steps)
    assert len(targets[1]) == criteria


def test_shipped_keyword_scale_is_what_the_script_fits() -> None:
    grader = Grader(GraderConfig(backend="none"))
    refit = fit_backend_scale(grader.reference_scores(reference_items()), name="none")
    assert grader.scale == refit
    assert f"scale:{refit.content_hash}" in grader.signature_without_rubric()
    report = grader.grade("We track CTR and log loss offline, then run an A/B test.", "ad_click_prediction")
    assert "approximate_scores" in [w.code for w in report.warnings]


def test_default_model_is_its_own_scale() -> None:
    assert Grader(GraderConfig()).scale is IDENTITY


def test_a_model_of_ones_own_is_fitted_once_and_cached(private_cache_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    class OwnModel(HashingEmbedder):
        def signature(self) -> str:
            return "sentence-transformers:my/own model"

    first = Grader(GraderConfig(), embedder=OwnModel()).scale
    assert "fitting the score scale" in capsys.readouterr().err
    cached = list((private_cache_dir / "scales").glob(scale_file_name("sentence-transformers:my/own model") + "-*.json"))
    assert len(cached) == 1 and ScoreScale.from_json(cached[0].read_text()) == first
    assert Grader(GraderConfig(), embedder=OwnModel()).scale == first  # read back, not fitted again
    assert "fitting" not in capsys.readouterr().err
    assert first.xs and all(b >= a for a, b in itertools.pairwise(first.ys))
    own = Grader(GraderConfig(), embedder=OwnModel())
    assert own.grade("We track CTR offline.", "ad_click_prediction").signature.count(f"scale:{first.content_hash}") == 1


@integration
def test_shipped_targets_are_the_default_models_scores(real_grader: Grader) -> None:
    targets = shipped_targets()
    assert targets is not None
    scores = Grader(real_grader.config, embedder=real_grader.embedder, scale=IDENTITY).reference_scores(reference_items())
    assert np.allclose(scores, targets[1], atol=2e-4)


@integration
def test_shipped_static_scale_is_what_the_script_fits(static_grader: Grader) -> None:
    embedder = static_grader.embedder
    assert embedder is not None
    name = scale_file_name(embedder.signature())
    shipped = shipped_scale(name)
    assert shipped is not None, "the static model's vectors changed: run scripts/fit_backend_scales.py static"
    assert fit_backend_scale(static_grader.reference_scores(reference_items()), name=name) == shipped
    assert static_grader.scale == shipped


def _sentences() -> list[str]:
    out = []
    for path in sorted(EXAMPLES.glob("*/*.md")):
        for line in path.read_text(encoding="utf-8").split("\n"):
            if line.strip() and not line.startswith("#"):
                out.extend(s.strip() + "." for s in line.split(". ") if len(s.split()) >= 4)
    return out


SENTENCES = _sentences()
QUESTIONS = sorted(p.parent.name for p in EXAMPLES.glob("*/strong.md"))
mixtures = st.tuples(
    st.lists(st.sampled_from(SENTENCES), min_size=4, max_size=30, unique=True), st.sampled_from(QUESTIONS)
)


@integration
@settings(max_examples=3, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(mixtures, min_size=10, max_size=10))
def test_static_holds_the_default_scale_on_answers_never_fitted(
    real_grader: Grader, static_grader: Grader, answers: list[tuple[list[str], str]]
) -> None:
    """Sentence mixtures of the examples (the reference set mixes whole paragraphs): the static backend's
    overall scores stay near the default model's (no shrinking: each draw grades twenty answers)."""
    texts = [(" ".join(sentences), question) for sentences, question in answers]
    default = [real_grader.grade(t, q) for t, q in texts]
    static = [static_grader.grade(t, q) for t, q in texts]
    diff = np.mean([abs(a.score - b.score) for a, b in zip(default, static)])
    same = np.mean([a.band == b.band for a, b in zip(default, static)])
    assert diff <= STATIC_MEAN_DIFFERENCE, json.dumps([(a.score, b.score) for a, b in zip(default, static)])
    assert same >= STATIC_SAME_BAND
