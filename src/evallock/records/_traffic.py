"""Production traffic: traces and their tool calls, feedback, and the candidates they make."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from evallock.records._base import CandidateState, Message, SignalKind

__all__ = [
    "Candidate",
    "CandidateEvent",
    "Conversation",
    "Feedback",
    "Signal",
    "ToolCall",
    "Trace",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolCall:
    """One tool call the model made while answering, in the one shape every path stores.

    The recording proxy (chat completions and Responses, streamed or not), every
    OTLP dialect and the JSONL import all read their own spelling into this.
    """

    name: str
    """The tool (function) the model called."""
    arguments: str = ""
    """Its arguments as the model wrote them: JSON text, not always valid JSON."""
    id: str | None = None
    """The call id that ties the call to its result (``call_…``), when known."""
    result: str | None = None
    """What the tool returned, when the trace holds it (a tool span, or a tool message
    answering this id later in the same trace)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Trace:
    """A trace summary: one row per user request to the service, from any ingest path."""

    trace_id: str
    """32 lower-case hex digits (the W3C / OTLP trace id)."""
    timestamp: datetime
    """When the request started (UTC)."""
    input: str | None = None
    """The user's last message (or the prompt), as text."""
    output: str | None = None
    """The assistant's answer, as text."""
    latency_ms: float | None = None
    """End-to-end latency of the request."""
    ttft_ms: float | None = None
    """Time to first token, for streamed answers."""
    tokens_in: int | None = None
    """Input tokens; None when unknown (never 0 for unknown)."""
    tokens_out: int | None = None
    """Output tokens; None when unknown."""
    cost: float | None = None
    """Cost in the currency the client reported, when it did."""
    model: str | None = None
    """The model that answered, as reported by the response."""
    error: str | None = None
    """What went wrong, when the request failed."""
    keys: dict[str, str] = field(default_factory=dict)
    """Shared and extra keys (prompt_version, customer_tier, session_id …)."""
    source: str = "otlp"
    """How it arrived: ``otlp``, ``proxy`` or ``import``."""
    messages: list[Message] | None = None
    """The full input messages, when known."""
    vars: dict[str, Any] = field(default_factory=dict)
    """The prompt template's variables, when the client sent them (a case made from the
    trace renders the template with them)."""
    tool_calls: list[ToolCall] = field(default_factory=list)
    """The tool calls the model made in this trace, in order (empty when none)."""
    tools: list[dict[str, Any]] = field(default_factory=list)
    """The tool definitions the request offered the model (OpenAI's ``tools``), when known."""

    @property
    def session_id(self) -> str | None:
        """The session (conversation) the request was part of: the ``session_id`` key."""
        return self.keys.get("session_id") or None


@dataclass(frozen=True, kw_only=True, slots=True)
class Feedback:
    """A user's rating of a trace (thumbs, or a number), idempotent on ``feedback_id``."""

    feedback_id: str
    """The client's idempotency id, or one derived from the payload."""
    trace_id: str
    """The trace rated; the trace may arrive after its feedback."""
    rating: str
    """``up``, ``down``, or a number as text."""
    score: float | None
    """The rating as a number: up = 1, down = 0, numbers as given."""
    comment: str | None = None
    """What the user wrote."""
    source: str = "evallock"
    """The payload shape it came in: ``evallock``, ``langfuse``, ``phoenix``, ``import``,
    ``otel`` (an evaluation event), ``openinference`` (a span annotation)."""
    author: str | None = None
    """Who gave it, when known."""
    created_at: datetime | None = None
    """When it was received (set by the store when None)."""
    name: str | None = None
    """What was rated: ``user_feedback`` from a person, or an evaluation's name from a judge."""
    session_id: str | None = None
    """Set when the rating is of a whole session (conversation); ``trace_id`` is then the
    session's latest trace when the rating arrived."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Signal:
    """One trace that a signal put forward, with what is needed to make a case of it."""

    trace_id: str
    """The trace."""
    timestamp: datetime
    """When the request was made."""
    kinds: tuple[SignalKind, ...]
    """Every signal that fired on this trace."""
    reason: str
    """Why it was proposed, in one line (the first signal's reason)."""
    input: str
    """The user's message."""
    output: str | None = None
    """What the service answered."""
    keys: dict[str, str] = field(default_factory=dict)
    """The trace's keys."""
    vars: dict[str, Any] = field(default_factory=dict)
    """The trace's prompt template variables."""
    session_id: str | None = None
    """Set when the signal is about a whole session (a rating of the session)."""
    session: tuple[Trace, ...] = ()
    """The session's traces, oldest first, when ``session_id`` is set."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Conversation:
    """A production session as a multi-turn case: the user's turns and the tools' answers."""

    session_id: str
    """The session it was read from."""
    turns: tuple[str, ...] = ()
    """The user's follow-up messages after the first (the case's ``turns``)."""
    tool_results: dict[str, str] = field(default_factory=dict)
    """What each tool answered in the session, by tool name (the case's mocked results)."""
    tools: tuple[dict[str, Any], ...] = ()
    """The tool definitions the session's requests offered (the case's ``tools``)."""
    trace_ids: tuple[str, ...] = ()
    """The session's traces it was read from, oldest first."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Candidate:
    """A proposed eval case made from one or more near-identical production traces."""

    candidate_id: str
    """Short hex id (a prefix of the first trace's id, longer when that is taken)."""
    created_at: datetime
    """When it was proposed."""
    updated_at: datetime
    """When it last changed (a merge or a review)."""
    state: CandidateState
    """``pending``, ``accepted``, ``rejected`` or ``promoted``."""
    trace_ids: tuple[str, ...]
    """Every trace merged into it, the representative first."""
    input: str
    """The representative trace's input: the case's input."""
    output: str | None
    """What the service answered to it (the bad answer)."""
    keys: dict[str, str]
    """The representative trace's keys, version keys included."""
    reason: str
    """Why it was proposed."""
    signature: str
    """Normalised-text key of the input, for near-duplicate merging."""
    duplicate_of: str | None = None
    """The id of a golden case whose input is a near-duplicate of this one, if any."""
    expected: str | None = None
    """The reviewer's expected answer."""
    asserts: tuple[dict[str, Any], ...] = ()
    """The reviewer's assertion items, as a case file spells them."""
    vars: dict[str, Any] = field(default_factory=dict)
    """Template variables for the case (``plan: enterprise``)."""
    note: str | None = None
    """The reviewer's note (the bug the case guards), or the reason it was rejected."""
    case_id: str | None = None
    """The case id it was promoted as."""
    promoted_to: str | None = None
    """The case file it was promoted into."""
    dataset_id: str | None = None
    """The case file's dataset id after promotion."""
    conversation: Conversation | None = None
    """Set for a candidate made from a whole session: its follow-up turns and tool results."""

    @property
    def trace_id(self) -> str:
        """The representative trace."""
        return self.trace_ids[0]

    @property
    def trace_count(self) -> int:
        """How many traces are behind it."""
        return len(self.trace_ids)


@dataclass(frozen=True, kw_only=True, slots=True)
class CandidateEvent:
    """One entry of a candidate's audit trail: who did what, when."""

    candidate_id: str
    """The candidate."""
    at: datetime
    """When."""
    actor: str
    """Who: ``--actor``, ``$EVALLOCK_ACTOR`` or the OS user."""
    action: str
    """``proposed``, ``merged``, ``accepted``, ``rejected`` or ``promoted``."""
    detail: dict[str, Any] = field(default_factory=dict)
    """What changed (expected answer, reason, traces added, file …)."""
