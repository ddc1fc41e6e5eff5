"""Fault injection: markers in a request that make the fake service misbehave on cue.

Markers go in the last user message, so a test case can carry its own fault:

=========================  ==================================================
``[[fail:429x2]]``         the first 2 attempts of this exact request get 429
                           with ``Retry-After: 0``, later attempts succeed
``[[fail:429x2:ra=1]]``    the same with ``Retry-After: 1``
``[[fail:500x1]]``         the first attempt gets 500 (any status works)
``[[fail:400]]``           every attempt gets 400 (no count: always)
``[[sleep:2000]]``         wait 2000 ms before answering (timeout tests)
``[[empty]]``              answer with empty content
``[[cost:0.02]]``          report the call's cost: ``usage.cost`` (OpenRouter's)
``[[cost:0.02:header]]``   the same as LiteLLM does: ``x-litellm-response-cost``
=========================  ==================================================

"This exact request" is keyed by a hash of the request body, so a retry of the
same request counts as the next attempt while any other request starts afresh.
Markers apply to every model, the judge included (its request quotes the
case's question). The judge's own ``[[judge:…]]`` markers live in
:mod:`evallock.demo._judge`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

__all__ = ["FaultPlan", "FaultState", "error_body", "parse_faults"]

_FAIL = re.compile(r"\[\[fail:(\d{3})(?:x(\d+))?(?::ra=(\d+(?:\.\d+)?))?\]\]")
_SLEEP = re.compile(r"\[\[sleep:(\d+)\]\]")
_COST = re.compile(r"\[\[cost:(\d+(?:\.\d+)?)(:header)?\]\]")
_MAX_SLEEP_MS = 120_000

_ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", "injected_fault"),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_denied", None),
    404: ("invalid_request_error", "not_found"),
    408: ("timeout", None),
    409: ("conflict", None),
    422: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    502: ("server_error", "bad_gateway"),
    503: ("server_error", "service_unavailable"),
}


@dataclass(frozen=True, kw_only=True, slots=True)
class FaultPlan:
    """The faults one request asks for."""

    status: int | None = None
    """HTTP status to fail with, or None."""
    times: int | None = None
    """Fail the first ``times`` attempts; None fails every attempt."""
    retry_after: str | None = None
    """``Retry-After`` header value to send with the failure, if any."""
    sleep_ms: int = 0
    """Milliseconds to wait before answering."""
    empty: bool = False
    """Answer with empty content."""
    cost: float | None = None
    """The cost in USD to report with the answer, if any."""
    cost_in_header: bool = False
    """Report it in LiteLLM's ``x-litellm-response-cost`` header, not in ``usage.cost``."""


def parse_faults(text: str) -> FaultPlan | None:
    """The fault plan of a message, or None when it has no fault markers.

    >>> plan = parse_faults("hi [[fail:429x2]]")
    >>> (plan.status, plan.times, plan.retry_after, plan.sleep_ms, plan.empty, plan.cost)
    (429, 2, '0', 0, False, None)
    >>> parse_faults("hi [[cost:0.02:header]]").cost_in_header
    True
    >>> parse_faults("hi [[fail:500x1:ra=1]] [[sleep:20]]").sleep_ms
    20
    >>> parse_faults("no markers") is None
    True
    """
    if "[[" not in text:
        return None
    fail = _FAIL.search(text)
    sleep = _SLEEP.search(text)
    empty = "[[empty]]" in text
    cost = _COST.search(text)
    if fail is None and sleep is None and not empty and cost is None:
        return None
    status = int(fail.group(1)) if fail else None
    retry_after = fail.group(3) if fail else None
    if status == 429 and retry_after is None:
        retry_after = "0"
    return FaultPlan(
        status=status,
        times=int(fail.group(2)) if fail and fail.group(2) else None,
        retry_after=retry_after,
        sleep_ms=min(int(sleep.group(1)), _MAX_SLEEP_MS) if sleep else 0,
        empty=empty,
        cost=float(cost.group(1)) if cost else None,
        cost_in_header=bool(cost and cost.group(2)),
    )


@dataclass(kw_only=True, slots=True)
class FaultState:
    """Attempts seen per request body, for ``[[fail:NNNxK]]`` counting."""

    attempts: dict[bytes, int] = field(default_factory=dict)
    """Body digest → attempts so far; only requests with a counted fail marker are kept."""

    def should_fail(self, plan: FaultPlan, body: bytes) -> bool:
        """Count this attempt and say whether it gets the plan's failure status."""
        if plan.status is None:
            return False
        if plan.times is None:
            return True
        key = hashlib.blake2b(body, digest_size=16).digest()
        seen = self.attempts.get(key, 0)
        self.attempts[key] = seen + 1
        return seen < plan.times

    def reset(self) -> None:
        """Forget every attempt."""
        self.attempts.clear()


def error_body(
    status: int, message: str, *, code: str | None = None, param: str | None = None
) -> dict[str, object]:
    """An error in the OpenAI shape (all four keys, ``param`` and ``code`` nullable).

    >>> error_body(429, "slow down")["error"]["type"]
    'requests'
    """
    kind, default_code = _ERROR_KINDS.get(status, ("api_error", None))
    return {
        "error": {
            "message": message,
            "type": kind,
            "param": param,
            "code": code if code is not None else default_code,
        }
    }
