"""The step model: forward-backward and Viterbi against brute force, the shipped weights against the fit
script, and headings seen in real answers."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlsd_grader import GraderConfig, segment
from mlsd_grader.step_model import BOUNDARY_KINDS, FEATURE_BITS, STATES, StepModel, load_step_model

ROOT = Path(__file__).resolve().parent.parent
K = len(STATES)


def _model(stay: list[float], switch: np.ndarray, scale: float = 1.0) -> StepModel:
    prior = np.full(K, 1.0 / K)
    return StepModel(np.zeros((1 << FEATURE_BITS, K)), np.log(prior), np.array(stay), switch, scale)


def _brute_force(model: StepModel, log_probs: np.ndarray, boundaries: list[int]) -> tuple[np.ndarray, list[int]]:
    n = len(log_probs)
    emit = model.emission_scale * (log_probs - model.log_prior)
    post = np.zeros((n, K))
    best, best_path = -np.inf, None
    for path in itertools.product(range(K), repeat=n):
        score = model.log_initial[path[0]] + emit[0, path[0]]
        for t in range(1, n):
            score += model.log_transitions[boundaries[t], path[t - 1], path[t]] + emit[t, path[t]]
        for t, state in enumerate(path):
            post[t, state] += np.exp(score)
        if score > best:
            best, best_path = score, list(path)
    return post / post.sum(axis=1, keepdims=True), best_path  # type: ignore[return-value]


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 3),
    seed=st.integers(0, 10_000),
    scale=st.sampled_from([0.5, 1.0, 2.0]),
)
def test_forward_backward_and_viterbi_equal_brute_force(n: int, seed: int, scale: float) -> None:
    rng = np.random.default_rng(seed)
    switch = rng.random((K, K)) + 0.01
    np.fill_diagonal(switch, 0.0)
    switch /= switch.sum(axis=1, keepdims=True)
    model = _model(list(rng.uniform(0.05, 0.95, len(BOUNDARY_KINDS))), switch, scale)
    logits = rng.normal(size=(n, K)) * 2
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    boundaries = [3] + list(rng.integers(0, len(BOUNDARY_KINDS), size=n - 1))
    post, path = model.posteriors(log_probs, boundaries)
    ref_post, ref_path = _brute_force(model, log_probs, boundaries)
    assert np.allclose(post, ref_post, atol=1e-9)
    assert np.allclose(post.sum(axis=1), 1.0)
    assert path == ref_path


def test_a_sure_sentence_pulls_its_neighbours_along() -> None:
    """Hand-checkable: with a sticky chain, an undecided sentence takes the step of its sure neighbours."""
    switch = np.full((K, K), 1.0 / (K - 1))
    np.fill_diagonal(switch, 0.0)
    model = _model([0.9] * len(BOUNDARY_KINDS), switch)
    sure = np.full(K, np.log(0.01 / (K - 1)))
    sure[2] = np.log(0.99)
    unsure = np.full(K, np.log(1.0 / K))
    post, path = model.posteriors(np.stack([sure, unsure, sure]), [3, 0, 0])
    assert path == [2, 2, 2]
    assert post[1, 2] > 0.9


def _fit_script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("fit_step_model", ROOT / "bench" / "fit_step_model.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_shipped_step_model_is_what_the_fit_script_produces(tmp_path: Path) -> None:
    fit = _fit_script()
    if not any(a.source != "gold" for a in fit.training_answers(fit.DEFAULT_MIRRORS)):
        pytest.skip(f"the real answers' mirrors are not under {fit.DEFAULT_MIRRORS} (bench/real_answers/README.md)")
    out = tmp_path / "step_model.npz"
    assert fit.main(["--out", str(out)]) == 0
    shipped = np.load(ROOT / "src" / "mlsd_grader" / "step_model.npz")
    fitted = np.load(out)
    assert sorted(shipped.files) == sorted(fitted.files)
    for name in shipped.files:
        if shipped[name].dtype.kind in "fc":
            assert np.allclose(shipped[name], fitted[name], atol=2e-4), name
        else:
            assert np.array_equal(shipped[name], fitted[name]), name


def test_shipped_model_loads_without_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from mlsd_grader.step_model import load_step_model; load_step_model(); "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert load_step_model().weights.shape == (1 << FEATURE_BITS, K)


# Headings seen in real answers, each over content of the step it names (or of the steps it combines).
REAL_HEADINGS = [
    ("Problem formulation", "Which users do we serve, how many requests per second, and what latency can the "
     "product accept?", "requirements"),
    ("ML task & pipeline", "We treat it as binary classification: the input is a post and the output is the "
     "probability that it is harmful.", "framing"),
    ("Metrics", "Offline we report precision and recall at the operating threshold and PR-AUC; online we run "
     "an A/B test on the report rate.", "evaluation"),
    ("Calculation & estimation", "Assume 500 million daily active users and 10 billion requests a day, so "
     "about 120 thousand queries per second at peak.", "requirements"),
    ("Service", "The ranking service fetches candidates from the ANN index, scores them with the model "
     "server and returns the top results within 100 ms.", "serving"),
    ("Online testing and deployment", "We deploy the new model behind a canary on 1% of traffic, then "
     "roll it out gradually with shadow scoring.", "serving"),
    ("Scaling, monitoring and updates", "We monitor feature drift and prediction distributions, alert on "
     "anomalies and retrain the model every week.", "monitoring"),
    ("High-level design", "A request goes from the API gateway to the prediction service, which reads "
     "features from the online feature store and calls the model server.", "serving"),
]


@pytest.mark.parametrize(("heading", "content", "step"), REAL_HEADINGS)
def test_headings_seen_in_real_answers(heading: str, content: str, step: str) -> None:
    text = f"## {heading}\n\n{content}\n"
    sections = segment(text, config=GraderConfig(backend="none"))
    assert [s.step for s in sections if s.step is not None] == [step], sections


def test_a_combined_heading_lets_the_content_decide() -> None:
    text = (
        "## Model development and offline evaluation\n\n"
        "We start from logistic regression as a baseline and then train a gradient boosted tree model with "
        "a log loss, tuning the learning rate and depth.\n"
        "A deep and cross network adds feature interactions, trained with Adam on a week of data.\n\n"
        "Offline we compare the models by AUC and normalized cross entropy on the next day's held-out data.\n"
    )
    steps = [s.step for s in segment(text, config=GraderConfig(backend="none"))]
    assert steps[:1] == ["modeling"] and steps[-1] == "evaluation", steps


# The shipped model's hash, as every report's signature names it (steps:<hash>). Refitting the model
# changes it: update it here and in the docs' signature samples together.
SHIPPED_STEP_MODEL_HASH = "1b55e04b"


def test_shipped_step_model_is_the_one_the_docs_name() -> None:
    assert load_step_model().content_hash() == SHIPPED_STEP_MODEL_HASH
    docs = (ROOT / "docs" / "report.md").read_text(encoding="utf-8")
    assert f"steps:{SHIPPED_STEP_MODEL_HASH}|" in docs
