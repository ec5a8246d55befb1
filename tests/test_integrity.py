"""The integrity checks one by one: function-word patterns, English word pairs, keyword density.

Hand-computable cases first, then the guard that matters most: no real answer in the repository is
taken for word salad, and shuffled answers are.
"""

from __future__ import annotations

import random
import tracemalloc

import numpy as np
import pytest
import yaml
from conftest import EXAMPLES, ROOT

from mlsd_grader import integrity
from mlsd_grader.integrity import (
    MIN_EXPECTED_BIGRAMS,
    ORDER_FLUENT_Z,
    ORDER_SALAD_Z,
    anomaly_rate,
    english_bigrams,
    fluency_factor,
    order_score,
    stuffing_factor,
)

LINE = "we train the model on clicks and rank the feed by the score of the model"


def shuffled_within_lines(text: str, seed: int) -> str:
    rng = random.Random(seed)
    out = []
    for line in text.split("\n"):
        words = line.split()
        if not line.lstrip().startswith("#"):
            rng.shuffle(words)
        out.append(" ".join(words))
    return "\n".join(out)


def real_answers() -> dict[str, str]:
    texts = {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.glob("*/*.md"))}
    texts |= {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8")
              for p in sorted((ROOT / "tests" / "heldout").glob("*.md"))}
    for path in sorted((ROOT / "tests" / "gold" / "segmentation").glob("*.yaml")):
        gold = yaml.safe_load(path.read_text(encoding="utf-8"))
        texts[str(path.relative_to(ROOT))] = "\n\n".join(
            (f"## {s['heading']}\n" if s.get("heading") else "") + s["body"] for s in gold["segments"])
    return texts


def test_anomaly_rate_by_hand() -> None:
    assert anomaly_rate("the of") == (1.0, 1)  # a determiner before a preposition
    assert anomaly_rate("The model of the user") == (0.0, 3)  # the, of, the: all followed as English allows
    assert anomaly_rate("the model of were") == (0.5, 2)  # "of were": a preposition before an auxiliary
    assert anomaly_rate("we they") == (1.0, 1)  # two pronouns
    assert anomaly_rate("graph embeddings") == (0.0, 0)


def test_order_score_needs_three_words_and_a_pair() -> None:
    assert order_score("two words") == (0.0, 0.0)
    assert order_score("## a heading only\n\n") == (0.0, 0.0)
    assert order_score("A\nA\nA") == (0.0, 0.0)  # three words, but no two on one line
    assert order_score("-- ** ##\n... !!") == (0.0, 0.0)  # no letters


def test_order_score_of_words_english_lacks() -> None:
    """Words outside the English counts are kept in place but never make a known pair."""
    z, expected = order_score("qzxv wbrp ktrl\nplmq ghyt")
    assert expected == 0.0 and z == 0.0


def test_english_pairs_in_order_against_the_same_words_shuffled() -> None:
    text = "\n".join([LINE] * 12)
    z, expected = order_score(text)
    assert expected >= MIN_EXPECTED_BIGRAMS and z > ORDER_FLUENT_Z
    assert fluency_factor(text) == 1.0
    salad = shuffled_within_lines(text, seed=3)
    z_salad, expected_salad = order_score(salad)
    assert expected_salad >= MIN_EXPECTED_BIGRAMS and z_salad < ORDER_SALAD_Z
    assert fluency_factor(salad) == 0.0


def test_order_score_ignores_case_spacing_and_headings() -> None:
    text = "\n".join([LINE] * 12)
    assert order_score(text.upper()) == order_score(text)
    assert order_score(text.replace(" ", "  \t")) == order_score(text)
    assert order_score("## Model\n" + text + "\n### Serving the model of the feed") == order_score(text)


def test_order_score_is_deterministic() -> None:
    text = shuffled_within_lines("\n".join([LINE] * 12), seed=1)
    assert len({order_score(text) for _ in range(3)}) == 1


def test_short_answers_are_not_judged_by_word_order() -> None:
    """A shuffled two-line answer leaves too little evidence: the pair view says nothing (factor from it 1)."""
    salad = shuffled_within_lines(LINE + "\n" + LINE, seed=0)
    _, expected = order_score(salad)
    assert expected < MIN_EXPECTED_BIGRAMS
    assert fluency_factor(salad) == 1.0  # and too few function words for the pattern view


@pytest.mark.parametrize("name", sorted(real_answers()))
def test_no_real_answer_is_taken_for_word_salad(name: str) -> None:
    assert fluency_factor(real_answers()[name]) == 1.0


def test_shuffled_strong_answers_are_word_salad() -> None:
    """Every strong answer, shuffled with three seeds, is judged by the pair view and loses its whole
    integrity factor (bench/word_order.py has the distribution over thirty seeds)."""
    paths = sorted(EXAMPLES.glob("*/strong*.md")) + sorted((ROOT / "tests" / "heldout").glob("*.md"))
    assert len(paths) >= 20
    for path in paths:
        for seed in range(3):
            salad = shuffled_within_lines(path.read_text(encoding="utf-8"), seed)
            z, expected = order_score(salad)
            assert expected >= MIN_EXPECTED_BIGRAMS and z <= ORDER_SALAD_Z, (path, seed)
            assert fluency_factor(salad) == 0.0, (path, seed)


def test_english_bigrams_by_hand() -> None:
    """The association weights: English pairs weigh more than the same words reversed, none is
    negative, and each first word's pairs are sorted for look-up."""
    english = english_bigrams()
    assert len(english.seconds) > 200_000 and (english.weights >= 0).all()
    assert english.starts[0] == 0 and english.starts[-1] == len(english.seconds)
    assert all((np.diff(english.seconds[a:b]) > 0).all() for a, b in zip(english.starts[:2000], english.starts[1:2001]))
    assert english.weight("machine", "learning") > 0 and english.weight("learning", "machine") is None
    assert english.weight("the", "model") > english.weight("model", "the") > 0  # type: ignore[operator]
    assert english.weight("of", "the") > 0 and english.weight("the", "of") == 0.0  # known, PMI below 0
    assert english.weight("zzzqx", "the") is None


def test_stuffing_factor_by_hand() -> None:
    assert stuffing_factor(0.2) == 1.0
    assert stuffing_factor(0.575) == pytest.approx(0.5)
    assert stuffing_factor(0.9) == 0.0



def test_word_pair_data_is_the_one_measured() -> None:
    """The thresholds were measured on these counts: a new symspellpy release that changes them must be
    measured again (bench/word_order.py), so a changed figure here fails the suite."""
    english = english_bigrams()
    assert (len(english.ids), len(english.seconds)) == (19_792, 242_342)
    assert float(english.weights.sum()) == pytest.approx(1_296_493.6201, abs=1e-3)
    assert order_score("\n".join([LINE] * 12)) == pytest.approx((12.446249790, 122.125), abs=1e-8)


def test_word_pair_data_is_read_only() -> None:
    english = english_bigrams()
    with pytest.raises(ValueError):
        english.weights[0] = 1.0
    with pytest.raises(TypeError):
        english.ids["zzzqx"] = 0  # type: ignore[index]


def test_square_tables_and_binary_search_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = list(real_answers().values())[:12]
    texts += [shuffled_within_lines(t, 1) for t in texts[:4]] + ["qzxv wbrp\nthe of the"]
    dense = [order_score(t) for t in texts]
    monkeypatch.setattr(integrity, "DENSE_PAIR_WORDS", 0)
    assert [order_score(t) for t in texts] == dense


def test_memory_grows_with_pairs_not_with_vocabulary_squared() -> None:
    """100,000 characters of 12,000 distinct dictionary words: square tables would take 1.3 GB."""
    words = list(english_bigrams().ids)[:15_000]
    text = "\n".join(" ".join(words[i : i + 10]) for i in range(0, len(words), 10))[:100_000]
    tracemalloc.start()
    try:
        z, expected = order_score(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert expected > 0 and np.isfinite(z)
    assert peak < 100 * 2**20


def test_short_runs_of_real_answers_are_not_word_salad() -> None:
    """From every fourth line of each held-out answer, the shortest run of lines the pair view judges:
    dense technical bullets are where real prose comes closest to the thresholds (bench/word_order.py
    measures every other line of every real text)."""
    judged = 0
    for path in sorted((ROOT / "tests" / "heldout").glob("*.md")):
        lines = path.read_text(encoding="utf-8").split("\n")
        for start in range(0, len(lines), 4):
            for end in range(start + 1, len(lines) + 1):
                excerpt = "\n".join(lines[start:end])
                z, expected = order_score(excerpt)
                if expected >= MIN_EXPECTED_BIGRAMS:
                    judged += 1
                    assert z > ORDER_FLUENT_Z and fluency_factor(excerpt) == 1.0, (path, start, end)
                    break
    assert judged >= 50
