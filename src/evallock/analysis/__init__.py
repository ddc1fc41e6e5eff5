"""Analysis across runs and traces: history, offline ⋈ online per slice, coverage."""

from evallock.analysis.coverage import (
    DEFAULT_COVERAGE_KEYS,
    CoverageReport,
    CoverageSlice,
    coverage_report,
    coverage_to_dict,
)
from evallock.analysis.history import (
    HistoryPoint,
    RunDelta,
    history_rows,
    pass_delta,
    passes_by_case,
    run_history,
)
from evallock.analysis.offline_online import (
    OfflineOnline,
    OfflineOnlineSlice,
    OfflineSide,
    OnlineSide,
    SliceChange,
    join_offline_online,
    offline_online_to_dict,
)

__all__ = [
    "DEFAULT_COVERAGE_KEYS",
    "CoverageReport",
    "CoverageSlice",
    "HistoryPoint",
    "OfflineOnline",
    "OfflineOnlineSlice",
    "OfflineSide",
    "OnlineSide",
    "RunDelta",
    "SliceChange",
    "coverage_report",
    "coverage_to_dict",
    "history_rows",
    "join_offline_online",
    "offline_online_to_dict",
    "pass_delta",
    "passes_by_case",
    "run_history",
]
