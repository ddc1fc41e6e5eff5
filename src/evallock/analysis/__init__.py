"""Analysis across runs and traces: history, offline ⋈ online per slice, coverage."""

from evallock.analysis.coverage import (
    DEFAULT_COVERAGE_KEYS,
    CoverageReport,
    CoverageSlice,
    coverage_report,
    coverage_to_dict,
)
from evallock.analysis.experiment import (
    EXPERIMENT_METRICS,
    ArmOutcome,
    ExperimentMonitor,
    experiment_to_dict,
    monitor_experiment,
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
    OfflinePick,
    OfflineSide,
    OnlineSide,
    SliceChange,
    join_offline_online,
    offline_online_to_dict,
)

__all__ = [
    "DEFAULT_COVERAGE_KEYS",
    "EXPERIMENT_METRICS",
    "ArmOutcome",
    "CoverageReport",
    "CoverageSlice",
    "ExperimentMonitor",
    "HistoryPoint",
    "OfflineOnline",
    "OfflineOnlineSlice",
    "OfflinePick",
    "OfflineSide",
    "OnlineSide",
    "RunDelta",
    "SliceChange",
    "coverage_report",
    "coverage_to_dict",
    "experiment_to_dict",
    "history_rows",
    "join_offline_online",
    "monitor_experiment",
    "offline_online_to_dict",
    "pass_delta",
    "passes_by_case",
    "run_history",
]
