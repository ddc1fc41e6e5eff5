"""What the records share: chat messages, scores, states and kinds."""

from __future__ import annotations

from typing import Any, Literal

__all__ = [
    "BAD_SCORE",
    "CANDIDATE_STATES",
    "SIGNAL_KINDS",
    "UNDESCRIBED_ERROR",
    "CandidateState",
    "ErrorKind",
    "Message",
    "RunKind",
    "RunStatus",
    "SignalKind",
    "passes_by_majority",
]

Message = dict[str, Any]
"""One chat message, as the OpenAI API spells it: ``{"role": ..., "content": ...}``."""

BAD_SCORE = 2
"""A judge score (1-5) at or below this is *bad*: drift's bad share, a complaint in
``coverage`` and ``candidates propose``."""


UNDESCRIBED_ERROR = "error"
"""A trace's ``error`` when a span failed without saying how (no status message, exception
or ``error.type``). The store lets a later span's description of the failure replace it:
an HTTP client span that failed bare may arrive before the model call span that says why."""


def passes_by_majority(passed: int, trials: int) -> bool:
    """A case's verdict over its trials: a strict majority passes (a tie does not).

    >>> passes_by_majority(2, 3), passes_by_majority(1, 2), passes_by_majority(0, 0)
    (True, False, False)
    """
    return passed * 2 > trials


RunKind = Literal["gate", "ab", "experiment"]
"""What a run was for; only gate runs enter the timeline and baselines."""
RunStatus = Literal["running", "complete", "interrupted"]
ErrorKind = Literal["target", "grader", "judge"]
CandidateState = Literal["pending", "accepted", "rejected", "promoted"]
SignalKind = Literal["thumbs-down", "low-judge-score", "error", "empty-output", "reviewer"]
"""Why a trace was put forward; ``reviewer``: a person chose it (its page's "propose")."""

CANDIDATE_STATES: tuple[CandidateState, ...] = ("pending", "accepted", "rejected", "promoted")
"""Every state a candidate can be in, in the order of its review."""
SIGNAL_KINDS: tuple[SignalKind, ...] = ("thumbs-down", "low-judge-score", "error", "empty-output")
"""Every signal that can propose a candidate, in the order their reasons are preferred."""
