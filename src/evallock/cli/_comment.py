"""``evallock comment``: the verdict as one sticky pull-request comment, updated on each push.

The body is a Markdown report evallock wrote (``run --markdown`` or ``ab --markdown``:
verdict first, pass rate with its interval, locks, new failures; or the A/B's delta,
slices and power note). It is posted to the pull request through GitHub's REST API
with ``GITHUB_TOKEN``, under a hidden marker: the next push finds the comment by its
marker and edits it instead of adding another. No third-party action is involved.

Where: ``GITHUB_REPOSITORY`` (``owner/name``), the pull request's number from
``--pr`` or the event (``GITHUB_EVENT_PATH``), the API at ``GITHUB_API_URL``
(GitHub Enterprise, or a test's fake). The marker carries ``--key`` so that several
evallock jobs (a gate and an A/B) keep a comment each.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["comment", "sticky_comment"]

MAX_BODY = 65_000
"""GitHub refuses comments past 65,536 characters: longer reports are cut with a note."""


def comment(
    report: Annotated[Path, typer.Argument(help="The Markdown report (run/ab --markdown).")],
    pr: Annotated[
        int | None,
        typer.Option(help="Pull request number (default: from the event, GITHUB_EVENT_PATH)."),
    ] = None,
    key: Annotated[
        str, typer.Option(help="Which of the job's comments this is (one comment per key).")
    ] = "gate",
) -> int:
    """Post the report as the pull request's evallock comment, or update it.

    Needs GITHUB_TOKEN and GITHUB_REPOSITORY (set in GitHub Actions). Exit 2 with the
    reason when one is missing or the API refuses.

    Example: evallock comment evallock.md --key gate
    """
    from evallock.errors import UsageError

    try:
        body = report.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"REPORT {report}: {exc.strerror or exc}") from None
    token = os.environ.get("GITHUB_TOKEN") or ""
    repository = os.environ.get("GITHUB_REPOSITORY") or ""
    if not token or "/" not in repository:
        raise UsageError("comment: GITHUB_TOKEN and GITHUB_REPOSITORY (owner/name) must be set")
    number = pr if pr is not None else _event_pr()
    if number is None:
        raise UsageError("comment: no pull request: give --pr N (or run on a pull_request event)")
    api = (os.environ.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/")
    action, url = sticky_comment(api, token, repository, number, body, key=key)
    print(f"evallock comment {action}: {url}")
    return 0


def _event_pr() -> int | None:
    path = os.environ.get("GITHUB_EVENT_PATH")
    if not path:
        return None
    try:
        event = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    number = (event.get("pull_request") or {}).get("number") or event.get("number")
    return number if isinstance(number, int) else None


def sticky_comment(
    api: str, token: str, repository: str, number: int, body: str, *, key: str = "gate"
) -> tuple[str, str]:
    """Create or update the pull request's comment marked with ``key``: (what, its URL).

    Raises:
        UsageError: the API refused or could not be reached (its status and message).
    """
    import httpx

    from evallock.errors import UsageError

    marker = f"<!-- evallock:{key} -->"
    if len(body) > MAX_BODY:
        body = body[:MAX_BODY] + "\n\n… (cut: the full report is in the job's artifacts)"
    text = f"{marker}\n{body}"
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    with httpx.Client(base_url=api, headers=headers, timeout=30) as client:
        try:
            found = _find(client, repository, number, marker)
            if found is None:
                answer = client.post(
                    f"/repos/{repository}/issues/{number}/comments", json={"body": text}
                )
                what = "created"
            else:
                answer = client.patch(
                    f"/repos/{repository}/issues/comments/{found}", json={"body": text}
                )
                what = "updated"
        except httpx.HTTPError as exc:
            raise UsageError(f"comment: {api} did not answer: {exc}") from None
        _check(answer)
        return what, str(answer.json().get("html_url", ""))


def _find(client: Any, repository: str, number: int, marker: str) -> int | None:
    """The id of the comment carrying ``marker``, reading every page of the thread."""
    url: str | None = f"/repos/{repository}/issues/{number}/comments?per_page=100"
    while url:
        answer = client.get(url)
        _check(answer)
        for item in answer.json():
            if isinstance(item, dict) and str(item.get("body", "")).startswith(marker):
                return int(item["id"])
        url = answer.links.get("next", {}).get("url")
    return None


def _check(answer: Any) -> None:
    from evallock.errors import UsageError

    if answer.status_code >= 400:
        try:
            message = answer.json().get("message", "")
        except ValueError:
            message = answer.text[:200]
        raise UsageError(f"comment: GitHub answered HTTP {answer.status_code}: {message}")
