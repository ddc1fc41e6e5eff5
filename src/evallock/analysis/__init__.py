"""Analysis across runs and traces: history, offline ⋈ online per slice, coverage."""

from evallock.analysis.compare import (
    Comparison,
    OfflineSide,
    OnlineSide,
    SliceChange,
    SliceComparison,
    compare_offline_online,
    comparison_to_dict,
)
from evallock.analysis.coverage import (
    DEFAULT_COVERAGE_KEYS,
    CoverageReport,
    CoverageSlice,
    coverage_report,
    coverage_to_dict,
)
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
    "DEFAULT_COVERAGE_KEYS",
    "DEPLOY_KEYS",
    "Comparison",
    "CoverageReport",
    "CoverageSlice",
    "HistoryPoint",
    "OfflineSide",
    "OnlineSide",
    "RunDelta",
    "SliceChange",
    "SliceComparison",
    "compare_offline_online",
    "compare_passes",
    "comparison_to_dict",
    "coverage_report",
    "coverage_to_dict",
    "history_rows",
    "newcombe_interval",
    "passes_by_case",
    "run_history",
]
