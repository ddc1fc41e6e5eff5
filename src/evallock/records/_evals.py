"""Offline evaluation: cases, answers, grades, records and runs, and stored verdicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from evallock.records._base import ErrorKind, Message, RunKind, RunStatus
from evallock.records._traffic import ToolCall

__all__ = [
    "ONLINE_STATUSES",
    "Assertion",
    "Case",
    "CaseHead",
    "CaseJudge",
    "CaseResult",
    "CaseSource",
    "Completion",
    "EvalRecord",
    "Grade",
    "JudgeLabel",
    "OnlineScore",
    "OnlineStatus",
    "Run",
    "RunStats",
    "RunSummary",
    "SimulatedUser",
    "StoredComparison",
    "StoredDriftReport",
    "TraceJudgement",
]


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
