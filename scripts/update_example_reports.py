"""Regenerate the JSON report beside every example answer (examples/<rubric id>/<name>.json).

The reports double as golden files: tests/test_golden.py grades each example again and compares.
Run after any intended change of scores, and say why in the commit.

    python scripts/update_example_reports.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    from mlsd_grader import Grader

    grader = Grader()
    for answer in sorted((ROOT / "examples").glob("*/*.md")):
        report = grader.grade(answer.read_bytes(), answer.parent.name)
        answer.with_suffix(".json").write_text(report.to_json(), encoding="utf-8")
        print(f"{answer.relative_to(ROOT)}: {report.score:.4f} {report.band}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
