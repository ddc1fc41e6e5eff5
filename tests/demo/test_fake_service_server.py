"""Starting and stopping the fake service: in a thread, and as its own process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from evallock.demo import start_fake_service
from evallock.errors import InfraError

BODY = {"model": "support-bot", "messages": [{"role": "user", "content": "hi"}]}


def test_start_returns_a_ready_service_and_stop_frees_the_port() -> None:
    service = start_fake_service()
    try:
        assert service.base_url == f"http://127.0.0.1:{service.port}/v1"
        assert service.port > 0
        assert httpx.post(f"{service.base_url}/chat/completions", json=BODY).status_code == 200
    finally:
        service.stop()
    service.stop()  # a second stop is harmless
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{service.root_url}/health", timeout=2)


def test_services_run_side_by_side() -> None:
    with start_fake_service() as one, start_fake_service(latency_ms=1) as two:
        assert one.port != two.port
        for service in (one, two):
            assert httpx.get(f"{service.root_url}/health").json() == {"status": "ok"}


def test_a_busy_port_is_an_infra_error_naming_it() -> None:
    with start_fake_service() as running, pytest.raises(InfraError, match=f":{running.port}"):
        start_fake_service(port=running.port)


def test_stop_does_not_wait_for_a_sleeping_request_whose_client_left() -> None:
    body = {"model": "support-bot", "messages": [{"role": "user", "content": "[[sleep:20000]]"}]}
    with start_fake_service() as service, pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{service.base_url}/chat/completions", json=body, timeout=0.2)


def test_runs_as_a_process(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        [sys.executable, "-m", "evallock.demo.fake_service", "--port", "0", "--latency-ms", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            assert line.startswith("listening on http://127.0.0.1:"), line
            base_url = line.removeprefix("listening on ")
            assert base_url.endswith("/v1")
            response = httpx.post(f"{base_url}/chat/completions", json=BODY)
            assert response.status_code == 200
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=20)
        assert process.returncode == 0, stderr


def test_a_busy_port_as_a_process_is_one_line_and_exit_3() -> None:
    with start_fake_service() as running:
        result = subprocess.run(
            [sys.executable, "-m", "evallock.demo.fake_service", "--port", str(running.port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 3, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("fake service: cannot listen on 127.0.0.1:")
    assert "Traceback" not in result.stderr


def test_a_port_out_of_range_is_a_usage_error_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "evallock.demo.fake_service", "--port", "70000"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "a port is 0-65535, got 70000" in result.stderr
    assert "Traceback" not in result.stderr
