"""Analysis across runs and traces: history (and later joins, coverage)."""

from evallock.analysis.history import (
    DEPLOY_KEYS,
    HistoryPoint,
    RunDelta,
    compare_passes,
    history_rows,
    newcombe_interval,
    passes_by_case,
    run_history,
)

__all__ = [
    "DEPLOY_KEYS",
    "HistoryPoint",
    "RunDelta",
    "compare_passes",
    "history_rows",
    "newcombe_interval",
    "passes_by_case",
    "run_history",
]
