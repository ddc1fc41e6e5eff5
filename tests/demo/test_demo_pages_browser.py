"""Every web page on the demo's data, in Debian's Chromium: the flows a team walks daily.

The demo's story runs (two gates, live traffic through the proxy, a drift check, locks
promoted from complaints, the failing gate), and while its service is held up a headless
Chromium walks it as a new user would: from the overview to the failing gate's run, to
the trace a lock came from; the A/B of v4 against v3; the drift page's enterprise alert;
offline vs online's flag;
the traces list filtered to enterprise complaints. No page may run a script, log an
error or reach outside the machine.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from evallock.cli._story import Story

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(autouse=True)
def _need_a_browser() -> None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        playwright_missing = True
    else:
        playwright_missing = False
    if not os.path.exists(CHROMIUM) or playwright_missing:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium and Playwright are needed in CI (see .ci/run)")
        pytest.skip("no Chromium or Playwright on this machine")


def test_the_demo_walked_in_chromium(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    def walk(root: str) -> None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as driver:
            browser = driver.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            try:
                _walk(browser.new_page(viewport={"width": 1280, "height": 900}), root, seen)
            finally:
                browser.close()

    console = Console(file=io.StringIO(), width=200, color_system=None)
    code = Story(workdir=tmp_path / "demo", console=console, keep_serving=True, hold=walk).tell()
    assert code == 0
    assert seen.get("walked") is True
    assert seen["errors"] == [] and seen["outside"] == []


def _walk(page: Any, root: str, seen: dict[str, Any]) -> None:
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "request",
        lambda r: None if r.url.startswith((root, "data:")) else outside.append(r.url),
    )

    # overview → the failing gate's run (the red dot links to it) → a lock → its trace
    page.goto(f"{root}/")
    page.wait_for_selector("#runs svg")
    page.locator('#runs svg a:has(circle[fill="#cf222e"])').first.click()
    page.wait_for_selector("#verdict")
    assert "GATE FAILED" in page.inner_text("#verdict h2")
    assert "lock case failed" in page.inner_text("#verdict")
    page.click("#cases .filters >> text=lock")
    page.wait_for_selector("#cases")
    locks = page.locator("#cases tbody tr[id^=case-]")
    assert locks.count() == 4
    run_url = page.url
    locks.filter(has_not_text="refund_policy").first.locator("text=from trace").click()
    page.wait_for_selector("#conversation")
    assert "account manager" in page.inner_text("#conversation")

    # the conversation's lock → its trace → the whole session, turn by turn
    page.goto(run_url)
    page.wait_for_selector("#cases")
    locks.filter(has_text="refund_policy").first.locator("text=from trace").click()
    page.wait_for_selector("#trace")
    page.click('#trace a[href^="/sessions/"]')
    page.wait_for_selector("#session")
    assert page.locator("#conversation .turn-user").count() == 2
    assert "got the shipping status again" in page.inner_text("#session")

    # the A/B of v4 against v3 from the overview: the interval, and the cases that differ
    page.click("nav >> text=Overview")
    page.locator("#ab tbody a").first.click()
    page.wait_for_selector("#pairs")
    assert "no significant difference" in page.inner_text("#verdict h2")
    assert page.locator("#pairs tr.pair").count() >= 2  # the consumer cases only v4 passes

    # drift: the enterprise slice is its own series, and it alerted
    page.click("nav >> text=Drift")
    page.wait_for_selector("#drift-charts")
    titles = page.locator("#drift-charts .chart > div").all_inner_texts()
    assert any("customer_tier=enterprise" in t and "1 alert" in t for t in titles), titles
    page.locator("#checks tbody a").first.click()
    page.wait_for_selector("#samples")
    assert page.locator("#samples tbody a").count() > 0  # the traces it judged, linked

    # offline vs online: v4's enterprise slice is the one flagged
    page.click("nav >> text=Offline vs online")
    page.wait_for_selector("#compare table")
    flagged = page.locator("#compare tr.flagged", has_text="offline win")
    assert flagged.count() == 1 and "customer_tier=enterprise" in flagged.inner_text()

    # the traces behind it: enterprise thumbs-down, filtered in the form
    page.click("nav >> text=Traces")
    page.fill("input[name=keys]", "customer_tier=enterprise")
    page.select_option("select[name=rating]", "down")
    page.click("#traces button[type=submit]")
    page.wait_for_selector("#traces table")
    assert "customer_tier=enterprise" in page.url.replace("%3D", "=")
    assert page.locator("#traces tbody tr").count() > 0

    # the review queue answers (the demo promoted its candidates)
    page.click("nav >> text=Review queue")
    page.wait_for_selector("#review")
    seen.update(walked=True, errors=errors, outside=outside)
