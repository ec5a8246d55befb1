"""Rewrite the trimmed report sample in docs/report.md from examples/news_feed/weak.json.

Keeps the sample true after scores change: two steps, two criteria and two feedback lines each,
and the first three sections.

    python scripts/update_doc_samples.py
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def trimmed_sample() -> str:
    report = json.loads((ROOT / "examples" / "news_feed" / "weak.json").read_text(encoding="utf-8"))
    steps = [s for s in report["steps"] if s["id"] in ("evaluation", "monitoring")]
    for step in steps:
        step["criteria"] = step["criteria"][:2]
        step["feedback"] = step["feedback"][:2]
    report["steps"] = steps
    report["sections"] = report["sections"][:3]
    return json.dumps(report, indent=2, ensure_ascii=False)


def main() -> int:
    page = ROOT / "docs" / "report.md"
    text = page.read_text(encoding="utf-8")
    start = text.index("## Sample")
    block = re.compile(r"```json\n.*?\n```", re.DOTALL)
    match = block.search(text, start)
    if match is None:
        print("no json block after ## Sample", file=sys.stderr)
        return 1
    page.write_text(text[: match.start()] + "```json\n" + trimmed_sample() + "\n```" + text[match.end():], encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
