"""The records: frozen dataclasses that every part of evallock passes around.

Cases come from files; a run asks the target once per (case, trial), grades the
answer and writes one :class:`EvalRecord` per trial. Records are append-only:
what was written is never rewritten in place.

Production traffic comes in as :class:`Trace` and :class:`Feedback`. A *signal*
(a thumbs-down, a low judge score, an error, an empty answer) puts a trace forward
as a :class:`Candidate` eval case; a person reviews it, and every change is an
append-only :class:`CandidateEvent`::

    pending ──accept──► accepted ──promote──► promoted
       │  ▲                │ ▲
       │  └─────accept─────┘ │ accept (amend)
       └──reject──► rejected ┘

``_evals.py`` holds the offline side (cases, completions, grades, records, runs and
the verdicts stored beside them), ``_traffic.py`` the production side (traces, tool
calls, feedback, signals and candidates), ``_base.py`` what both use.
"""

from __future__ import annotations

from evallock.records._base import (
    BAD_SCORE,
    CANDIDATE_STATES,
    SIGNAL_KINDS,
    UNDESCRIBED_ERROR,
    CandidateState,
    ErrorKind,
    Message,
    RunKind,
    RunStatus,
    SignalKind,
    passes_by_majority,
)
from evallock.records._evals import (
    ONLINE_STATUSES,
    Assertion,
    Case,
    CaseHead,
    CaseJudge,
    CaseResult,
    CaseSource,
    Completion,
    EvalRecord,
    Grade,
    JudgeLabel,
    OnlineScore,
    OnlineStatus,
    Run,
    RunStats,
    RunSummary,
    SimulatedUser,
    StoredComparison,
    StoredDriftReport,
    TraceJudgement,
)
from evallock.records._traffic import (
    Candidate,
    CandidateEvent,
    Conversation,
    Feedback,
    Signal,
    ToolCall,
    Trace,
)

__all__ = [
    "BAD_SCORE",
    "CANDIDATE_STATES",
    "ONLINE_STATUSES",
    "SIGNAL_KINDS",
    "UNDESCRIBED_ERROR",
    "Assertion",
    "Candidate",
    "CandidateEvent",
    "CandidateState",
    "Case",
    "CaseHead",
    "CaseJudge",
    "CaseResult",
    "CaseSource",
    "Completion",
    "Conversation",
    "ErrorKind",
    "EvalRecord",
    "Feedback",
    "Grade",
    "JudgeLabel",
    "Message",
    "OnlineScore",
    "OnlineStatus",
    "Run",
    "RunKind",
    "RunStats",
    "RunStatus",
    "RunSummary",
    "Signal",
    "SignalKind",
    "SimulatedUser",
    "StoredComparison",
    "StoredDriftReport",
    "ToolCall",
    "Trace",
    "TraceJudgement",
    "passes_by_majority",
]
