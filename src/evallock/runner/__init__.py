"""The runner: asks the target for every case, grades, stores, and folds trials."""

from evallock.runner._clients import RetryingJudge, StoreCache, target_cache_key
from evallock.runner._conversation import DONE_MARK, SIMULATED_USER_PROMPT, ToolHandlerError
from evallock.runner._results import aggregate_results, stream_results
from evallock.runner._retry import RetryPolicy, call_with_retry
from evallock.runner._run import (
    Arm,
    Progress,
    RunOptions,
    RunStats,
    execute_arms,
    execute_run,
    interleave,
)
from evallock.runner._run_store import (
    CacheStore,
    RecordReader,
    RecordSink,
    ResultStore,
    RunCache,
    RunRecords,
    RunStore,
)
from evallock.runner._writer import BatchWriter

__all__ = [
    "DONE_MARK",
    "SIMULATED_USER_PROMPT",
    "Arm",
    "BatchWriter",
    "CacheStore",
    "Progress",
    "RecordReader",
    "RecordSink",
    "ResultStore",
    "RetryPolicy",
    "RetryingJudge",
    "RunCache",
    "RunOptions",
    "RunRecords",
    "RunStats",
    "RunStore",
    "StoreCache",
    "ToolHandlerError",
    "aggregate_results",
    "call_with_retry",
    "execute_arms",
    "execute_run",
    "interleave",
    "stream_results",
    "target_cache_key",
]
