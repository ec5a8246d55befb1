"""The documentation states the contract: the warning codes a report can carry are exactly those of
docs/report.md's table, each with its meaning word for word."""

from __future__ import annotations

import re

from conftest import ROOT

from mlsd_grader.report import WARNING_CODES


def test_report_doc_lists_exactly_the_warning_codes_with_their_meaning() -> None:
    doc = (ROOT / "docs" / "report.md").read_text(encoding="utf-8")
    section = doc[doc.index("### warnings[]") :]
    section = section[: section.index("\n### ", 1)]
    rows = dict(re.findall(r"^\| `([a-z_0-9]+)` \| (.+?) \|$", section, flags=re.MULTILINE))
    assert set(rows) == set(WARNING_CODES)
    for code, meaning in WARNING_CODES.items():
        assert rows[code].replace("`", "") == meaning, code
