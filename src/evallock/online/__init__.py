"""Online evaluation: evaluator rules that score live traffic as it arrives.

An evaluator (``evaluators:`` in evallock.yaml) takes the traces whose keys match, a
sample of them, and scores each with checks and/or the judge under a daily budget.
``evallock serve`` runs them continuously (:class:`OnlineWorker`); ``evallock evaluate``
runs them over stored traces (:func:`backfill`), with the same code.

Each name loads its module on first use: reading ``evallock.yaml`` needs the rules,
not the judge and the statistics behind the worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evallock._lazy import lazy_names

if TYPE_CHECKING:
    from evallock.online._evaluate import Meter, evaluate_traces, rule_version
    from evallock.online._monitor import StreamAlert, StreamMonitor
    from evallock.online._rules import Budget, DriftWatch, EvaluatorRule, rule_from_json
    from evallock.online._status import EvaluatorStatus, evaluator_status
    from evallock.online._worker import (
        BackfillCounts,
        OnlineStore,
        OnlineWorker,
        WorkerStats,
        backfill,
        check_rules,
    )

__all__ = [
    "BackfillCounts",
    "Budget",
    "DriftWatch",
    "EvaluatorRule",
    "EvaluatorStatus",
    "Meter",
    "OnlineStore",
    "OnlineWorker",
    "StreamAlert",
    "StreamMonitor",
    "WorkerStats",
    "backfill",
    "check_rules",
    "evaluate_traces",
    "evaluator_status",
    "rule_from_json",
    "rule_version",
]

__getattr__ = lazy_names(
    __name__,
    {
        "BackfillCounts": "_worker",
        "Budget": "_rules",
        "DriftWatch": "_rules",
        "EvaluatorRule": "_rules",
        "EvaluatorStatus": "_status",
        "Meter": "_evaluate",
        "OnlineStore": "_worker",
        "OnlineWorker": "_worker",
        "StreamAlert": "_monitor",
        "StreamMonitor": "_monitor",
        "WorkerStats": "_worker",
        "backfill": "_worker",
        "check_rules": "_worker",
        "evaluate_traces": "_evaluate",
        "evaluator_status": "_status",
        "rule_from_json": "_rules",
        "rule_version": "_evaluate",
    },
)
