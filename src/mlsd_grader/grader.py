"""The Grader: runs the stages in order (segment -> keywords -> similarity -> scoring -> report).

One implementation serves the Python API and the CLI: ``grade()`` builds a Grader and calls it, and
the CLI only reads files and prints what the Grader returns.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from .calibration import load_calibration
from .config import GraderConfig
from .embeddings import Embedder, load_embedder
from .errors import AnswerReadError
from .keywords import SectionText
from .report import WARNING_CODES, GradeReport, RubricRef, Warning
from .rubric import Rubric, load_rubric
from .scoring import SCORE_DECIMALS, CriterionInput, band_for, overall_score, score_step
from .segmentation import Heading, Section, body_sentences, find_headings, segment_text, step_prototypes
from .steps import ANSWER_STEP
from .text import Span, split_sentences

__all__ = ["Grader", "grade", "segment", "decode_answer", "package_version"]

# Answers whose analysis a Grader keeps in memory (never on disk): enough for grading one answer
# against every bundled rubric in turn, small enough to hold little memory.
RECENT_ANALYSES = 4


def package_version() -> str:
    """The installed package version (the one place it is defined is pyproject.toml)."""
    try:
        return metadata.version("mlsd-grader")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def decode_answer(data: bytes) -> tuple[str, bool]:
    """Decode answer bytes as UTF-8; invalid bytes become U+FFFD. Returns (text, had_invalid_bytes).

    Raises AnswerReadError for binary content (NUL bytes), which is never an answer.
    """
    if b"\x00" in data[:1_000_000]:
        raise AnswerReadError("the answer is binary data, not text")
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace"), True


@dataclass(frozen=True, slots=True)
class _Analysis:
    """What grading needs to know about the answer, independent of the rubric."""

    text: str
    headings: list[Heading]
    sentences: list[Span]
    vectors: np.ndarray | None
    sections: list[Section]


class Grader:
    """Holds the configuration, the embedding backend and prepared rubrics; grade many answers with it.

    A Grader may be shared by threads that only call ``grade``/``segment``: prepared rubrics are
    cached under a lock and the encoder serialises its own calls.
    """

    def __init__(self, config: GraderConfig | None = None, *, embedder: Embedder | None = None) -> None:
        self.config = config if config is not None else GraderConfig()
        self._embedder = embedder
        self._embedder_loaded = embedder is not None
        self._prototypes: np.ndarray | None = None
        self._rubric_vectors: dict[str, list[np.ndarray]] = {}
        # The rubric-independent analysis of the last few answers, in memory only, so grading one
        # answer against several rubrics encodes it once.
        self._recent: OrderedDict[str, _Analysis] = OrderedDict()
        self._lock = threading.RLock()
        self.calibration = load_calibration(self.config.calibration) if self.config.calibration else None

    # ------------------------------------------------------------ backend

    @property
    def embedder(self) -> Embedder | None:
        """The embedding backend, loaded on first use; None for ``backend: none``."""
        with self._lock:
            if not self._embedder_loaded:
                self._embedder = load_embedder(self.config)
                self._embedder_loaded = True
            return self._embedder

    def _step_prototypes(self) -> np.ndarray | None:
        embedder = self.embedder
        if embedder is None:
            return None
        with self._lock:
            if self._prototypes is None:
                self._prototypes = step_prototypes(embedder.encode)
            return self._prototypes

    def _model_vectors(self, rubric: Rubric) -> list[np.ndarray]:
        """Sentence vectors of every criterion's model answer, encoded once per rubric content."""
        embedder = self.embedder
        if embedder is None:
            return []
        with self._lock:
            cached = self._rubric_vectors.get(rubric.content_hash)
            if cached is not None:
                return cached
            per_criterion: list[list[str]] = []
            for step in rubric.steps:
                for crit in step.criteria:
                    text = crit.model_answer
                    per_criterion.append([text[s.start : s.end] for s in split_sentences(text)] or [text])
            flat = [s for group in per_criterion for s in group]
            vectors = embedder.encode(flat)
            out, pos = [], 0
            for group in per_criterion:
                out.append(vectors[pos : pos + len(group)])
                pos += len(group)
            self._rubric_vectors[rubric.content_hash] = out
            return out

    # ------------------------------------------------------------ stages

    def _read(self, answer: str | bytes) -> tuple[str, list[Warning]]:
        warnings: list[Warning] = []
        if isinstance(answer, bytes):
            answer, invalid = decode_answer(answer)
            if invalid:
                warnings.append(Warning(code="invalid_utf8", message=WARNING_CODES["invalid_utf8"]))
        elif not isinstance(answer, str):
            raise AnswerReadError(f"an answer must be str or bytes, not {type(answer).__name__}")
        limit = self.config.max_answer_chars
        if len(answer) > limit:
            answer = answer[:limit]
            warnings.append(
                Warning(code="truncated", message=f"The answer was graded on its first {limit} characters.")
            )
        return answer, warnings

    def _analyse(self, text: str) -> _Analysis:
        key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        with self._lock:
            if key in self._recent:
                self._recent.move_to_end(key)
                return self._recent[key]
        analysis = self._analyse_uncached(text)
        with self._lock:
            self._recent[key] = analysis
            while len(self._recent) > RECENT_ANALYSES:
                self._recent.popitem(last=False)
        return analysis

    def _analyse_uncached(self, text: str) -> _Analysis:
        headings = find_headings(text)
        sentences = body_sentences(text, headings)
        embedder = self.embedder
        vectors = None
        if embedder is not None and sentences:
            vectors = embedder.encode([text[s.start : s.end] for s in sentences])
        sections = segment_text(text, headings, sentences, vectors, self._step_prototypes())
        return _Analysis(text, headings, sentences, vectors, sections)

    # ------------------------------------------------------------ public

    def segment(self, answer: str | bytes) -> list[Section]:
        """The answer's sections, as a report's ``sections`` holds them for a framework rubric."""
        text, _ = self._read(answer)
        return self._analyse(text).sections if text.strip() else []

    def grade(self, answer: str | bytes, rubric: str | Path | Rubric) -> GradeReport:
        """Grade one answer (text, or bytes decoded as UTF-8) against a rubric id, path or Rubric."""
        rub = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
        text, warnings = self._read(answer)
        empty = not text.strip()
        if empty:
            warnings.append(Warning(code="empty_answer", message=WARNING_CODES["empty_answer"]))
            analysis = _Analysis(text, [], [], None, [])
        else:
            analysis = self._analyse(text)
        if rub.is_short_answer:
            sections = [] if empty else [Section(step=ANSWER_STEP, start=0, end=len(text), heading=None, confidence=1.0)]
        else:
            sections = analysis.sections
        model_vectors = self._model_vectors(rub)
        total_weight = sum(s.weight for s in rub.steps)
        step_scores = []
        k = 0
        missing = []
        for step in rub.steps:
            regions = [(s.start, s.end) for s in sections if s.step == step.id]
            section = SectionText(text, regions) if regions else None
            answer_vectors = None
            if analysis.vectors is not None and regions:
                rows = [i for i, sp in enumerate(analysis.sentences) if any(a <= sp.start < b for a, b in regions)]
                answer_vectors = analysis.vectors[rows] if rows else None
            inputs = []
            for crit in step.criteria:
                inputs.append(CriterionInput(crit, model_vectors[k] if model_vectors else None))
                k += 1
            if section is None:
                missing.append(step.id)
            step_scores.append(
                score_step(
                    step,
                    weight=step.weight / total_weight,
                    section=section,
                    answer_vectors=answer_vectors,
                    inputs=inputs,
                    config=self.config,
                )
            )
        if missing and not empty:
            warnings.append(
                Warning(code="missing_steps", message="No section found for: " + ", ".join(missing) + ".")
            )
        score = 0.0 if empty else overall_score(step_scores)
        calibrated = None if self.calibration is None else round(self.calibration.apply(score), SCORE_DECIMALS)
        return GradeReport(
            rubric=RubricRef(id=rub.id, version=rub.version, title=rub.title),
            score=score,
            calibrated_score=calibrated,
            band=band_for(score, self.config),
            steps=step_scores,
            sections=sections,
            warnings=warnings,
            signature=self.signature(rub),
        )

    def signature(self, rubric: Rubric) -> str:
        """Everything that determines the numbers: version, rubric, backend and model, weights."""
        head, rest = self.signature_without_rubric().split("|", 1)
        return f"{head}|rubric:{rubric.id}@{rubric.version}#{rubric.content_hash}|{rest}"

    def signature_without_rubric(self) -> str:
        """The signature's parts that do not depend on the rubric (stored in calibration files)."""
        embedder = self.embedder
        backend = embedder.signature() if embedder is not None else "none"
        c = self.config
        kw, sim = c.weights
        return (
            f"mlsd_grader:{package_version()}"
            f"|backend:{backend}|weights:kw={kw:g},sim={sim:g},cov={c.coverage_target:g}"
            f"|bands:{c.strong_hire_threshold:g}/{c.hire_threshold:g}/{c.lean_no_hire_threshold:g}"
            f"|max_chars:{c.max_answer_chars}"
            f"|calibration:{self.calibration.content_hash if self.calibration else 'none'}"
        )


def grade(answer: str | bytes, rubric: str | Path | Rubric, *, config: GraderConfig | None = None) -> GradeReport:
    """Grade one answer; builds a Grader (the model itself is loaded once per process)."""
    return Grader(config).grade(answer, rubric)


def segment(answer: str | bytes, *, config: GraderConfig | None = None) -> list[Section]:
    """Split an answer into framework-step sections; equal to a framework rubric report's ``sections``."""
    return Grader(config).segment(answer)
