"""Measure the similarity rescaling constants (SIMILARITY_BASELINE and SIMILARITY_CEILING).

Baseline: the mean best-match cosine (alignment before rescaling) of every bundled rubric criterion's
model answer against the off-topic texts in tests/data/off_topic. Ceiling: the same alignment of the
strong examples' step sections against the criteria of that step of their own rubric.

    python bench/similarity_constants.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    from mlsd_grader import Grader
    from mlsd_grader.rubric import bundled_rubric_ids, load_rubric
    from mlsd_grader.similarity import align

    grader = Grader()
    embed = grader.embedder
    assert embed is not None
    off_topic = []
    for path in sorted((ROOT / "tests" / "data" / "off_topic").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        sections = grader.segment(text)
        del sections
        from mlsd_grader.text import split_sentences

        sents = [text[s.start : s.end] for s in split_sentences(text)]
        off_topic.append(embed.encode(sents))
    unrelated: list[float] = []
    unrelated_gist: list[float] = []
    for rid in bundled_rubric_ids():
        for vectors in grader._model_vectors(load_rubric(rid)):
            for answer in off_topic:
                unrelated.append(float(np.mean(align(vectors, answer).cosines)))
                unrelated_gist.append(_centroid_cosine(vectors, answer))
    strong: list[float] = []
    strong_gist: list[float] = []
    for example in sorted((ROOT / "examples").glob("*/strong*.md")):
        rubric = load_rubric(example.parent.name)
        text = example.read_text(encoding="utf-8")
        analysis = grader._analyse(text)
        model_vectors = grader._model_vectors(rubric)
        k = 0
        for step in rubric.steps:
            rows = [i for i, sp in enumerate(analysis.sentences)
                    if any(s.step == step.id and s.start <= sp.start < s.end for s in analysis.sections)]
            for _ in step.criteria:
                if rows and analysis.vectors is not None:
                    strong.append(float(np.mean(align(model_vectors[k], analysis.vectors[rows]).cosines)))
                    strong_gist.append(_centroid_cosine(model_vectors[k], analysis.vectors[rows]))
                k += 1
    print(f"off-topic alignment: mean {np.mean(unrelated):.3f}  p95 {np.percentile(unrelated, 95):.3f}  (n={len(unrelated)})")
    print(f"strong-example alignment: mean {np.mean(strong):.3f}  p25 {np.percentile(strong, 25):.3f}"
          f"  p75 {np.percentile(strong, 75):.3f}  (n={len(strong)})")
    print(f"off-topic gist (centroid cosine): mean {np.mean(unrelated_gist):.3f}  p95 {np.percentile(unrelated_gist, 95):.3f}")
    print(f"strong-example gist: mean {np.mean(strong_gist):.3f}  p25 {np.percentile(strong_gist, 25):.3f}"
          f"  p75 {np.percentile(strong_gist, 75):.3f}")
    return 0


def _centroid_cosine(a: np.ndarray, b: np.ndarray) -> float:
    ca, cb = a.mean(axis=0), b.mean(axis=0)
    return float(ca @ cb / (np.linalg.norm(ca) * np.linalg.norm(cb)))


if __name__ == "__main__":
    sys.exit(main())
