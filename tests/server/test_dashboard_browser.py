"""The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright.

Skipped on a machine without Chromium, except in CI (``CI=true``), where ``.ci/run``
installs it and a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from .test_dashboard import HOSTILE, seed_everything

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@contextmanager
def chromium() -> Iterator[Any]:
    """Headless Chromium; start it after any ``anyio.run`` (Playwright's sync API
    keeps an event loop running on this thread while it is open)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        launched = driver.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(autouse=True)
def _need_a_browser() -> None:
    if not os.path.exists(CHROMIUM) or not _has_playwright():
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium and Playwright are needed in CI (see .ci/run)")
        pytest.skip("no Chromium or Playwright on this machine")


def _has_playwright() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_sign_in_and_read_every_panel_in_chromium(
    server_factory: Any, store: Any, fake_service: Any, api_keys: dict[str, str]
) -> None:
    seed_everything(store, fake_service.base_url)
    server = server_factory()
    with chromium() as browser:
        _walk_through(browser.new_page(), server.url, api_keys)


def _walk_through(page: Any, url: str, api_keys: dict[str, str]) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto(f"{url}/")
    assert page.url.endswith("/login")
    page.fill("#key", api_keys["ingest"])
    page.click("button[type=submit]")
    assert "the dashboard needs 'read' or 'admin'" in page.inner_text("[role=alert]")
    page.fill("#key", api_keys["read"])
    page.click("button[type=submit]")
    page.wait_for_selector("#queue")
    assert page.url == f"{url}/"

    headings = page.locator("h2").all_inner_texts()
    assert [h.split(" (")[0].removesuffix(" over time →") for h in headings] == [
        "Eval runs over time",
        "Drift on live traffic",
        "A/B comparisons",
        "Live traffic by slice",
        "Review queue",
    ]
    assert page.locator("#runs tbody tr").count() == 2
    assert page.locator("#runs svg circle").count() == 2
    assert page.locator("#drift td.alert").inner_text() == "ALERT"
    # the hostile trace text is on the page as text: no element made of it, nothing ran
    cell = page.locator("#queue td.text").first.inner_text()
    assert cell == HOSTILE
    assert page.locator("#queue script, #queue img").count() == 0
    assert dialogs == []
    cookie = next(c for c in page.context.cookies() if c["name"] == "evallock_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    # a run's page from the runs table: its cases, filtered to the failed ones
    page.locator("#runs tbody tr a").first.click()
    page.wait_for_selector("#cases")
    assert page.url.startswith(f"{url}/runs/")
    every_case = page.locator("#cases tbody tr[id^=case-]").count()
    assert every_case > 0
    page.click("#cases .filters >> text=failed")
    page.wait_for_selector("#cases")
    assert "status=failed" in page.url
    assert page.locator("#cases tbody tr[id^=case-]").count() < every_case

    # the keyboard reaches the page bar first, and Enter follows a link
    page.goto(f"{url}/")
    page.wait_for_selector("#queue")
    page.keyboard.press("Tab")
    assert page.locator(":focus").inner_text() == "evallock"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.locator(":focus").inner_text() == "Traces"
    page.keyboard.press("Enter")
    page.wait_for_selector("#traces form.filters")

    # the Traces page: filter by text, open a trace from the list, come back
    page.click("nav >> text=Traces")
    page.wait_for_selector("#traces form.filters")
    assert page.locator("nav a.here").inner_text() == "Traces"
    every = page.locator("#traces tbody tr").count()
    assert every > 0
    page.fill("input[name=q]", "no trace says this")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector("text=No trace matches.")
    assert "q=no+trace+says+this" in page.url  # a shareable URL
    page.click("text=clear")
    page.wait_for_selector("#traces tbody tr")
    assert page.locator("#traces tbody tr").count() == every
    page.locator("#traces tbody tr a").first.click()
    page.wait_for_selector("#conversation")
    assert page.url.startswith(f"{url}/traces/")
    assert page.locator("#conversation script, #conversation img").count() == 0
    assert dialogs == []

    page.click("text=Sign out")
    page.wait_for_selector("#key")
    page.goto(f"{url}/")
    assert page.url.endswith("/login")


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_accept_and_promote_from_the_review_queue_in_chromium(
    server_factory: Any, store: Any, fake_service: Any, api_keys: dict[str, str], tmp_path: Any
) -> None:
    from evallock.demo import example_dir

    seed_everything(store, fake_service.base_url)
    golden = tmp_path / "golden.jsonl"
    shutil.copyfile(example_dir() / "golden.jsonl", golden)
    before = golden.read_text()
    server = server_factory(case_files=(str(golden),))
    with chromium() as browser:
        page = browser.new_page()
        page.goto(f"{server.url}/login")
        page.fill("#key", api_keys["admin"])
        page.click("button[type=submit]")
        page.wait_for_selector("#queue")
        page.click("nav >> text=Review queue")
        page.wait_for_selector("#review article.candidate")
        page.fill("article.candidate textarea[name=expected]", "Refunds take 5 business days.")
        page.click("article.candidate >> text=Accept")
        page.wait_for_selector("[role=status]")
        assert "accepted" in page.inner_text("[role=status]")
        page.click("article.candidate >> text=Promote as a lock")
        page.wait_for_selector("[role=status]")
        assert "promoted" in page.inner_text("[role=status]")
        assert "None." in page.inner_text("#review")  # nothing left to promote
    after = golden.read_text()
    assert after.startswith(before) and "Refunds take 5 business days." in after[len(before) :]


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_label_judged_answers_from_the_drift_page_in_chromium(
    server_factory: Any, store: Any, api_keys: dict[str, str]
) -> None:
    """Signed in with the session cookie: the drift page's evaluator row leads to the blind
    labelling page, whose form (with the session's form token) stores the label."""
    from datetime import UTC, datetime

    from evallock.online import EvaluatorRule
    from evallock.records import OnlineScore, Trace
    from evallock.session import JudgeSpec

    now = datetime.now(UTC)
    ids = [f"{n:032x}" for n in range(2)]
    store.traces.add(
        [Trace(trace_id=t, timestamp=now, input=f"q{n}", output=f"a{n}") for n, t in enumerate(ids)]
    )
    store.online.finish(
        [],
        [
            OnlineScore(
                evaluator="quality", trace_id=t, scored_at=now, status="scored",
                version="judge@feedbeefcafe", score=0.75, judge_score=4, passed=True, reason="ok",
            )
            for t in ids
        ],
    )  # fmt: skip
    server = server_factory(
        evaluators=(EvaluatorRule(name="quality"),),
        judge=JudgeSpec(base_url="http://127.0.0.1:9/v1", model="judge"),
        evaluate_settle_s=3600,
    )
    with chromium() as browser:
        page = browser.new_page()
        page.goto(f"{server.url}/login")
        page.fill("#key", api_keys["admin"])
        page.click("button[type=submit]")
        page.wait_for_selector("#queue")
        page.click("nav >> text=Drift")
        page.wait_for_selector("#evaluators")
        page.click("#evaluators >> text=no-labels")
        page.wait_for_selector("#to-label")
        page.check("#to-label input[name=score][value='2']")
        page.fill("#to-label input[name=note]", "misses the policy")
        page.click("#to-label >> text=Save label")
        page.wait_for_selector("[role=status], [role=alert]")
        assert page.query_selector("[role=alert]") is None, page.inner_text("[role=alert]")
        assert "labelled" in page.inner_text("[role=status]")
        assert "1 labelled by you, 1 to go" in page.inner_text("#labelling")
    (label,) = store.labels.of_version("judge@feedbeefcafe")
    assert (label.human_score, label.judge_score, label.note) == (2, 4, "misses the policy")
