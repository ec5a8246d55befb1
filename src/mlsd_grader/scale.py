"""One score scale for every backend: a monotone map from a backend's criterion scores onto the
default model's.

The static backend, keywords alone (backend ``none``) and a sentence-transformers model of the user's
own see the same answer through different similarities (or none), so their criterion scores sit on
scales of their own. Each gets an isotonic (non-decreasing) map, fitted to the default model's
criterion scores on a reference set made from the bundled examples only: the answers; their halves;
each with one section removed; each as terse bullet notes; and paragraph mixtures across questions,
graded against their own, a neighbouring and the generic rubric. The default model's scores on it ship
with the package (``scales/reference_targets.json``), so fitting a backend needs only that backend. The
maps of the static and none backends ship too; a user's own model is fitted on first use and cached,
like the static distillation. docs/scoring.md ("One scale for every backend") compares this with
rescaling each backend's cosines against its own baseline, which was measured and not chosen.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from .errors import ModelLoadError

__all__ = [
    "IDENTITY",
    "MIXTURES",
    "SCALE_POINTS",
    "ReferenceItem",
    "ScoreScale",
    "fit_backend_scale",
    "fit_scale",
    "reference_hash",
    "reference_items",
    "resolve_scale",
    "scale_file_name",
    "shipped_scale",
    "shipped_targets",
]

# The fitted map keeps this many breakpoints (evenly spaced in input), so a scale file stays small and
# reads at a glance. Mean absolute error of the criterion scores on the reference set with 11, 41 and 201
# breakpoints: static 0.0690, 0.0670, 0.0655; keywords alone 0.1757, 0.1755, 0.1754.
SCALE_POINTS = 41
# Paragraph mixtures across questions in the reference set (seeded): with the answers, their halves
# and their section removals they fill the middle of the score range that whole answers leave thin.
# Chosen by that reasoning, about as many as one question's other reference answers (32), not tuned.
MIXTURES = 30
MIXTURE_SEED = 20261202
# Words kept of each sentence in the terse version of an example (reference set): the 1,225 bullet
# lines of the 25 dev real answers hold 5 words at the median (quartiles 2 and 10); 7 keeps a verb and
# its object more often than 5. Not tuned: the terse items moved the static figures by 0.001.
TERSE_WORDS = 7
_HEADING = re.compile(r"^#{1,6}\s")


@dataclass(frozen=True, slots=True)
class ScoreScale:
    """A monotone piecewise-linear map of criterion scores (the identity when ``xs`` is empty)."""

    xs: tuple[float, ...] = ()
    ys: tuple[float, ...] = ()
    name: str = "identity"

    def __call__(self, score: float) -> float:
        if not self.xs:
            return score
        return float(np.interp(score, self.xs, self.ys))

    @property
    def content_hash(self) -> str:
        if not self.xs:
            return "identity"
        return hashlib.sha256(json.dumps([self.xs, self.ys]).encode()).hexdigest()[:8]

    def to_json(self) -> str:
        return json.dumps({"name": self.name, "xs": list(self.xs), "ys": list(self.ys)}, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ScoreScale:
        data = json.loads(text)
        return cls(tuple(float(x) for x in data["xs"]), tuple(float(y) for y in data["ys"]), str(data["name"]))


IDENTITY = ScoreScale()


# ------------------------------------------------------------------ the bundled texts


def _examples() -> list[tuple[str, str, str]]:
    """(question, tier, text) of every bundled example answer, in a fixed order."""
    root = resources.files("mlsd_grader.examples")
    out = []
    for question in sorted(p.name for p in root.iterdir() if p.is_dir()):
        for tier in sorted(p.name for p in (root / question).iterdir() if p.name.endswith(".md")):
            out.append((question, tier[:-3], (root / question / tier).read_text(encoding="utf-8")))
    return out


@dataclass(frozen=True, slots=True)
class ReferenceItem:
    """One answer of the reference set and the rubrics it is graded against."""

    name: str
    text: str
    rubrics: tuple[str, ...]


def _sections(text: str) -> list[tuple[int, int]]:
    """Line ranges [start, end) of each markdown section (a heading line to the next heading)."""
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if _HEADING.match(line)]
    return [(a, b) for a, b in zip(starts, starts[1:] + [len(lines)])]


def _paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", text) if p.strip() and not _HEADING.match(p.strip())]


def reference_items() -> list[ReferenceItem]:
    """The reference set, the same on every machine: built from the bundled examples only."""
    examples = _examples()
    questions = sorted({q for q, _, _ in examples})
    neighbour = {q: questions[(i + 1) % len(questions)] for i, q in enumerate(questions)}
    items = []
    for question, tier, text in examples:
        rubrics = (question, neighbour[question], "generic")
        items.append(ReferenceItem(f"{question}/{tier}", text, rubrics))
        paragraphs = _paragraphs(text)
        half = len(paragraphs) // 2
        if half:
            items.append(ReferenceItem(f"{question}/{tier}#first-half", "\n\n".join(paragraphs[:half]), rubrics))
            items.append(ReferenceItem(f"{question}/{tier}#second-half", "\n\n".join(paragraphs[half:]), rubrics))
        items.append(ReferenceItem(f"{question}/{tier}#terse", _terse(text), rubrics))
        lines = text.split("\n")
        for a, b in _sections(text):
            cut = "\n".join(lines[:a] + lines[b:])
            items.append(ReferenceItem(f"{question}/{tier}#without-{a + 1}", cut, (question,)))
    rng = np.random.default_rng(MIXTURE_SEED)
    pool = [(q, p) for q, _, text in examples for p in _paragraphs(text)]
    for n in range(MIXTURES):
        picks = sorted(rng.choice(len(pool), size=int(rng.integers(3, 9)), replace=False))
        chosen = [pool[int(i)] for i in picks]
        owner = max(questions, key=lambda q: (sum(c[0] == q for c in chosen), q))
        items.append(ReferenceItem(f"mixture-{n}", "\n\n".join(p for _, p in chosen), (owner, "generic")))
    return items


def _terse(text: str) -> str:
    """The answer as terse notes: each sentence cut to its first TERSE_WORDS words, one bullet each,
    headings kept (real answers are often written so, and embedding backends part most on them)."""
    from .text import split_sentences

    out = []
    for line in text.split("\n"):
        if _HEADING.match(line) or not line.strip():
            out.append(line)
            continue
        for span in split_sentences(line):
            words = line[span.start : span.end].lstrip("-*0123456789. ").split()
            if words:
                out.append("- " + " ".join(words[:TERSE_WORDS]))
    return "\n".join(out)


def reference_hash(items: Sequence[ReferenceItem]) -> str:
    """What the shipped targets were computed on: a changed example shows as a new hash."""
    digest = hashlib.sha256()
    for item in items:
        digest.update(json.dumps([item.name, item.text, list(item.rubrics)]).encode())
    return digest.hexdigest()[:12]


# ------------------------------------------------------------------ fitting and loading


def fit_scale(inputs: Iterable[float], targets: Iterable[float], *, name: str) -> ScoreScale:
    """The isotonic (non-decreasing) least-squares map from ``inputs`` to ``targets``, clipped to
    [0, 1], kept as SCALE_POINTS breakpoints."""
    from sklearn.isotonic import IsotonicRegression

    x = np.asarray(list(inputs), dtype=np.float64)
    y = np.asarray(list(targets), dtype=np.float64)
    fit = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(x, y)
    xs = np.linspace(0.0, 1.0, SCALE_POINTS)
    ys = fit.predict(np.clip(xs, x.min(), x.max()))
    return ScoreScale(tuple(round(float(v), 4) for v in xs), tuple(round(float(v), 4) for v in ys), name)


def _data_file(name: str) -> Path | None:
    path = resources.files("mlsd_grader") / "scales" / name
    return Path(str(path)) if path.is_file() else None


def shipped_targets() -> tuple[str, tuple[float, ...]] | None:
    """The default model's criterion scores on the reference set: (reference hash, scores)."""
    path = _data_file("reference_targets.json")
    if path is None:
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return str(data["reference"]), tuple(float(v) for v in data["scores"])


def shipped_scale(name: str) -> ScoreScale | None:
    """The scale that ships under a file name (``none``, ``static-...``), if any."""
    path = _data_file(f"{name}.json")
    return ScoreScale.from_json(path.read_text(encoding="utf-8")) if path is not None else None


def scale_file_name(backend_signature: str) -> str:
    """The file name (without .json) of a backend's scale: its signature with path-safe characters."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", backend_signature).strip("-")


def _cache_path(name: str, version: str) -> Path:
    from .cache import cache_dir

    return cache_dir() / "scales" / f"{name}-{version}.json"


def resolve_scale(
    backend_signature: str,
    *,
    is_default: bool,
    version: str,
    fit: Callable[[str], ScoreScale],
    refit: bool = False,
) -> ScoreScale:
    """The scale of a backend: identity for the default model; else a map fitted again by
    ``calibrate-backend`` (cached), else the shipped one (static, none), else ``fit(name)`` (its file name), cached."""
    if is_default:
        return IDENTITY
    name = scale_file_name(backend_signature)
    path = _cache_path(name, version)
    if not refit:
        if path.is_file():
            return ScoreScale.from_json(path.read_text(encoding="utf-8"))
        shipped = shipped_scale(name)
        if shipped is not None:
            return shipped
    print(
        f"mlsd-grader: fitting the score scale of {backend_signature} to the default model's, once "
        "(grading the bundled reference answers, a minute or a few on a CPU); it will be cached in "
        f"{path.parent}",
        file=sys.stderr,
    )
    scale = fit(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(f".tmp{os.getpid()}")
    temp.write_text(scale.to_json(), encoding="utf-8")
    os.replace(temp, path)
    return scale


def fit_backend_scale(graded: Sequence[float], *, name: str) -> ScoreScale:
    """A backend's map from its criterion scores on the reference set (in reference order, on no
    scale) to the default model's shipped ones."""
    targets = shipped_targets()
    if targets is None or targets[0] != reference_hash(reference_items()):
        raise ModelLoadError(
            "the default model's scores on the reference set are missing or stale: run "
            "scripts/fit_backend_scales.py targets"
        )
    if len(graded) != len(targets[1]):
        raise ModelLoadError(f"the reference set gave {len(graded)} criteria, the targets hold {len(targets[1])}")
    return fit_scale(graded, targets[1], name=name)
