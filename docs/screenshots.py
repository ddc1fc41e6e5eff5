"""Screenshots of the web pages on the demo's data: ``make screenshots`` writes docs/*.png.

Runs the demo's story (``evallock demo``: two gates, live traffic through the proxy, a
drift check, locks promoted from complaints, the failing gate) in a scratch directory,
and while its service is up drives Debian's Chromium (headless, through Playwright) to
each page at 1280 px wide: the overview, the traces list filtered to enterprise
complaints, a trace with its judge scores, the drift page, offline vs online, the
review queue, the failing gate's run page and the same run filtered to its locks;
and the overview at a phone's width (390 px). Nothing is fetched from outside the machine.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from rich.console import Console

from evallock.cli._story import Story
from evallock.store import open_store

OUT = Path(__file__).parent / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def shoot(workdir: Path, root: str) -> None:
    """Photograph each page (the demo's service is open on loopback: no sign-in)."""
    from playwright.sync_api import sync_playwright

    store = open_store(f"sqlite:///{workdir / 'evallock.db'}")
    try:
        failing = next(r for r in store.runs.find(limit=20) if r.verdict == "fail")
        complained = [t for c in store.candidates.find(limit=None) for t in c.trace_ids]
        judged = next(t for t in complained if store.reports.judgements(t))
        [comparison] = store.reports.comparisons(limit=1)
    finally:
        store.close()
    pages = {
        "overview": "/",
        "traces": "/traces?keys=customer_tier%3Denterprise&rating=down",
        "trace": f"/traces/{judged}",
        "drift": "/drift",
        "compare": "/compare",
        "ab": f"/ab/{comparison.comparison_id}",
        "queue": "/queue",
        "run": f"/runs/{failing.run_id}",
        "run-locks": f"/runs/{failing.run_id}?status=lock",
    }
    OUT.mkdir(exist_ok=True)
    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for name, path in pages.items():
            page.goto(root + path)
            target = OUT / f"{name}.png"
            page.screenshot(path=str(target), full_page=True)
            print(f"wrote {target}")
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.goto(root + "/")
        phone.screenshot(path=str(OUT / "overview-phone.png"), full_page=True)
        print(f"wrote {OUT / 'overview-phone.png'}")
        browser.close()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="evallock-screens-") as folder:
        workdir = Path(folder) / "demo"
        console = Console(file=sys.stderr)
        return Story(
            workdir=workdir,
            console=console,
            keep_serving=True,
            hold=lambda root: shoot(workdir, root),
        ).tell()


if __name__ == "__main__":
    raise SystemExit(main())
