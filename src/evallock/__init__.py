"""evallock: tell an LLM team their service got worse before their users do.

The library behind the ``evallock`` command, in one import::

    import evallock

    store = evallock.open_store("sqlite:///.evallock/evallock.db")
    outcome = evallock.run_eval(
        evallock.EvalRequest(
            cases="evals/golden.jsonl",
            target=evallock.TargetSpec(base_url="http://localhost:8000/v1", model="bot"),
        ),
        store,
    )
    print(outcome.gate.verdict, outcome.gate.pass_rate_ci)

Every name loads its module on first use, so ``import evallock`` costs nothing;
the packages (``evallock.stats``, ``evallock.traces``, ``evallock.server`` …)
export more for those who need it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evallock._lazy import lazy_names

if TYPE_CHECKING:
    from evallock.ab import ABOutcome, ABRequest, compare_runs, compare_variants
    from evallock.cases import CaseFile, open_cases
    from evallock.drift import DriftOutcome, DriftRequest, run_drift
    from evallock.errors import (
        CaseFileError,
        ConfigError,
        EvallockError,
        InfraError,
        JudgeError,
        StoreError,
        TargetError,
        UsageError,
    )
    from evallock.evaluation import EvalOutcome, EvalRequest, run_eval
    from evallock.expect import Expectation, assert_that
    from evallock.feedback import (
        accept_candidate,
        list_candidates,
        promote_candidates,
        propose_candidates,
        reject_candidate,
        show_candidate,
    )
    from evallock.gate import GateResult, GateThresholds
    from evallock.records import (
        Candidate,
        Case,
        CaseResult,
        EvalRecord,
        Feedback,
        Run,
        Trace,
    )
    from evallock.runner import RunOptions
    from evallock.session import JudgeSpec, RunSession, TargetSpec
    from evallock.store import Store, open_store

__all__ = [
    "ABOutcome",
    "ABRequest",
    "Candidate",
    "Case",
    "CaseFile",
    "CaseFileError",
    "CaseResult",
    "ConfigError",
    "DriftOutcome",
    "DriftRequest",
    "EvalOutcome",
    "EvalRecord",
    "EvalRequest",
    "EvallockError",
    "Expectation",
    "Feedback",
    "GateResult",
    "GateThresholds",
    "InfraError",
    "JudgeError",
    "JudgeSpec",
    "Run",
    "RunOptions",
    "RunSession",
    "Store",
    "StoreError",
    "TargetError",
    "TargetSpec",
    "Trace",
    "UsageError",
    "accept_candidate",
    "assert_that",
    "compare_runs",
    "compare_variants",
    "list_candidates",
    "open_cases",
    "open_store",
    "promote_candidates",
    "propose_candidates",
    "reject_candidate",
    "run_drift",
    "run_eval",
    "show_candidate",
]

_HOME: dict[str, str] = {
    **dict.fromkeys(("ABOutcome", "ABRequest", "compare_runs", "compare_variants"), "ab"),
    **dict.fromkeys(("CaseFile", "open_cases"), "cases"),
    **dict.fromkeys(("DriftOutcome", "DriftRequest", "run_drift"), "drift"),
    **dict.fromkeys(
        (
            "CaseFileError",
            "ConfigError",
            "EvallockError",
            "InfraError",
            "JudgeError",
            "StoreError",
            "TargetError",
            "UsageError",
        ),
        "errors",
    ),
    **dict.fromkeys(("EvalOutcome", "EvalRequest", "run_eval"), "evaluation"),
    **dict.fromkeys(("Expectation", "assert_that"), "expect"),
    **dict.fromkeys(
        (
            "accept_candidate",
            "list_candidates",
            "promote_candidates",
            "propose_candidates",
            "reject_candidate",
            "show_candidate",
        ),
        "feedback",
    ),
    **dict.fromkeys(("GateResult", "GateThresholds"), "gate"),
    **dict.fromkeys(
        ("Candidate", "Case", "CaseResult", "EvalRecord", "Feedback", "Run", "Trace"), "records"
    ),
    "RunOptions": "runner",
    **dict.fromkeys(("JudgeSpec", "RunSession", "TargetSpec"), "session"),
    **dict.fromkeys(("Store", "open_store"), "store"),
}

__getattr__ = lazy_names(__name__, _HOME)
