"""Answers labelled with the true step of every character: the project's gold set and the real answers
that other people wrote (labels in bench/real_answers/, texts read from read-only git mirrors).

Used by bench/real_answers.py (measurements), bench/segmentation_accuracy.py and
bench/fit_step_model.py (fitting the shipped step model). No text of the real answers is stored here.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
GOLD_DIR = ROOT / "tests" / "gold" / "segmentation"
LABEL_DIR = ROOT / "bench" / "real_answers"
# Where fetched mirrors live on the project's machines; --mirrors or MLSD_GRADER_MIRRORS overrides it.
DEFAULT_MIRRORS = Path(os.environ.get("MLSD_GRADER_MIRRORS", "/work/.mirror"))

# Unusual but clear names for renamed headings (issue: scores must not hang on what headings are called).
UNUSUAL_HEADINGS = {
    "requirements": "What we need to pin down first",
    "framing": "Turning the goal into something a model can learn",
    "data": "What the system learns from",
    "modeling": "The learner itself",
    "evaluation": "How we would know it works",
    "serving": "Putting it in front of users",
    "monitoring": "Keeping it healthy after launch",
}

_ATX = re.compile(r"^[ \t]{0,3}(#{1,6})[ \t]+\S")
_SETEXT = re.compile(r"^[ \t]{0,3}(=+|-+)[ \t]*$")
_BOLD_LINE = re.compile(r"^[ \t]*(?:[-*+][ \t]+|\d{1,2}[.)][ \t]+)?(\*\*|__)[^*_\n]{1,120}\1[ \t]*:?[ \t]*$")


@dataclass(frozen=True)
class LabelledAnswer:
    name: str
    text: str
    labels: tuple[str | None, ...]  # one per character
    question: str | None = None
    split: str = "dev"
    shape: str = "headed"
    source: str = "gold"


def gold_answers() -> list[LabelledAnswer]:
    """The project's own gold set (written for the project; tests/gold/segmentation)."""
    out = []
    for path in sorted(GOLD_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        text: list[str] = []
        labels: list[str | None] = []
        for seg in data["segments"]:
            part = (seg["heading"] or "") + seg["body"]
            text.append(part)
            labels.extend([seg["step"]] * len(part))
        out.append(LabelledAnswer(path.stem, "".join(text), tuple(labels), split="gold", shape=data.get("style", ""),
                                  source="gold"))
    return out


def _show(mirrors: Path, repo: str, commit: str, path: str) -> str | None:
    git_dir = mirrors / repo.replace("/", "+") / "repo"
    if not git_dir.is_dir():
        return None
    done = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"{commit}:{path}"], capture_output=True)
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", errors="replace")


def real_answers(mirrors: Path = DEFAULT_MIRRORS, splits: Sequence[str] = ("dev",)) -> list[LabelledAnswer]:
    """The labelled real answers of the given splits whose mirrors are present (none when absent)."""
    out = []
    for label_file in sorted(LABEL_DIR.glob("*.yaml")):
        data = yaml.safe_load(label_file.read_text(encoding="utf-8"))
        for doc in data["documents"]:
            if doc["split"] not in splits:
                continue
            text = _show(mirrors, data["repo"], data["commit"], doc["path"])
            if text is None:
                continue
            text = text.replace("\r\n", "\n")
            lines = text.split("\n")
            labels: list[str | None] = []
            spans = {n: step for a, b, step in doc["spans"] for n in range(a, b + 1)}
            for n, line in enumerate(lines, 1):
                step = spans.get(n)
                labels.extend([step] * (len(line) + (1 if n < len(lines) else 0)))
            assert len(labels) == len(text)
            name = data["repo"].split("/")[0] + ":" + Path(doc["path"]).stem
            out.append(LabelledAnswer(name, text, tuple(labels), doc.get("question"), doc["split"], doc["shape"],
                                      data["repo"]))
    return out


def _lines(answer: LabelledAnswer) -> Iterator[tuple[int, str]]:
    pos = 0
    for line in answer.text.split("\n"):
        yield pos, line
        pos += len(line) + 1


def heading_lines(answer: LabelledAnswer) -> list[tuple[int, int, str]]:
    """Heading lines (ATX, setext with its underline, a bold label alone on its line): (start, end
    including the line end, kind). A plain rule, independent of the grader's own heading detection."""
    lines = list(_lines(answer))
    out = []
    for k, (pos, line) in enumerate(lines):
        end = min(len(answer.text), pos + len(line) + 1)
        if _ATX.match(line):
            out.append((pos, end, "atx"))
        elif _BOLD_LINE.match(line):
            out.append((pos, end, "bold"))
        elif k and _SETEXT.match(line) and lines[k - 1][1].strip() and not _ATX.match(lines[k - 1][1]):
            prev = lines[k - 1][0]
            if out and out[-1][0] == prev:
                out.pop()
            out.append((prev, end, "setext"))
    return out


def strip_headings(answer: LabelledAnswer) -> LabelledAnswer:
    """The answer without its heading lines (content only)."""
    text, labels, pos = [], [], 0
    for start, end, _ in heading_lines(answer):
        text.append(answer.text[pos:start])
        labels.extend(answer.labels[pos:start])
        pos = end
    text.append(answer.text[pos:])
    labels.extend(answer.labels[pos:])
    return replace(answer, text="".join(text), labels=tuple(labels))


def rename_headings(answer: LabelledAnswer) -> LabelledAnswer:
    """The answer with each markdown heading renamed to an unusual but clear name for its labelled step
    (headings labelled with no step keep their name)."""
    text, labels, pos = [], [], 0
    for start, end, kind in heading_lines(answer):
        if kind != "atx":
            continue
        line = answer.text[start:end]
        counts: dict[str, int] = {}
        for ch, lab in zip(line, answer.labels[start:end]):
            if lab is not None and not ch.isspace():
                counts[lab] = counts.get(lab, 0) + 1
        if not counts:
            continue
        step = max(sorted(counts), key=counts.__getitem__)
        hashes = _ATX.match(line).group(1)  # type: ignore[union-attr]
        new = f"{hashes} {UNUSUAL_HEADINGS[step]}" + ("\n" if line.endswith("\n") else "")
        text.append(answer.text[pos:start])
        labels.extend(answer.labels[pos:start])
        text.append(new)
        labels.extend([step] * len(new))
        pos = end
    text.append(answer.text[pos:])
    labels.extend(answer.labels[pos:])
    return replace(answer, text="".join(text), labels=tuple(labels))


def char_accuracy(answer: LabelledAnswer, sections: Sequence[object]) -> tuple[int, int]:
    """(correct, counted) non-blank characters whose predicted step is the labelled one."""
    predicted: list[str | None] = [None] * len(answer.text)
    for s in sections:
        for i in range(s.start, s.end):  # type: ignore[attr-defined]
            predicted[i] = s.step  # type: ignore[attr-defined]
    counted = [i for i, ch in enumerate(answer.text) if not ch.isspace()]
    return sum(predicted[i] == answer.labels[i] for i in counted), len(counted)


def own_content(answer: LabelledAnswer) -> dict[str, int]:
    """Non-blank characters labelled with each step."""
    out: dict[str, int] = {}
    for ch, lab in zip(answer.text, answer.labels):
        if lab is not None and not ch.isspace():
            out[lab] = out.get(lab, 0) + 1
    return out
