"""The practice page in a real browser: headless Chromium (Debian's, never a downloaded build) driven by
Playwright against `mlsd-grader serve`.

Without Chromium or Playwright the test is skipped with the reason, unless MLSD_REQUIRE_BROWSER is set
(.ci/run sets it), when it fails instead. MLSD_PRACTICE_SCREENSHOT=PATH also saves the screenshot there
(docs/practice_page.png is made so).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")

from conftest import EXAMPLES
from service_server import Server

from mlsd_grader import Grader, GraderConfig, load_rubric

REQUIRE_ENV = "MLSD_REQUIRE_BROWSER"
SCREENSHOT_ENV = "MLSD_PRACTICE_SCREENSHOT"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
QUESTION = "news_feed"
# Shown as text, never run: the page builds the report with text nodes only.
HOSTILE = '\n<img src=x onerror="window.__pwned = 1"> <script>window.__pwned = 2</script>\n'


def _missing(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{reason}, and {REQUIRE_ENV} is set")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install playwright)")
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        _missing("no Chromium found (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with Server("--backend", "none") as srv:
        yield srv


def test_practice_page_grades_and_highlights_evidence(browser: Any, server: Server, tmp_path: Path) -> None:
    answer = (EXAMPLES / QUESTION / "middling.md").read_text(encoding="utf-8") + HOSTILE
    report = Grader(GraderConfig(backend="none")).grade(answer, QUESTION)
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    page.goto(server.url + "/")
    page.wait_for_selector("#question:enabled")
    page.select_option("#question", QUESTION)
    assert page.text_content("#prompt") == load_rubric(QUESTION).question

    page.click("#submit")  # nothing written yet: a clear error, no request
    assert "empty" in page.text_content("#error")
    assert page.is_hidden("#report")

    page.focus("#answer")
    page.keyboard.insert_text(answer)  # as a paste: one input of the whole text
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#report:not([hidden])")

    assert page.input_value("#answer") == answer  # kept in the box
    assert page.is_hidden("#error")
    assert page.text_content("#overall").startswith(f"Score {report.score:.2f}")
    bars = page.locator("#chart rect.bar")
    assert bars.count() == len(report.steps)
    for i, step in enumerate(report.steps):
        assert bars.nth(i).get_attribute("data-step") == step.id
        assert float(bars.nth(i).get_attribute("width")) == pytest.approx(step.score * 300, abs=0.06)
    evidence = next(ev for s in report.steps for c in s.criteria for m in c.matched for ev in m.evidence)
    concept = next(m.concept for s in report.steps for c in s.criteria for m in c.matched if evidence in m.evidence)
    mark = page.locator("#highlighted mark", has_text=evidence.text).first
    assert concept in mark.get_attribute("title")
    assert mark.text_content() == evidence.text
    # the whole answer is shown as text, hostile markup included, and nothing of it ran
    assert page.text_content("#highlighted") == answer
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#highlighted img, #highlighted script").count() == 0
    assert problems == []
    assert all(url.startswith(server.url) for url in requests), requests  # no CDN, nothing outside

    shot = tmp_path / "practice_page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get(SCREENSHOT_ENV):
        shutil.copyfile(shot, os.environ[SCREENSHOT_ENV])
    page.close()


def test_practice_page_says_when_the_server_is_busy(browser: Any, server: Server) -> None:
    page = browser.new_page()
    busy = {"error": {"code": "queue_full", "message": "the grading queue is full; try again shortly"}}
    page.route("**/v1/grade", lambda route: route.fulfill(status=503, headers={"Retry-After": "3"}, json=busy))
    page.goto(server.url + "/")
    page.wait_for_selector("#question:enabled")
    page.fill("#answer", "## Evaluation\nWe track AUC.")
    page.keyboard.press("Tab")  # from the text box to the key box, then on to the button, by keyboard
    page.focus("#submit")
    page.keyboard.press("Enter")
    page.wait_for_selector("#error:not([hidden])")
    message = page.text_content("#error")
    assert "busy" in message and "3 s" in message
    assert page.input_value("#answer") == "## Evaluation\nWe track AUC."
    assert page.is_enabled("#submit")
    page.close()
