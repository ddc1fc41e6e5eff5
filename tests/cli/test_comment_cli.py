"""``evallock comment`` against a local fake of the GitHub REST endpoints it calls.

The fake keeps a pull request's comments in memory and answers as GitHub does: list
(paged, with a ``Link`` header), create, update; it refuses a missing or wrong token.
The command must create the verdict comment once and edit it on the next push, never
add a second one, and leave other people's comments alone.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from .conftest import run_process

TOKEN = "ghs_fake_token"
REPO = "acme/refund-bot"


class FakeGitHub:
    """Issue comments of one repository, served over HTTP like api.github.com."""

    def __init__(self) -> None:
        self.comments: dict[int, list[dict[str, Any]]] = {7: []}
        self.calls: list[tuple[str, str]] = []
        self.next_id = 10_000
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(
                self, status: int, payload: Any, headers: dict[str, str] | None = None
            ) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _authorised(self) -> bool:
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._send(401, {"message": "Bad credentials"})
                    return False
                return True

            def do_GET(self) -> None:
                fake.calls.append(("GET", self.path))
                if not self._authorised():
                    return
                path, _, query = self.path.partition("?")
                number = int(path.split("/")[-2])
                params = dict(p.split("=") for p in query.split("&") if p)
                per_page, page = int(params.get("per_page", 30)), int(params.get("page", 1))
                items = fake.comments.get(number, [])
                chunk = items[(page - 1) * per_page : page * per_page]
                headers = {}
                if page * per_page < len(items):
                    base = f"http://{self.headers['Host']}{path}"
                    headers["Link"] = f'<{base}?per_page={per_page}&page={page + 1}>; rel="next"'
                self._send(200, chunk, headers)

            def _json(self) -> dict[str, Any]:
                return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

            def do_POST(self) -> None:
                fake.calls.append(("POST", self.path))
                if not self._authorised():
                    return
                number = int(self.path.split("/")[-2])
                fake.next_id += 1
                item = {"id": fake.next_id, "body": self._json()["body"],
                        "html_url": f"https://github.com/{REPO}/pull/{number}#c{fake.next_id}"}  # fmt: skip
                fake.comments.setdefault(number, []).append(item)
                self._send(201, item)

            def do_PATCH(self) -> None:
                fake.calls.append(("PATCH", self.path))
                if not self._authorised():
                    return
                wanted = int(self.path.split("/")[-1])
                for items in fake.comments.values():
                    for item in items:
                        if item["id"] == wanted:
                            item["body"] = self._json()["body"]
                            self._send(200, item)
                            return
                self._send(404, {"message": "Not Found"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    try:
        yield fake
    finally:
        fake.close()


def _env(github: FakeGitHub, tmp_path: Path, token: str = TOKEN) -> dict[str, str]:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}))
    return {
        "GITHUB_TOKEN": token,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_API_URL": github.url,
        "GITHUB_EVENT_PATH": str(event),
    }


def test_the_verdict_is_one_comment_updated_on_each_push(
    github: FakeGitHub, tmp_path: Path
) -> None:
    # 120 other comments before ours: finding it takes two pages
    github.comments[7] = [{"id": i, "body": f"lgtm {i}"} for i in range(1, 121)]
    report = tmp_path / "evallock.md"
    report.write_text(
        "## evallock: **GATE FAILED**\n\nlock case failed: fb-1 (a fixed bug came back)\n"
    )
    first = run_process("comment", str(report), cwd=tmp_path, env=_env(github, tmp_path))
    assert first.returncode == 0, first.stderr
    assert "created" in first.stdout
    report.write_text("## evallock: **GATE PASSED**\n\npass rate 100.0% [86.2%, 100.0%]\n")
    second = run_process("comment", str(report), cwd=tmp_path, env=_env(github, tmp_path))
    assert second.returncode == 0, second.stderr
    assert "updated" in second.stdout
    ours = [c for c in github.comments[7] if c["body"].startswith("<!-- evallock:gate -->")]
    assert (
        len(ours) == 1 and "GATE PASSED" in ours[0]["body"] and "GATE FAILED" not in ours[0]["body"]
    )
    assert len(github.comments[7]) == 121  # the others untouched, nothing duplicated
    assert ("PATCH", f"/repos/{REPO}/issues/comments/{ours[0]['id']}") in github.calls
    # an A/B job keeps a comment of its own
    ab = run_process(
        "comment", str(report), "--key", "ab", cwd=tmp_path, env=_env(github, tmp_path)
    )
    assert ab.returncode == 0 and len(github.comments[7]) == 122


def test_a_refusal_or_missing_setting_is_exit_2_with_the_reason(
    github: FakeGitHub, tmp_path: Path
) -> None:
    report = tmp_path / "evallock.md"
    report.write_text("## evallock\n")
    refused = run_process("comment", str(report), cwd=tmp_path, env=_env(github, tmp_path, "wrong"))
    assert refused.returncode == 2 and "HTTP 401: Bad credentials" in refused.stderr
    bare = run_process(
        "comment", str(report), cwd=tmp_path, env={"GITHUB_TOKEN": "", "GITHUB_REPOSITORY": ""}
    )
    assert bare.returncode == 2 and "GITHUB_TOKEN and GITHUB_REPOSITORY" in bare.stderr
    assert github.comments[7] == []
