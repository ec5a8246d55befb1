"""The documentation states the contract: every warning code a report can carry is in docs/report.md,
with its meaning word for word."""

from __future__ import annotations

import re

from conftest import ROOT

from mlsd_grader.report import WARNING_CODES


def test_report_doc_lists_every_warning_code_with_its_meaning() -> None:
    doc = (ROOT / "docs" / "report.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `([a-z_0-9]+)` \| (.+?) \|$", doc, flags=re.MULTILINE))
    for code, meaning in WARNING_CODES.items():
        assert code in rows, code
        assert rows[code].replace("`", "") == meaning, code
