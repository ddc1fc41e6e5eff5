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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

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


@dataclass(frozen=True, kw_only=True, slots=True)
class Assertion:
    """One check on an answer, as written in a case's ``assert`` list."""

    type: str
    """The assertion type, e.g. ``icontains`` (see ``evallock.graders.ASSERTION_TYPES``)."""
    value: Any = None
    """What the answer is checked against (text, pattern, schema, number …)."""
    threshold: float | None = None
    """Tolerance or threshold, for the types that take one (``numeric``, ``similar`` …)."""
    options: dict[str, Any] = field(default_factory=dict)
    """Any further settings the type understands."""
    weight: float = 1.0
    """How much the check counts in the case's score; 0 reports it without gating."""


@dataclass(frozen=True, kw_only=True, slots=True)
class CaseJudge:
    """How an LLM judge grades a case: a rubric, and the score that passes."""

    rubric: str
    """What the judge is asked to check; the case's ``expected`` is the reference answer."""
    pass_score: int = 4
    """Lowest score on the 1–5 scale that passes."""
    weight: float = 1.0
    """The judge's share of the case's score, as an assertion's ``weight``."""


@dataclass(frozen=True, kw_only=True, slots=True)
class CaseSource:
    """Where a case came from; a *lock* pins a fixed bug to the trace that showed it."""

    kind: str = "manual"
    """``manual``, ``feedback``, ``import`` …"""
    trace_id: str | None = None
    """The production trace the case was made from, if any."""
    session_id: str | None = None
    """The production session (conversation) the case was made from, if any."""
    lock: bool = False
    """A lock case that fails fails the gate on its own, whatever the pass rate."""
    note: str | None = None
    """Why the case exists (the bug it guards)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SimulatedUser:
    """A model playing the user: it writes each follow-up toward a goal, until it says the
    goal is met or the turn limit is reached."""

    goal: str
    """What the user wants out of the conversation (the simulator's brief)."""
    max_turns: int = 4
    """Most user turns, the case's first message included."""
    persona: str | None = None
    """Who the user is and how they write, when it matters."""


@dataclass(frozen=True, kw_only=True, slots=True)
class CaseHead:
    """What a case's result needs of the case: its id, keys and provenance.

    Reading a validated file again for results, only this much is built per case;
    a :class:`Case` is a head with its input and graders.
    """

    id: str
    """Unique within its file."""
    keys: dict[str, str] = field(default_factory=dict)
    """Shared keys and free-form keys of this case (intent, customer_tier …)."""
    source: CaseSource | None = None
    """Provenance; ``source.lock`` makes a lock case."""
    line: int = 0
    """The 1-based line (or row) of the file the case was read from."""

    @property
    def is_lock(self) -> bool:
        """True for a case that locks a fixed bug."""
        return self.source is not None and self.source.lock


@dataclass(frozen=True, kw_only=True, slots=True)
class Case(CaseHead):
    """One eval case: an input, how to judge the answer, and its keys."""

    input: str | list[Message]
    """The user's message, or a whole conversation."""
    vars: dict[str, Any] = field(default_factory=dict)
    """Template variables for the prompt (``{{ plan }}``)."""
    expected: str | None = None
    """The reference answer (rules compare with it, the judge grades against it)."""
    asserts: tuple[Assertion, ...] = ()
    """Checks on the answer; all must pass (unless ``threshold`` is set)."""
    judge: CaseJudge | None = None
    """An LLM judge, when the case asks for one."""
    threshold: float | None = None
    """When set, the case passes on its weighted score (0–1) reaching it instead of on
    every check passing (promptfoo's test ``threshold``)."""
    tools: tuple[dict[str, Any], ...] = ()
    """Tool definitions offered to the target (OpenAI's ``tools``), so it may answer with
    tool calls that the trajectory checks grade."""
    tool_results: dict[str, str] = field(default_factory=dict)
    """What each tool returns (mocked, by tool name): a call gets it back as the tool's
    message and the target is asked again, so the exchange runs to a text answer."""
    turns: tuple[str, ...] = ()
    """The user's follow-up messages, each sent after the target's answer to the last."""
    user: SimulatedUser | None = None
    """A model playing the user after the first message (instead of fixed ``turns``)."""
    tool_handler: str | None = None
    """``module:function`` or ``path/to/tools.py:function``: a Python callable that answers
    the tool calls ``tool_results`` does not mock (called with the tool's name and its
    arguments)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Completion:
    """What a target answered to one request."""

    text: str
    """The assistant's answer."""
    latency_ms: float
    """Wall time of the successful attempt."""
    tokens_in: int | None = None
    """Prompt tokens, when the target reports them."""
    tokens_out: int | None = None
    """Completion tokens, when the target reports them."""
    model: str | None = None
    """The model the target says answered."""
    cost: float | None = None
    """What the call cost in USD: as the service reported it, else the target's price
    times the tokens; None when neither is known."""
    tool_calls: tuple[ToolCall, ...] = ()
    """The tool calls the target answered with, in order (over the whole exchange)."""
    turns: int = 1
    """The user's turns the exchange took (the first message and each follow-up)."""
    transcript: tuple[Message, ...] = ()
    """The whole exchange as chat messages, the final answer last, when it was more than
    one request (tool rounds, follow-up turns); empty for a single answer."""
    cached: bool = False
    """True when the answer came from the target cache, not the live service."""
    attempts: int = 1
    """How many attempts it took (retries included)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Grade:
    """The verdict of one grader (an assertion or the judge) on one answer."""

    name: str
    """The grader, e.g. ``icontains`` or ``judge``."""
    passed: bool
    """Whether the answer passed this grader."""
    score: float
    """0–1; 1 is best."""
    reason: str
    """Why, in one line a person can read."""
    judge_score: int | None = None
    """The judge's raw 1–5 score, for the judge grader."""
    error: str | None = None
    """Set when the grader itself failed (e.g. an unparseable judge reply); then passed is False."""
    error_kind: ErrorKind | None = None
    """``grader`` or ``judge`` when ``error`` is set."""


@dataclass(frozen=True, kw_only=True, slots=True)
class EvalRecord:
    """One trial of one case in one run: the answer, its grades and the keys."""

    run_id: str
    """The run this record belongs to."""
    case_id: str
    """The case's id."""
    trial: int
    """0-based trial index (``--trials K``)."""
    passed: bool
    """True when every grader passed and nothing errored."""
    score: float | None
    """Mean of the graders' scores, 0–1; None when the target errored."""
    reason: str
    """The first failing grader's reason, or ``ok``."""
    output: str | None = None
    """The target's answer, None when it errored."""
    error: str | None = None
    """What went wrong, when the case errored (target, grader or judge)."""
    error_kind: ErrorKind | None = None
    """Which part errored."""
    judge_score: int | None = None
    """The judge's 1–5 score, when a judge graded."""
    latency_ms: float | None = None
    """Target latency of this trial."""
    tokens_in: int | None = None
    """Prompt tokens reported by the target."""
    tokens_out: int | None = None
    """Completion tokens reported by the target."""
    grades: tuple[Grade, ...] = ()
    """Every grader's verdict."""
    keys: dict[str, str] = field(default_factory=dict)
    """Shared and extra keys of this record (run keys merged with the case's)."""
    created_at: datetime | None = None
    """When it was written (set by the store when None)."""
    tool_calls: tuple[ToolCall, ...] = ()
    """The trajectory: every tool call the target made over the exchange, in order."""
    turns: int = 1
    """The user's turns the exchange took."""


@dataclass(frozen=True, kw_only=True, slots=True)
class CaseResult:
    """A case's result over its trials: pass by majority, score by mean."""

    case_id: str
    """The case's id."""
    passed: bool
    """Passed by majority of trials (a tie does not pass)."""
    score: float | None
    """Mean score over trials that produced an answer."""
    reason: str
    """The reason of the first failing trial, or ``ok``."""
    output: str | None
    """The first trial's answer."""
    error: str | None
    """Set when every trial errored."""
    error_kind: ErrorKind | None
    """Which part errored, when ``error`` is set."""
    trials: int
    """How many trials ran."""
    trials_passed: int
    """How many of them passed."""
    judge_score: float | None = None
    """Mean judge score over trials, when judged."""
    lock: bool = False
    """True for a lock case."""
    keys: dict[str, str] = field(default_factory=dict)
    """The case's own keys (intent, customer_tier …)."""
    source: CaseSource | None = None
    """The case's provenance (the trace and the bug a lock guards)."""
    tool_calls: tuple[ToolCall, ...] = ()
    """The trajectory of the trial whose answer is ``output``."""
    turns: int = 1
    """The user's turns of that trial's exchange."""

    @property
    def trajectory(self) -> str:
        """The tools called, in order, as ``order_status → refund_policy`` (empty: none)."""
        return " → ".join(call.name for call in self.tool_calls)

    @property
    def errored(self) -> bool:
        """True when no trial produced a gradeable answer."""
        return self.error is not None

    @property
    def flaky(self) -> bool:
        """True when the trials disagree."""
        return 0 < self.trials_passed < self.trials


@dataclass(kw_only=True, slots=True)
class RunStats:
    """What happened while running, for the report's footer."""

    asked: int = 0
    """Trials answered by the target (cache hits included)."""
    target_errors: int = 0
    """Trials whose target request failed after retries."""
    judge_errors: int = 0
    """Trials whose judge reply could not be used (counted, never dropped)."""
    cache_hits: int = 0
    """Target answers reused from the cache."""
    judge_cache_hits: int = 0
    """Judge verdicts reused from the cache."""
    retries: int = 0
    """Extra attempts spent on retryable target failures, whether the call then
    succeeded or failed in the end."""
    seconds: float = 0.0
    """Wall time of the run."""


@dataclass(frozen=True, kw_only=True, slots=True)
class RunSummary:
    """What a complete run stores of its gate and statistics (``Run.summary``).

    Its JSON form (:meth:`to_json`) is the stored column and uses the names of the
    ``--json`` report (DESIGN section 4): ``pass_rate_ci`` is ``[lo, hi]``.
    """

    n: int
    """Cases graded."""
    passed: int
    """Cases that passed."""
    failed: int
    """Cases answered that failed a grader."""
    errored: int
    """Cases where every trial errored."""
    pass_rate: float
    """passed / n."""
    pass_rate_ci: tuple[float, float]
    """95 % Wilson interval of the pass rate, ``(lo, hi)``."""
    locks_failed: tuple[str, ...] = ()
    """Lock cases that were answered and failed their checks."""
    locks_errored: tuple[str, ...] = ()
    """Lock cases that errored, so they could not be checked."""
    new_failures: tuple[str, ...] = ()
    """Cases that passed on the baseline and do not pass now."""
    flaky: tuple[str, ...] = ()
    """Cases whose trials disagree."""
    reasons: tuple[str, ...] = ()
    """Why the gate failed, one line each."""
    warnings: tuple[str, ...] = ()
    """What the reader should know about the verdict (too few cases to separate …)."""
    stats: RunStats = field(default_factory=RunStats)
    """Retries, errors, cache hits and wall time."""

    def to_json(self) -> dict[str, Any]:
        """The stored (and ``--json``) form."""
        return {
            "n": self.n,
            "passed": self.passed,
            "failed": self.failed,
            "errored": self.errored,
            "pass_rate": self.pass_rate,
            "pass_rate_ci": list(self.pass_rate_ci),
            "locks_failed": list(self.locks_failed),
            "locks_errored": list(self.locks_errored),
            "new_failures": list(self.new_failures),
            "flaky": list(self.flaky),
            "reasons": list(self.reasons),
            "warnings": list(self.warnings),
            "stats": {name: getattr(self.stats, name) for name in RunStats.__slots__},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> RunSummary | None:
        """Read the stored form back; None for a run that stored no summary (``{}``).

        Rows written by earlier versions lack ``warnings`` (and may lack ``stats``
        fields); what is missing takes its default.
        """
        if not data or "n" not in data:
            return None
        ci = data.get("pass_rate_ci") or [data["pass_rate"], data["pass_rate"]]
        stored = data.get("stats") or {}
        return cls(
            n=int(data["n"]),
            passed=int(data["passed"]),
            failed=int(data.get("failed", 0)),
            errored=int(data.get("errored", 0)),
            pass_rate=float(data["pass_rate"]),
            pass_rate_ci=(float(ci[0]), float(ci[1])),
            locks_failed=tuple(data.get("locks_failed") or ()),
            locks_errored=tuple(data.get("locks_errored") or ()),
            new_failures=tuple(data.get("new_failures") or ()),
            flaky=tuple(data.get("flaky") or ()),
            reasons=tuple(data.get("reasons") or ()),
            warnings=tuple(data.get("warnings") or ()),
            stats=RunStats(**{k: v for k, v in stored.items() if k in RunStats.__slots__}),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class TraceJudgement:
    """One drift check's judge verdict on a trace: its score and the judge's reason."""

    trace_id: str
    """The trace judged."""
    report_id: str
    """The drift report whose sample it was in."""
    judged_at: datetime
    """When that report was stored."""
    judge_version: str
    """The judge and rubric (``model@hash``)."""
    score: int | None
    """1–5, or None when the judge's reply could not be used."""
    reason: str
    """The judge's reason, or the error."""


OnlineStatus = Literal["scored", "error", "skipped"]
"""What an evaluator did with a sampled trace: scored it, failed to (the grader's or
judge's error, kept), or skipped it (its budget was spent)."""
ONLINE_STATUSES: tuple[OnlineStatus, ...] = ("scored", "error", "skipped")


@dataclass(frozen=True, kw_only=True, slots=True)
class OnlineScore:
    """One online evaluator's verdict on one live trace (each trace at most once)."""

    evaluator: str
    """The rule's name (``evaluators:`` in evallock.yaml)."""
    trace_id: str
    """The trace evaluated."""
    scored_at: datetime
    """When the verdict was stored."""
    status: OnlineStatus
    """``scored``, ``error`` or ``skipped`` (over budget)."""
    version: str
    """The judge version (``model@hash``) or the rules' (``rules@hash``)."""
    score: float | None = None
    """0–1, 1 best (a judge's 1–5 mapped as (s − 1) / 4); None unless scored."""
    judge_score: int | None = None
    """The judge's raw 1–5 score, for a judged evaluator."""
    passed: bool | None = None
    """Whether the answer passed (judge: at its pass score); None unless scored."""
    reason: str = ""
    """Why, in a line; for an error, the error; for a skip, which budget."""


@dataclass(frozen=True, kw_only=True, slots=True)
class JudgeLabel:
    """A person's 1–5 score of an answer the judge scored, kept beside the judge's score."""

    subject: str
    """What was judged: ``trace:<trace_id>`` (an online evaluator's) or
    ``record:<run_id>/<case_id>/<trial>`` (a run's)."""
    judge_version: str
    """The judge and rubric whose score this label checks (``model@hash``)."""
    reviewer: str
    """Who labelled it; one label per subject, judge version and reviewer."""
    human_score: int
    """The person's score, 1–5 on the judge's scale."""
    judge_score: int | None
    """The judge's score on the same answer (None when its reply was unusable)."""
    labeled_at: datetime
    """When the label was stored (a later label by the same reviewer replaces it)."""
    evaluator: str | None = None
    """The online evaluator whose verdict it checks, for a trace."""
    note: str | None = None
    """The reviewer's remark."""
    adjudicated: bool = False
    """It settles a dispute between reviewers: it stands for its answer instead of the
    reviewers' median."""


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredDriftReport:
    """A drift report as the store keeps it: the columns it indexes and the report body
    (read back, with the id and time the store gave it)."""

    window_start: datetime
    """Start of the window judged (UTC)."""
    window_end: datetime
    """End of the window (UTC)."""
    judge_version: str
    """The judge that scored it."""
    alert: bool
    """Whether it alerted."""
    body: dict[str, Any]
    """The report as ``evallock drift --json`` prints it."""
    report_id: str = ""
    """Its id, given by the store (empty until it is stored)."""
    created_at: datetime | None = None
    """When it was stored (set by the store)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredComparison:
    """An A/B comparison as the store keeps it: the columns it indexes and the report body
    (read back, with the time it was stored)."""

    comparison_id: str
    """Its id."""
    dataset_id: str
    """The cases compared on."""
    run_a: str
    """Variant A's run."""
    run_b: str
    """Variant B's run."""
    verdict: str
    """``B wins``, ``A wins``, ``no significant difference`` …"""
    body: dict[str, Any]
    """The report as ``evallock ab --json`` prints it."""
    created_at: datetime | None = None
    """When it was stored (set by the store)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Run:
    """One run of a dataset against a target, with its settings and, once done, its verdict."""

    run_id: str
    """Unique id, sortable by time."""
    dataset_id: str
    """``name@sha256-prefix`` of the cases."""
    dataset_name: str
    """The dataset's name (the baseline is looked up by it)."""
    target_id: str
    """Which service was asked (base URL + model, or the callable), without the prompt."""
    started_at: datetime
    """When the run started (UTC)."""
    keys: dict[str, str] = field(default_factory=dict)
    """The run's shared and extra keys."""
    settings: dict[str, Any] = field(default_factory=dict)
    """What is needed to resume it: cases path, target, trials, gate thresholds …"""
    status: RunStatus = "running"
    """``running`` until it finishes, then ``complete`` (or ``interrupted``)."""
    finished_at: datetime | None = None
    """When it finished."""
    verdict: Literal["pass", "fail"] | None = None
    """The gate's verdict, once complete."""
    summary: RunSummary | None = None
    """Counts, pass rate and interval, locks failed, new failures … once complete."""
    baseline_run_id: str | None = None
    """The run it was compared with."""

    @property
    def kind(self) -> RunKind:
        """``gate`` (a deploy's run: the timeline and baselines), ``ab`` (an arm of an A/B)
        or ``experiment`` (an ad-hoc run, kept out of both)."""
        kind = self.settings.get("kind")
        if kind in ("gate", "ab", "experiment"):
            return kind  # type: ignore[no-any-return]
        return "ab" if "arm" in self.settings else "gate"


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
