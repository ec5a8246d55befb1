"""The Grader: runs the stages in order (segment -> keywords -> similarity -> scoring -> report).

One implementation serves the Python API and the CLI: ``grade()`` builds a Grader and calls it, and
the CLI only reads files and prints what the Grader returns.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .batch import BatchRecord, BatchResult, InputFailure, identify_records
from .cache import VectorCache
from .calibration import load_calibration
from .config import GraderConfig
from .embeddings import Embedder, is_default_model, load_embedder
from .errors import AnswerReadError, MLSDGraderError, ModelLoadError, first_line
from .keywords import SectionText, WeightedText
from .report import WARNING_CODES, GradeReport, RubricRef, Warning
from .rubric import Rubric, load_rubric
from .scale import IDENTITY, ReferenceItem, ScoreScale, fit_backend_scale, reference_items, resolve_scale
from .integrity import (
    COPIED_SHARE, copied_share, english_counts_signature, fluency_factor, keyword_density, stuffing_factor,
    unit_word_counts,
)
from .scoring import OFF_TOPIC_SCORE, SCORE_DECIMALS, CriterionInput, band_for, overall_score, score_step
from .segmentation import (
    Heading, Section, StepAssignment, assign_steps, body_sentences, find_headings, introduced_sentences, segment_text,
)
from .steps import ANSWER_STEP
from .step_model import STATES, load_step_model, state_step
from .text import Span, normalize_line_ends, rubric_sentences, split_sentences

__all__ = ["Grader", "grade", "segment", "decode_answer", "package_version", "ANSWERS_PER_CHUNK"]

# Answers whose analysis a Grader keeps in memory (never on disk): enough for grading one answer
# against every bundled rubric in turn, small enough to hold little memory.
RECENT_ANALYSES = 4

# Answers that grade_many analyses together, with one encoder call for all their sentences. Encoding the
# 1,086 sentences of the 30 example and held-out answers with all-MiniLM-L6-v2 on a 2-core CPU (best of 4
# interleaved runs) took 11.5 s one answer per call, 9.6 s eight per call, 7.2 s for 16 and 6.8 s for 32:
# fuller, length-sorted encoder batches. 32 answers (about 1,100 sentences) still hold little memory.
ANSWERS_PER_CHUNK = 32

_T = TypeVar("_T")


@lru_cache(maxsize=1)
def package_version() -> str:
    """The installed package version (the one place it is defined is pyproject.toml); read once, since
    reading the package metadata takes about half a millisecond and every report's signature names it."""
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
    # each sentence's probability of each step (step_model.STATES), None for an empty answer
    assignment: StepAssignment | None


class Grader:
    """Holds the configuration, the embedding backend and prepared rubrics; grade many answers with it.

    A Grader may be shared by threads that only call ``grade``/``segment``: prepared rubrics are
    cached under a lock and the encoder serialises its own calls.
    """

    def __init__(
        self, config: GraderConfig | None = None, *, embedder: Embedder | None = None, scale: ScoreScale | None = None
    ) -> None:
        self.config = config if config is not None else GraderConfig()
        self._embedder = embedder
        self._embedder_loaded = embedder is not None
        self._own_embedder = embedder is not None  # a model of the caller's: on the default scale only once fitted
        self._scale = scale
        self._rubric_vectors: dict[str, list[np.ndarray]] = {}
        # The rubric-independent analysis of the last few answers, in memory only, so grading one
        # answer against several rubrics encodes it once.
        self._recent: OrderedDict[str, _Analysis] = OrderedDict()
        self._lock = threading.RLock()
        self.calibration = load_calibration(self.config.calibration) if self.config.calibration else None
        self._vector_cache = VectorCache()

    # ------------------------------------------------------------ backend

    @property
    def embedder(self) -> Embedder | None:
        """The embedding backend, loaded on first use; None for ``backend: none``."""
        with self._lock:
            if not self._embedder_loaded:
                self._embedder = load_embedder(self.config)
                self._embedder_loaded = True
            return self._embedder

    @property
    def scale(self) -> ScoreScale:
        """The map that puts this backend's criterion scores on the default model's scale (``scale.py``):
        loaded on first use, or for a model of the caller's own fitted on first use and cached."""
        with self._lock:
            if self._scale is None:
                self._scale = self._resolve_scale(refit=False)
            return self._scale

    def refit_scale(self) -> ScoreScale:
        """Fit this backend's scale again (``calibrate-backend``), cache it and use it."""
        scale = self._resolve_scale(refit=True)
        with self._lock:
            self._scale = scale
        return scale

    def _resolve_scale(self, *, refit: bool) -> ScoreScale:
        keywords_only = self.config.weights[1] == 0
        embedder = None if keywords_only else self.embedder
        is_default = not keywords_only and not self._own_embedder and (
            self.config.backend == "sentence-transformers" and is_default_model(self.config.model))
        signature = embedder.signature() if embedder is not None else "none"

        def fit(name: str) -> ScoreScale:
            return fit_backend_scale(self.reference_scores(reference_items(), progress=True), name=name)

        return resolve_scale(signature, is_default=is_default, version=package_version(), fit=fit,
                             refit=refit)

    def reference_scores(
        self, items: Sequence[ReferenceItem], *, scale: ScoreScale = IDENTITY, progress: bool = False
    ) -> list[float]:
        """Every criterion score of the reference set on ``scale`` (none by default), in order: item by
        item, each of its rubrics, each criterion. ``progress`` shows a bar on stderr."""
        plain = Grader(self.config, embedder=self.embedder, scale=scale)
        records = [{"id": f"{item.name}@{rubric}", "answer": item.text, "rubric": rubric}
                   for item in items for rubric in item.rubrics]
        scores: list[float] = []
        from tqdm import tqdm  # a dependency of sentence-transformers and model2vec

        with tqdm(total=len(records), desc="reference answers", unit="answer", disable=not progress) as bar:
            for result in plain.grade_many(records):
                if result.report is None:
                    raise ModelLoadError(f"reference answer {result.id} could not be graded: {result.error}")
                scores.extend(c.score for step in result.report.steps for c in step.criteria)
                bar.update(1)
        return scores

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
            name = embedder.signature()
            vectors = self._vector_cache.load(name, rubric.content_hash, flat)
            if vectors is None:
                vectors = embedder.encode(flat)
                self._vector_cache.store(name, rubric.content_hash, flat, vectors)
            out = _split_rows(vectors, [len(group) for group in per_criterion])
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
        return normalize_line_ends(answer), warnings

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
        return self._analyse_many([text])[0]

    def _analyse_many(self, texts: Sequence[str]) -> list[_Analysis]:
        """Analyse answers together, with one encoder call for all their sentences."""
        present = [bool(t.strip()) for t in texts]  # an empty answer has nothing to analyse
        headings = [find_headings(t) if ok else [] for t, ok in zip(texts, present)]
        sentences = [body_sentences(t, h) if ok else [] for t, h, ok in zip(texts, headings, present)]
        embedder = self.embedder
        vectors: list[np.ndarray | None] = [None] * len(texts)
        flat = [t[s.start : s.end] for t, spans in zip(texts, sentences) for s in spans]
        if embedder is not None and flat:
            split = _split_rows(embedder.encode(flat), [len(spans) for spans in sentences])
            vectors = [v if len(v) else None for v in split]
        out = []
        for t, h, s, v, ok in zip(texts, headings, sentences, vectors, present):
            if not ok:
                out.append(_Analysis(t, [], [], None, [], None))
                continue
            assignment = assign_steps(t, h, s)
            out.append(_Analysis(t, h, s, v, segment_text(t, h, s, assignment), assignment))
        return out

    # ------------------------------------------------------------ public

    def segment(self, answer: str | bytes) -> list[Section]:
        """The answer's sections, as a report's ``sections`` holds them for a framework rubric."""
        text, _ = self._read(answer)
        return self._analyse(text).sections if text.strip() else []

    def grade(self, answer: str | bytes, rubric: str | Path | Rubric) -> GradeReport:
        """Grade one answer (text, or bytes decoded as UTF-8) against a rubric id, path or Rubric."""
        rub = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
        text, warnings = self._read(answer)
        return self._report(rub, warnings, self._analyse(text))

    def grade_many(
        self,
        records: Iterable[BatchRecord | InputFailure | Mapping[str, Any]],
        rubric: str | Path | Rubric | None = None,
        *,
        skip: Collection[str] = (),
        rubrics: Mapping[str, Rubric] | None = None,
    ) -> Iterator[BatchResult]:
        """Grade many records, yielding one result per record in input order.

        ``rubric`` serves records that name none (a record's ``rubric``, else its ``question`` and
        ``reference_answer``, comes first). A record that cannot be graded (unreadable, unknown rubric,
        an id seen before) gives a result with ``error`` and the rest go on. Ids in ``skip`` (graded by
        an earlier run) are left out but still count as seen. ``rubrics`` holds rubrics already loaded,
        by the id or path records name them with, so that a rubric file need not exist where grading
        runs. Answers are analysed ANSWERS_PER_CHUNK at a time with one encoder call, and score as
        ``grade`` scores them one by one.
        """
        default = None if rubric is None else rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
        return self._grade_stream(records, default, frozenset(skip), dict(rubrics or {}))

    def _grade_stream(
        self, records: Iterable[BatchRecord | InputFailure | Mapping[str, Any]], default: Rubric | None,
        skip: frozenset[str], loaded: dict[str, Rubric],
    ) -> Iterator[BatchResult]:
        rubrics: dict[tuple[str | None, ...], Rubric | str] = {(ref,): rub for ref, rub in loaded.items()}
        chunk: list[BatchResult | _Job] = []
        jobs = 0
        for record in identify_records(records):
            if isinstance(record, BatchResult):  # a duplicate id
                chunk.append(record)
                continue
            if record.id in skip:
                continue
            chunk.append(self._job(record, default, rubrics))
            jobs += isinstance(chunk[-1], _Job)
            if jobs >= ANSWERS_PER_CHUNK:
                yield from self._finish_chunk(chunk)
                chunk, jobs = [], 0
        yield from self._finish_chunk(chunk)

    def _job(
        self, record: BatchRecord | InputFailure, default: Rubric | None,
        rubrics: dict[tuple[str | None, ...], Rubric | str],
    ) -> BatchResult | _Job:
        """What grading the record (its id and source set) needs, its rubric and text, or its failure."""
        record_id, source = str(record.id), str(record.source)
        if isinstance(record, InputFailure):
            return BatchResult(id=record_id, source=source, error=record.error)
        key = (record.rubric,) if record.rubric else (None, record.question, record.reference_answer)
        if key not in rubrics:
            rubrics[key] = _record_rubric(record, default)
        rub = rubrics[key]
        if isinstance(rub, str):
            return BatchResult(id=record_id, source=source, error=rub)
        try:
            text, warnings = self._read(record.answer)
        except MLSDGraderError as exc:
            return BatchResult(id=record_id, source=source, error=str(exc))
        return _Job(record_id, source, rub, text, warnings)

    def _finish_chunk(self, chunk: list[BatchResult | _Job]) -> Iterator[BatchResult]:
        texts = [item.text for item in chunk if isinstance(item, _Job)]
        together = self._isolated(self._analyse_many, texts)
        # a bug on one answer must not lose the chunk: then they are analysed one by one
        found = iter([self._isolated(self._analyse_uncached, t) for t in texts] if isinstance(together, str) else together)
        for item in chunk:
            if isinstance(item, BatchResult):
                yield item
                continue
            analysis = next(found)
            report = analysis if isinstance(analysis, str) else self._isolated(
                self._report, item.rubric, item.warnings, analysis
            )
            if isinstance(report, str):
                yield BatchResult(id=item.id, source=item.source, error=report)
            else:
                yield BatchResult(id=item.id, source=item.source, report=report, text=item.text)

    @staticmethod
    def _isolated(work: Callable[..., _T], *args: Any) -> _T | str:
        """``work(*args)``, or a one-line error if it raises: an unexpected failure (a bug) on one
        record of a batch is that record's error, and the other records are still graded."""
        try:
            return work(*args)
        except MLSDGraderError:  # not a bug (a model that cannot load, a bad configuration): raised as before
            raise
        except Exception as exc:
            return internal_error(exc)

    def _report(self, rub: Rubric, warnings: list[Warning], analysis: _Analysis) -> GradeReport:
        """Score an analysed answer against a rubric: the one scoring path of grade and grade_many."""
        text = analysis.text
        empty = not text.strip()
        if empty:
            warnings.append(Warning(code="empty_answer", message=WARNING_CODES["empty_answer"]))
        if self.config.backend == "none":
            warnings.append(Warning(code="approximate_scores", message=WARNING_CODES["approximate_scores"]))
        if rub.is_short_answer:
            sections = [] if empty else [Section(step=ANSWER_STEP, start=0, end=len(text), heading=None, confidence=1.0)]
        else:
            sections = analysis.sections
        model_vectors = self._model_vectors(rub)
        fluency = 1.0 if empty else fluency_factor(text)
        if fluency < 1.0:
            warnings.append(Warning(code="word_salad", message=WARNING_CODES["word_salad"]))
        total_weight = sum(s.weight for s in rub.steps)
        step_scores = []
        k = 0
        missing = []
        stuffed = False
        # every phrase scoring looks up in the answer: concepts, anti-pattern triggers and unless
        phrases = [
            p for step in rub.steps for crit in step.criteria
            for p in (*(q for c in crit.concepts for q in c.phrases),
                      *(q for a in crit.anti_patterns for q in (*a.triggers, *a.unless)))
        ]
        whole = SectionText(text, [(0, len(text))], phrases=phrases) if not empty else None
        units = _Units(analysis, rub)
        scale = self._scale_for(rub)
        unit_words = unit_word_counts(text, units.starts) if not rub.is_short_answer else None
        for step in rub.steps:
            unit_weights, sentence_weights = units.weights(step.id)
            section = None
            if whole is not None and max(unit_weights, default=0.0) > 0:
                section = WeightedText(whole, units.starts, unit_weights, units.judged)
            answer_vectors = vector_weights = None
            if analysis.vectors is not None and section is not None:
                rows = np.flatnonzero(sentence_weights > 0)
                if len(rows):
                    answer_vectors = analysis.vectors[rows]
                    vector_weights = None if rub.is_short_answer else sentence_weights[rows]
            inputs = []
            for crit in step.criteria:
                inputs.append(CriterionInput(crit, model_vectors[k] if model_vectors else None))
                k += 1
            if section is None:
                missing.append(step.id)
            stuffing = 1.0
            # Not for short-answer rubrics: their concepts are every content word of the reference, and
            # a terse list of the right terms is a fair short answer ("name four header fields").
            if section is not None and not rub.is_short_answer:
                concept_phrases = [p for crit in step.criteria for c in crit.concepts for p in c.phrases]
                stuffing = stuffing_factor(keyword_density(section, concept_phrases, unit_words))
                stuffed = stuffed or stuffing < 1.0
            step_scores.append(
                score_step(
                    step,
                    weight=step.weight / total_weight,
                    text=section,
                    answer_vectors=answer_vectors,
                    vector_weights=vector_weights,
                    inputs=inputs,
                    config=self.config,
                    integrity=fluency * stuffing,
                    scale=scale,
                )
            )
        if stuffed:
            warnings.append(Warning(code="keyword_stuffing", message=WARNING_CODES["keyword_stuffing"]))
        if missing and not empty:
            warnings.append(
                Warning(code="missing_steps", message="No sentence of the answer weighs anything for: " + ", ".join(missing) + ".")
            )
        score = 0.0 if empty else overall_score(step_scores)
        if not empty and score < OFF_TOPIC_SCORE:
            warnings.append(Warning(code="off_topic", message=WARNING_CODES["off_topic"]))
        if not empty and self._is_copy(analysis, rub):
            warnings.append(Warning(code="copied_model_answer", message=WARNING_CODES["copied_model_answer"]))
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

    def _is_copy(self, analysis: _Analysis, rubric: Rubric) -> bool:
        text = analysis.text
        answer = [text[s.start : s.end] for s in analysis.sentences]
        model = [s for step in rubric.steps for c in step.criteria for s in rubric_sentences(c.model_answer)]
        return copied_share(answer, model) >= COPIED_SHARE

    def _scale_for(self, rubric: Rubric) -> ScoreScale:
        """The map onto the default model's scale, for framework rubrics only: it was fitted on them, and
        on short-answer rubrics it cost the static backend 0.04 of SAF Pearson (docs/scoring.md)."""
        return IDENTITY if rubric.is_short_answer else self.scale

    def signature(self, rubric: Rubric) -> str:
        """Everything that determines the numbers: version, rubric, backend and model, weights."""
        head, rest = self._signature(self._scale_for(rubric)).split("|", 1)
        return f"{head}|rubric:{rubric.id}@{rubric.version}#{rubric.content_hash}|{rest}"

    def signature_without_rubric(self) -> str:
        """The signature's parts that do not depend on the rubric (stored in calibration files)."""
        return self._signature(self.scale)

    def _signature(self, scale: ScoreScale) -> str:
        embedder = self.embedder
        backend = embedder.signature() if embedder is not None else "none"
        c = self.config
        kw, sim = c.weights
        return (
            f"mlsd_grader:{package_version()}"
            f"|backend:{backend}|english:{english_counts_signature()}|steps:{load_step_model().content_hash()}"
            f"|weights:kw={kw:g},sim={sim:g},cov={c.coverage_target:g}"
            f"|bands:{c.strong_hire_threshold:g}/{c.hire_threshold:g}/{c.lean_no_hire_threshold:g}"
            f"|max_chars:{c.max_answer_chars}"
            f"|scale:{scale.content_hash}"
            f"|calibration:{self.calibration.content_hash if self.calibration else 'none'}"
        )


@dataclass(frozen=True, slots=True)
class _Job:
    """A batch record ready to analyse and score."""

    id: str
    source: str
    rubric: Rubric
    text: str
    warnings: list[Warning]


# How far a sentence counts as a step's content, from its probability p of belonging to the step: not at
# all up to STEP_WEIGHT_FLOOR, fully from STEP_WEIGHT_FULL, linearly between. Chosen by
# bench/step_weights.py and tests/test_heading_robustness.py (docs/scoring.md): stricter settings such as
# (0.3, 0.9) let less of a removed section's step survive (0.35 of it at worst, against 0.83) but made
# scores hang on how sure the heading made the model: renaming the examples' headings moved them by 0.021
# on average, over the 0.015 allowed; (0.1, 0.5) moves them 0.012.
STEP_WEIGHT_FLOOR = 0.1
STEP_WEIGHT_FULL = 0.5


class _Units:
    """The answer's units (headings and sentences, in text order) with each one's probability of every
    step; a heading takes the probabilities of the sentence it introduces."""

    def __init__(self, analysis: _Analysis, rubric: Rubric) -> None:
        self.short_answer = rubric.is_short_answer
        sentences = analysis.sentences
        items: list[tuple[int, int]] = [(s.start, t) for t, s in enumerate(sentences)]
        items += [(h.start, t) for h, t in zip(analysis.headings, introduced_sentences(analysis.headings, sentences))]
        items.sort()
        self.starts = [0] + [start for start, _ in items]
        self.rows = [-1] + [t for _, t in items]  # a leading unit for text before the first (blank) one
        assignment = analysis.assignment
        self.probabilities = assignment.probabilities if assignment is not None else None
        if self.short_answer or assignment is None:
            self.judged = [(ANSWER_STEP if self.short_answer else None, 1.0)] * len(self.starts)
        else:
            path = assignment.path
            self.judged = [
                (None, 1.0) if t < 0 else (state_step(path[t]), float(self.probabilities[t, path[t]]))  # type: ignore[index]
                for t in self.rows
            ]
        self.sentence_count = len(sentences)

    def weights(self, step_id: str) -> tuple[list[float], np.ndarray]:
        """Each unit's weight for the step and each sentence's (0 to 1)."""
        if self.short_answer or self.probabilities is None:
            return [1.0] * len(self.starts), np.ones(self.sentence_count)
        p = self.probabilities[:, STATES.index(step_id)]
        sentence = np.clip((p - STEP_WEIGHT_FLOOR) / (STEP_WEIGHT_FULL - STEP_WEIGHT_FLOOR), 0.0, 1.0)
        return [0.0 if t < 0 else float(sentence[t]) for t in self.rows], sentence


def _split_rows(vectors: np.ndarray, sizes: Sequence[int]) -> list[np.ndarray]:
    """Consecutive row blocks of ``vectors``, one of each size."""
    out, pos = [], 0
    for size in sizes:
        out.append(vectors[pos : pos + size])
        pos += size
    return out


def internal_error(exc: BaseException) -> str:
    """One line for an unexpected exception (a bug in the grader, not bad input)."""
    detail = f": {first_line(exc)}" if str(exc).strip() else ""
    return f"internal error ({type(exc).__name__}{detail}); please report it"


def _record_rubric(record: BatchRecord, default: Rubric | None) -> Rubric | str:
    """The rubric a batch record is graded against, or why it has none (one line)."""
    try:
        if record.rubric:
            return load_rubric(record.rubric)
        if record.question and record.reference_answer:
            return Rubric.from_reference(record.question, record.reference_answer)
    except (MLSDGraderError, ValueError) as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return default if default is not None else "no rubric: the record names none and no default rubric was given"


def grade(answer: str | bytes, rubric: str | Path | Rubric, *, config: GraderConfig | None = None) -> GradeReport:
    """Grade one answer; builds a Grader (the model itself is loaded once per process)."""
    return Grader(config).grade(answer, rubric)


def segment(answer: str | bytes, *, config: GraderConfig | None = None) -> list[Section]:
    """Split an answer into framework-step sections; equal to a framework rubric report's ``sections``."""
    return Grader(config).segment(answer)
