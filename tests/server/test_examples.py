"""The examples end to end, as a new user runs them: serve, two apps, feedback, ``traces list``.

The service and the apps are real processes: ``evallock serve`` (proxying to the
bundled fake service) and both example scripts, talking over sockets. The
``evallock keys`` and ``evallock traces`` commands around them run in process
(the ``cli`` fixture): what they print is the same, without a Python start each.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import EVALLOCK_MAIN, project_root


@pytest.fixture
def evallock(cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """``evallock ARGS`` in process, as wide as the terminal the examples were run in."""
    monkeypatch.setenv("COLUMNS", "250")
    return cli


@pytest.fixture
def running(
    store_url: str, fake_service, tmp_path: Path, evallock
) -> Iterator[tuple[str, dict[str, str]]]:
    env = {**os.environ, "CI": "true", "COLUMNS": "250"}
    created = evallock(
        "keys", "create", "--scope", "ingest", "--name", "examples", "--store", store_url
    )
    assert created.code == 0, created.err
    env["EVALLOCK_API_KEY"] = created.out.strip()
    log = open(tmp_path / "serve.log", "w+")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            EVALLOCK_MAIN,
            "serve",
            "--port",
            "0",
            "--grpc-port",
            "0",
            "--store",
            store_url,
            "--upstream",
            fake_service.base_url,
        ],
        stdout=log,
        stderr=log,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            log.seek(0)
            found = re.search(r"listening on (http://\S+)", log.read())
            if found:
                break
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        yield found.group(1), env
    finally:
        process.terminate()
        process.wait(20)
        log.close()


@pytest.mark.slow
def test_both_examples_put_traces_in_with_keys_and_feedback(
    running, store_url: str, fake_service, evallock
) -> None:
    url, env = running
    examples = project_root() / "examples"
    otel = subprocess.run(
        [
            sys.executable,
            str(examples / "otel_app.py"),
            "--evallock",
            url,
            "--model-url",
            fake_service.base_url,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert otel.returncode == 0, otel.stderr
    proxy = subprocess.run(
        [sys.executable, str(examples / "openai_proxy.py"), "--evallock", url],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proxy.returncode == 0, proxy.stderr
    otel_ids = re.findall(r"^([0-9a-f]{32}) ", otel.stdout, re.M)
    proxy_ids = re.findall(r"^([0-9a-f]{32}) ", proxy.stdout, re.M)
    assert len(otel_ids) == 3 and len(proxy_ids) == 2
    # the apps send the example's real prompt: policy answers, never the bot's fallback
    for line in (otel.stdout + proxy.stdout).splitlines():
        if re.match(r"^[0-9a-f]{32} ", line):
            assert "not sure" not in line, line
    assert "refunded within 5 business days" in proxy.stdout

    def listed() -> dict:
        result = evallock("traces", "list", "--json", "-", "--store", store_url)
        assert result.code == 0, result.err
        return json.loads(result.out)

    deadline = time.monotonic() + 10
    while (data := listed())["total"] < 5 and time.monotonic() < deadline:
        time.sleep(0.1)  # the proxy records after answering
    by_id = {t["trace_id"]: t for t in data["traces"]}
    assert set(otel_ids) | set(proxy_ids) <= set(by_id)
    assert by_id[otel_ids[0]]["keys"] == {
        "prompt_version": "support-v4",
        "intent": "refund",
        "feature": "help-widget",
        "customer_tier": "pro",
        "service_version": "4.0.0",
    }
    assert by_id[proxy_ids[1]]["keys"] == {
        "prompt_version": "support-v3",
        "model_version": "support-bot@fake-1",
        "customer_tier": "enterprise",
        "feature": "help-widget",
        "intent": "refund",
    }
    assert by_id[proxy_ids[1]]["source"] == "proxy" and by_id[proxy_ids[1]]["tokens_in"]
    table = evallock("traces", "list", "--key", "prompt_version=support-v3", "--store", store_url)
    assert proxy_ids[0] in table.out and "customer_tier=enterprise" in table.out
    for rated in (otel_ids[1], proxy_ids[1]):
        shown = evallock("traces", "show", rated, "--store", store_url)
        assert "feedback: 1" in shown.out and "- down" in shown.out
    # the prompt template's variables came along: from a header, and from a span attribute
    for trace_id, plan in ((proxy_ids[1], "enterprise"), (otel_ids[0], "pro")):
        shown = evallock("traces", "show", trace_id, "--json", "-", "--store", store_url)
        assert json.loads(shown.out)["trace"]["vars"] == {"plan": plan}
