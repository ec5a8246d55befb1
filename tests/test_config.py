"""GraderConfig precedence: flag > environment > config file > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlsd_grader import ConfigError, GraderConfig
from mlsd_grader.config import DEFAULT_MODEL


def test_precedence(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("model: from-file\nmax_answer_chars: 50\nkeyword_weight: 0.7\n")
    env = {"MLSD_GRADER_MODEL": "from-env", "MLSD_GRADER_MAX_ANSWER_CHARS": "60"}
    loaded = GraderConfig.load(cfg, environ=env, model="from-flag")
    assert loaded.model == "from-flag"
    assert loaded.max_answer_chars == 60
    assert loaded.keyword_weight == 0.7
    assert GraderConfig.load(environ={}).model == DEFAULT_MODEL


def test_none_overrides_are_ignored() -> None:
    assert GraderConfig.load(environ={}, model=None).model == DEFAULT_MODEL


@pytest.mark.parametrize(
    "content", ["max_answer_chars: -1\n", "unknown_field: 1\n", "[1, 2]\n", "model: [\n", "hire_threshold: 0.9\n"]
)
def test_bad_config_is_one_clear_error(tmp_path: Path, content: str) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(content)
    with pytest.raises(ConfigError) as info:
        GraderConfig.load(cfg, environ={})
    assert "\n" not in str(info.value)


def test_missing_config_file() -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        GraderConfig.load("/nonexistent/c.yaml", environ={})


def test_weights_normalised_and_keywords_only_for_backend_none() -> None:
    assert GraderConfig(keyword_weight=0.2, similarity_weight=0.6).weights == pytest.approx((0.25, 0.75))
    assert GraderConfig(backend="none").weights == (1.0, 0.0)


def test_direct_construction_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="max_answer_chars"):
        GraderConfig(max_answer_chars=0)
