"""Short-answer rubrics built automatically from a question and its reference answer.

The reference's content words become the concepts, weighted so that rare words count more than common
ones (wordfreq's Zipf frequency: the best-kept offline English word-frequency table on PyPI) and leaving
out what the question already says, so that repeating the question earns nothing. The reference itself
is the model answer.
"""

from __future__ import annotations

import hashlib
import re

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from .rubric import Concept, Criterion, Rubric, Step
from .steps import ANSWER_STEP
from .text import tokenize

__all__ = ["rubric_from_reference", "concept_weight", "RARITY_CEILING", "MIN_CONCEPT_WEIGHT"]

# Concept weight = RARITY_CEILING - Zipf frequency, floored at MIN_CONCEPT_WEIGHT. Zipf 7 is "the";
# everyday words sit near 5 and technical terms near 3, so a technical term weighs about twice an
# everyday word. Chosen on SAF training.jsonl (docs/benchmarks.md).
RARITY_CEILING = 7.0
MIN_CONCEPT_WEIGHT = 1.0
_WORD = re.compile(r"[a-z]")


def concept_weight(word: str) -> float:
    """Weight of a reference word: rarer words weigh more."""
    from wordfreq import zipf_frequency

    return max(MIN_CONCEPT_WEIGHT, RARITY_CEILING - zipf_frequency(word, "en"))


def rubric_from_reference(
    question: str,
    reference_answer: str,
    *,
    id: str | None = None,  # noqa: A002 - the rubric field's name
    version: str = "1",
    title: str | None = None,
) -> Rubric:
    """A one-step rubric (step ``answer``) whose concepts are the reference's content words."""
    if not question.strip() or not reference_answer.strip():
        raise ValueError("question and reference_answer must both be non-empty")
    question_stems = {t.stem for t in tokenize(question)}
    concepts: dict[str, Concept] = {}
    for tok in tokenize(reference_answer):
        word = reference_answer[tok.start : tok.end].casefold()
        if (
            tok.stem in question_stems
            or tok.stem in concepts
            or word in ENGLISH_STOP_WORDS
            or len(word) < 2
            or not _WORD.search(word)
        ):
            continue
        concepts[tok.stem] = Concept(name=word, weight=round(concept_weight(word), 3))
    digest = hashlib.sha256(f"{question}\x00{reference_answer}".encode()).hexdigest()[:12]
    criterion = Criterion(
        id="reference",
        description="Covers what the reference answer says.",
        concepts=list(concepts.values()),
        model_answer=reference_answer,
    )
    return Rubric(
        id=id or f"ref-{digest}",
        version=version,
        title=title or (question if len(question) <= 80 else question[:77] + "..."),
        question=question,
        steps=[Step(id=ANSWER_STEP, weight=1.0, criteria=[criterion])],
    )
