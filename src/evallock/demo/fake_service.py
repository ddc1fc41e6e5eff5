"""The fake service as a program: ``python -m evallock.demo.fake_service``.

Runs the bundled OpenAI-compatible fake service (see :mod:`evallock.demo`) in
its own process, for benchmarks and manual tries. It prints one line,
``listening on http://127.0.0.1:PORT/v1``, once it answers ``/health``, and
runs until SIGINT or SIGTERM. When it cannot listen (the port is taken, the
address is not this machine's) it says so in one line on stderr and exits 3;
a bad flag exits 2::

    python -m evallock.demo.fake_service --port 8001 --latency-ms 20
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from evallock.demo._asgi import MODELS, FakeServiceApp
from evallock.demo._server import FakeService, start_fake_service
from evallock.errors import EvallockError

__all__ = ["MODELS", "FakeService", "FakeServiceApp", "main", "start_fake_service"]


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m evallock.demo.fake_service",
        description="Run evallock's deterministic OpenAI-compatible fake service.",
        epilog="example: python -m evallock.demo.fake_service --port 8001 --latency-ms 20",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=_port, default=0, help="port 0-65535 (default 0: a free one)"
    )
    parser.add_argument(
        "--latency-ms", type=float, default=0, help="wait before every answer (default 0)"
    )
    parser.add_argument("--api-key", default=None, help="require Authorization: Bearer KEY")
    parser.add_argument(
        "--judge-position-bias",
        type=int,
        default=0,
        help="points the pairwise judge adds to answer A (default 0)",
    )
    return parser.parse_args(argv)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0-65535, got {port}")
    return port


def main(argv: Sequence[str] | None = None) -> int:
    """Run the service until SIGINT or SIGTERM; returns the exit code."""
    args = _parse_args(argv)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _on_signal)
    try:
        service = start_fake_service(
            host=args.host,
            port=args.port,
            latency_ms=args.latency_ms,
            api_key=args.api_key,
            judge_position_bias=args.judge_position_bias,
        )
    except (EvallockError, OSError, RuntimeError, OverflowError) as exc:
        # One line, no traceback: a taken port is the usual cause, and says so itself.
        print(f"fake service: {exc}", file=sys.stderr)
        return 3
    with service:
        print(f"listening on {service.base_url}", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
