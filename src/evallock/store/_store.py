"""The Store: runs, eval records, the cache, traces, feedback and API keys, over one engine.

Every write is one transaction and every statement is a parameterised Core
expression. Records are append-only: a second record for the same
``(run_id, case_id, trial)`` is refused, never merged. Traces are merged by trace
id (empty fields filled, stored content never overwritten; see ``_traces.py``) and
feedback is kept once per ``feedback_id``. Database failures surface as
:class:`evallock.errors.StoreError` with the masked URL and one line of reason.

The module is long because it is the store's whole public face (48
methods, each documented); each method opens a transaction and hands the
connection to the module of its concern: ``_runs``, ``_traces``, ``_feedback``,
``_apikeys``, ``_drift``, ``_candidates``, ``_signals`` and ``_slices``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any, Literal, get_args

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from evallock.errors import StoreError
from evallock.feedback._records import Candidate, CandidateEvent, Signal, SignalKind
from evallock.limits import check_feedback, check_trace
from evallock.records import EvalRecord, Feedback, Run, RunStatus, Trace
from evallock.store import (
    _apikeys,
    _candidates,
    _drift,
    _feedback,
    _runs,
    _signals,
    _slices,
    _traces,
)
from evallock.store._apikeys import ApiKey
from evallock.store._candidates import CandidatePosition
from evallock.store._codec import (
    RecordKeyColumns,
    record_from_row,
    record_to_row,
    run_to_row,
)
from evallock.store._engine import insert_or_ignore, write_connection
from evallock.store._runs import IN_CHUNK as _IN_CHUNK
from evallock.store._runs import PAGE_SIZE
from evallock.store._schema import cache, eval_records, runs
from evallock.store._traces import TracePosition
from evallock.store._types import utc_now

__all__ = ["Store"]

_STATUSES = frozenset(get_args(RunStatus))
_MAX_PAGE = 2**31 - 1
_VERDICTS = frozenset({None, "pass", "fail"})
CacheNamespace = Literal["judge", "target"]

_INSERT_RUN = runs.insert()
_INSERT_RECORDS = eval_records.insert()
_GET_CACHED = select(cache.c.key, cache.c.value).where(
    cache.c.namespace == bindparam("namespace"),
    cache.c.key.in_(bindparam("keys", expanding=True)),
)


class Store:
    """Runs, records and cache entries in one SQLite or PostgreSQL database.

    Open one with :func:`evallock.store.open_store`. It is safe to share between
    threads (each call checks a connection out of the engine's pool), except the
    in-memory ``sqlite://`` store, which has a single connection.
    """

    url: str
    """The store's URL with any password masked."""

    def __init__(self, engine: Engine, *, url: str) -> None:
        """Wrap an engine whose database is already migrated (see ``open_store``)."""
        self.url = url
        self._engine: Engine | None = engine
        self._insert_cache = insert_or_ignore(engine.dialect.name, cache)

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- runs ---------------------------------------------------------------

    def create_run(self, run: Run) -> None:
        """Record a new run.

        Raises:
            ValueError: a naive ``started_at`` or ``finished_at``.
            StoreError: a run with this id exists already, or the write failed.
        """
        with self._write(f"cannot create run {run.run_id!r}") as conn:
            conn.execute(_INSERT_RUN, run_to_row(run))

    def finish_run(
        self,
        run_id: str,
        *,
        status: str,
        verdict: str | None,
        summary: dict[str, Any],
        baseline_run_id: str | None,
        finished_at: datetime,
    ) -> None:
        """Set a run's outcome: status, verdict, summary, baseline and finish time.

        Raises:
            ValueError: an unknown status or verdict, or a naive ``finished_at``.
            StoreError: no such run, or the write failed.
        """
        if status not in _STATUSES:
            raise ValueError(f"status {status!r}: expected one of {sorted(_STATUSES)}")
        if verdict not in _VERDICTS:
            raise ValueError(f"verdict {verdict!r}: expected 'pass', 'fail' or None")
        if finished_at.utcoffset() is None:
            raise ValueError("finished_at is a naive datetime; pass a timezone-aware (UTC) time")
        values = {
            "status": status,
            "verdict": verdict,
            "summary": summary,
            "baseline_run_id": baseline_run_id,
            "finished_at": finished_at,
        }
        with self._write(f"cannot finish run {run_id!r}") as conn:
            if not _runs.finish_run(conn, run_id, values):
                raise StoreError(f"cannot finish run {run_id!r} in store {self.url}: no such run")

    def get_run(self, run_id: str) -> Run | None:
        """The run with this id, or None."""
        with self._read(f"cannot read run {run_id!r}") as conn:
            return _runs.get_run(conn, run_id)

    def list_runs(
        self,
        *,
        dataset_name: str | None = None,
        target_id: str | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> list[Run]:
        """Runs matching every given filter, newest first."""
        with self._read("cannot list runs") as conn:
            return _runs.list_runs(
                conn, dataset_name=dataset_name, target_id=target_id, status=status, limit=limit
            )

    def last_passing_run(
        self, dataset_name: str, target_id: str, *, exclude_run_id: str | None = None
    ) -> Run | None:
        """The newest complete run of this dataset and target whose verdict was ``pass``."""
        with self._read("cannot look up the last passing run") as conn:
            return _runs.last_passing_run(conn, dataset_name, target_id, exclude_run_id)

    # -- records ------------------------------------------------------------

    def add_records(self, records: Sequence[EvalRecord]) -> None:
        """Append records in one transaction: all of them are written, or none.

        Records without ``created_at`` get the time of this call.

        Raises:
            ValueError: a naive ``created_at``.
            StoreError: a record repeats a stored ``(run_id, case_id, trial)``, names a
                run that does not exist, or the write failed.
        """
        if not records:
            return
        now = utc_now()
        key_columns = RecordKeyColumns()
        rows = [record_to_row(record, now, key_columns) for record in records]
        action = f"cannot add {len(rows)} records"
        try:
            with self._write(action) as conn:
                conn.execute(_INSERT_RECORDS, rows)
        except StoreError as exc:
            clash = (
                self._first_clash(records) if isinstance(exc.__cause__, IntegrityError) else None
            )
            if clash is None:
                raise
            raise StoreError(
                f"{action} in store {self.url}: run {clash[0]!r} case {clash[1]!r} trial "
                f"{clash[2]} is already stored (records are append-only)"
            ) from exc.__cause__

    def iter_records(self, run_id: str) -> Iterator[EvalRecord]:
        """A run's records in insertion order, fetched a page at a time.

        No connection is held between pages, so a slow consumer blocks nobody.
        """
        after = 0
        while True:
            with self._read(f"cannot read records of run {run_id!r}") as conn:
                page = _runs.record_page(conn, run_id, after)
            for row in page:
                yield record_from_row(row)
            if len(page) < PAGE_SIZE:
                return
            after = page[-1].id

    def records_of_cases(self, run_id: str, case_ids: Sequence[str]) -> list[EvalRecord]:
        """A run's records of these cases (every trial), in no particular order.

        How results are read for a file of any size: a block of cases at a time.
        """
        with self._read(f"cannot read records of run {run_id!r}") as conn:
            return _runs.records_of_cases(conn, run_id, case_ids)

    def count_records(self, run_id: str) -> int:
        """How many trial records a run has."""
        with self._read(f"cannot count records of run {run_id!r}") as conn:
            return _runs.count_records(conn, run_id)

    def completed_trials(
        self, run_id: str, case_ids: Sequence[str] | None = None
    ) -> set[tuple[str, int]]:
        """``(case_id, trial)`` pairs already recorded for a run (what ``--resume`` skips).

        With ``case_ids``, only those cases' pairs: how a resume reads them a block at a time.
        """
        with self._read(f"cannot read records of run {run_id!r}") as conn:
            return _runs.completed_trials(conn, run_id, case_ids)

    def _first_clash(self, records: Sequence[EvalRecord]) -> tuple[str, str, int] | None:
        # Only on the failure path: name the record that broke the uniqueness rule.
        seen: set[tuple[str, str, int]] = set()
        stored: dict[str, set[tuple[str, int]]] = {}
        for r in records:
            ident = (r.run_id, r.case_id, r.trial)
            if r.run_id not in stored:
                stored[r.run_id] = self.completed_trials(r.run_id)
            if ident in seen or (r.case_id, r.trial) in stored[r.run_id]:
                return ident
            seen.add(ident)
        return None

    # -- cache --------------------------------------------------------------

    def get_cached(self, namespace: str, key: str) -> dict[str, Any] | None:
        """The cached value under ``namespace``/``key``, or None."""
        return self.get_cached_many(namespace, [key]).get(key)

    def get_cached_many(self, namespace: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The cached values for those keys that have one, by key."""
        found: dict[str, dict[str, Any]] = {}
        unique = list(dict.fromkeys(keys))
        with self._read(f"cannot read the {namespace} cache") as conn:
            for start in range(0, len(unique), _IN_CHUNK):
                params = {"namespace": namespace, "keys": unique[start : start + _IN_CHUNK]}
                found.update((row.key, row.value) for row in conn.execute(_GET_CACHED, params))
        return found

    def put_cached(self, namespace: str, items: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Cache values in one transaction; a key that already has a value keeps it."""
        first: dict[str, dict[str, Any]] = {}
        for key, value in items:
            first.setdefault(key, value)
        if not first:
            return
        now = utc_now()
        rows = [
            {"namespace": namespace, "key": key, "value": value, "created_at": now}
            for key, value in first.items()
        ]
        with self._write(f"cannot write the {namespace} cache") as conn:
            conn.execute(self._insert_cache, rows)

    # -- traces ---------------------------------------------------------------

    def add_traces(self, traces: Sequence[Trace]) -> int:
        """Store trace summaries in one transaction; returns how many trace ids were new.

        A trace id already stored is merged: fields still empty are filled, stored
        content is never overwritten, new ``extra`` keys are added, ``timestamp``
        keeps the earliest start and ``latency_ms`` the longest duration. Safe
        under concurrent writers carrying spans of the same trace.

        Every trace is checked against :mod:`evallock.limits` first, so SQLite and
        PostgreSQL refuse the same rows; one trace past a limit refuses the batch.

        Raises:
            FieldLimitError: a field past its limit (named); nothing is written.
            ValueError: a naive ``timestamp``.
            StoreError: the write failed.
        """
        if not traces:
            return 0
        for trace in traces:
            check_trace(trace)
        now = utc_now()
        with self._write(f"cannot add {len(traces)} traces") as conn:
            return _traces.add_traces(conn, traces, now)

    def get_trace(self, trace_id: str) -> Trace | None:
        """The summary of one trace, or None."""
        with self._read(f"cannot read trace {trace_id!r}") as conn:
            return _traces.get_trace(conn, trace_id)

    def list_traces(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        keys: Mapping[str, str] | None = None,
        limit: int = 100,
        offset: int = 0,
        newest_first: bool = True,
        after: TracePosition | None = None,
    ) -> list[Trace]:
        """Trace summaries started in ``[since, until)`` whose keys all equal ``keys``.

        Ordered by ``(timestamp, trace_id)``, newest first unless ``newest_first`` is
        False. ``keys`` may name shared keys (indexed columns) and ``extra`` keys.
        To read page after page, pass the position of the last trace of a page as
        ``after``: each page is then one index range scan, where a large ``offset``
        reads and skips every row before it.

        Raises:
            ValueError: a naive time, a limit or offset that is negative or past
                ``2**31 - 1``, or an unusable key name.
        """
        _check_window(since, until)
        _check_page(limit, offset)
        if after is not None:
            _check_aware("after.timestamp", after.timestamp)
        with self._read("cannot list traces") as conn:
            return _traces.list_traces(
                conn,
                since=since,
                until=until,
                keys=keys,
                limit=limit,
                offset=offset,
                newest_first=newest_first,
                after=after,
            )

    def count_traces(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        keys: Mapping[str, str] | None = None,
    ) -> int:
        """How many traces :meth:`list_traces` would return without a limit."""
        _check_window(since, until)
        with self._read("cannot count traces") as conn:
            return _traces.count_traces(conn, since=since, until=until, keys=keys)

    # -- feedback -------------------------------------------------------------

    def add_feedback(self, items: Sequence[Feedback]) -> int:
        """Store feedback in one transaction, once per ``feedback_id``; returns how many were new.

        Feedback whose trace is not stored (yet) is kept; it is linked by trace id
        when read. Items without ``created_at`` get the time of this call.

        Every item is checked against :mod:`evallock.limits` first, so SQLite and
        PostgreSQL refuse the same rows; one item past a limit refuses the batch.

        Raises:
            FieldLimitError: a field past its limit (named); nothing is written.
            ValueError: a naive ``created_at``.
            StoreError: the write failed.
        """
        if not items:
            return 0
        for item in items:
            check_feedback(item)
        now = utc_now()
        with self._write(f"cannot add {len(items)} feedback items") as conn:
            return _feedback.add_feedback(conn, items, now)

    def list_feedback(
        self, *, trace_id: str | None = None, since: datetime | None = None, limit: int = 1000
    ) -> list[Feedback]:
        """Feedback oldest first, for one trace and/or received since a time."""
        _check_window(since, None)
        with self._read("cannot list feedback") as conn:
            return _feedback.list_feedback(conn, trace_id=trace_id, since=since, limit=limit)

    # -- API keys -------------------------------------------------------------

    def add_api_key(
        self, *, key_id: str, name: str, scope: str, key_hash: str, created_at: datetime
    ) -> None:
        """Record a new API key by its hash; ``scope`` is ``ingest``, ``read`` or ``admin``.

        Raises:
            ValueError: an unknown scope, an empty id or hash, or a naive time.
            StoreError: the key id or hash is taken, or the write failed.
        """
        _apikeys.check_new_key(key_id=key_id, scope=scope, key_hash=key_hash, created_at=created_at)
        action = f"cannot add API key {key_id!r}"
        try:
            with self._write(action) as conn:
                _apikeys.add_api_key(
                    conn,
                    key_id=key_id,
                    name=name,
                    scope=scope,
                    key_hash=key_hash,
                    created_at=created_at,
                )
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                raise StoreError(
                    f"{action} in store {self.url}: a key with this id or hash exists already"
                ) from exc.__cause__
            raise

    def find_api_key(self, key_hash: str) -> ApiKey | None:
        """The key with this hash (revoked ones too, with ``revoked_at`` set), or None."""
        with self._read("cannot look up an API key") as conn:
            return _apikeys.find_api_key(conn, key_hash)

    def list_api_keys(self) -> list[ApiKey]:
        """Every API key, oldest first, revoked ones included."""
        with self._read("cannot list API keys") as conn:
            return _apikeys.list_api_keys(conn)

    def revoke_api_key(self, key_id: str) -> bool:
        """Revoke a key; True when it exists (revoking twice keeps the first time)."""
        with self._write(f"cannot revoke API key {key_id!r}") as conn:
            return _apikeys.revoke_api_key(conn, key_id, utc_now())

    # -- drift and comparisons ------------------------------------------------

    def window_trace_ids(
        self, *, since: datetime, until: datetime, key: str | None = None
    ) -> list[tuple[str, str | None]]:
        """Every trace id in ``[since, until)``, with its value of the shared ``key``."""
        with self._read("cannot select the window's traces") as conn:
            return _drift.window_trace_ids(conn, since=since, until=until, key=key)

    def get_traces(self, trace_ids: Sequence[str]) -> list[Trace]:
        """The traces with these ids, in the order given (missing ones skipped)."""
        with self._read(f"cannot read {len(trace_ids)} traces") as conn:
            return _drift.get_traces(conn, trace_ids)

    def count_traces_by(self, key: str, *, since: datetime, until: datetime) -> dict[str, int]:
        """Traces per value of a shared key in ``[since, until)``."""
        with self._read(f"cannot count traces by {key}") as conn:
            return _drift.count_traces_by(conn, key, since=since, until=until)

    def add_drift_report(
        self, report: dict[str, Any], samples: Sequence[tuple[str, int | None, str]]
    ) -> str:
        """Store a drift report with its judged sample; returns the report id."""
        with self._write("cannot store the drift report") as conn:
            return _drift.add_drift_report(conn, report, samples)

    def list_drift_reports(self, *, limit: int = 50) -> list[dict[str, Any]]:
        """Stored drift reports, newest first."""
        with self._read("cannot read drift reports") as conn:
            return _drift.list_drift_reports(conn, limit=limit)

    def add_comparison(self, report: dict[str, Any]) -> str:
        """Store an A/B comparison (the JSON report of ``evallock ab``)."""
        with self._write("cannot store the comparison") as conn:
            return _drift.add_comparison(conn, report)

    def list_comparisons(self, *, limit: int = 50) -> list[dict[str, Any]]:
        """Stored comparisons, newest first."""
        with self._read("cannot read comparisons") as conn:
            return _drift.list_comparisons(conn, limit=limit)

    # -- candidates and slices ----------------------------------------------

    def candidate_signals(
        self,
        kinds: Sequence[SignalKind],
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        max_judge_score: int = 2,
    ) -> list[Signal]:
        """Traces a signal puts forward (thumbs-down …) that no candidate holds yet."""
        _check_window(since, until)
        with self._read("cannot read candidate signals") as conn:
            return _signals.candidate_signals(
                conn, kinds, since=since, until=until, max_judge_score=max_judge_score
            )

    def add_candidates(
        self,
        new: Sequence[Candidate],
        merges: Mapping[str, Sequence[str]],
        events: Sequence[CandidateEvent],
    ) -> None:
        """Store new candidates and traces merged into existing ones, in one transaction.

        Raises:
            StoreError: a trace is behind a candidate already, or the write failed.
        """
        if not new and not merges:
            return
        with self._write("cannot store candidates") as conn:
            _candidates.add_candidates(conn, new, merges, events, utc_now())

    def list_candidates(
        self,
        *,
        states: Sequence[str] | None = None,
        limit: int | None = 100,
        offset: int = 0,
        after: CandidatePosition | None = None,
    ) -> list[Candidate]:
        """Candidates in these states (all when None), most traces first.

        ``after``, the position of the last candidate of a page, starts the next page.

        Raises:
            ValueError: a limit or offset that is negative or past ``2**31 - 1``, or a
                naive time in ``after``.
        """
        _check_page(0 if limit is None else limit, offset)
        if after is not None:
            _check_aware("after.created_at", after.created_at)
        with self._read("cannot list candidates") as conn:
            return _candidates.list_candidates(
                conn, states=states, limit=limit, offset=offset, after=after
            )

    def get_candidate(self, candidate_id: str) -> Candidate | None:
        """The candidate with this id or unique id prefix, or None."""
        with self._read(f"cannot read candidate {candidate_id!r}") as conn:
            return _candidates.find_candidate(conn, candidate_id)

    def candidate_events(self, candidate_id: str) -> list[CandidateEvent]:
        """A candidate's audit trail, oldest first."""
        with self._read(f"cannot read events of candidate {candidate_id!r}") as conn:
            return _candidates.candidate_events_of(conn, candidate_id)

    def transition_candidate(
        self,
        candidate_id: str,
        *,
        from_states: Sequence[str],
        changes: Mapping[str, Any],
        event: CandidateEvent,
    ) -> Candidate | None:
        """Change a candidate that is in one of ``from_states`` and log the event; else None.

        Raises:
            FieldLimitError: ``expected``, ``note``, the event's ``reason`` … past its
                limit (see :func:`evallock.store._candidates.check_review`); nothing written.
            StoreError: the write failed.
        """
        _candidates.check_review(changes, event)
        with self._write(f"cannot update candidate {candidate_id!r}") as conn:
            return _candidates.transition_candidate(
                conn, candidate_id, from_states=from_states, changes=changes, event=event
            )

    def mark_promoted(
        self,
        promoted: Sequence[tuple[str, str]],
        *,
        promoted_to: str,
        dataset_id: str,
        events: Sequence[CandidateEvent],
    ) -> None:
        """Mark ``(candidate_id, case_id)`` pairs promoted, all or none.

        Raises:
            UsageError: a candidate is no longer accepted.
            StoreError: the write failed.
        """
        with self._write("cannot mark candidates promoted") as conn:
            _candidates.mark_promoted(
                conn,
                promoted,
                promoted_to=promoted_to,
                dataset_id=dataset_id,
                events=events,
                at=utc_now(),
            )

    def trace_slices(
        self, by: Sequence[str], *, since: datetime | None = None, until: datetime | None = None
    ) -> list[_slices.SliceCounts]:
        """Traces, errors, thumbs-downs and judge scores per slice of the ``by`` keys."""
        _check_window(since, until)
        with self._read("cannot count traces per slice") as conn:
            return _slices.trace_slices(conn, by, since=since, until=until)

    def complaint_traces(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        max_judge_score: float = 2,
    ) -> list[_slices.Complaint]:
        """Traces with a thumbs-down or a judge score at or below ``max_judge_score``."""
        _check_window(since, until)
        with self._read("cannot read complaints") as conn:
            return _slices.complaint_traces(
                conn, since=since, until=until, max_judge_score=max_judge_score
            )

    # -- plumbing -----------------------------------------------------------

    def close(self) -> None:
        """Release every connection; the store cannot be used afterwards."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _live_engine(self) -> Engine:
        if self._engine is None:
            raise StoreError(f"store {self.url} is closed")
        return self._engine

    @contextmanager
    def _write(self, action: str) -> Iterator[Connection]:
        engine = self._live_engine()
        try:
            with write_connection(engine) as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"{action} in store {self.url}: {describe_error(exc)}") from exc

    @contextmanager
    def _read(self, action: str) -> Iterator[Connection]:
        engine = self._live_engine()
        try:
            with engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"{action} in store {self.url}: {describe_error(exc)}") from exc


def _check_window(since: datetime | None, until: datetime | None) -> None:
    _check_aware("since", since)
    _check_aware("until", until)


def _check_page(limit: int, offset: int) -> None:
    if limit < 0 or offset < 0:
        raise ValueError("limit and offset must not be negative")
    # PostgreSQL takes LIMIT and OFFSET as 32-bit parameters; SQLite is refused alike.
    if max(limit, offset) > _MAX_PAGE:
        raise ValueError(f"limit and offset must be at most {_MAX_PAGE:,}")


def _check_aware(name: str, value: datetime | None) -> None:
    if value is not None and value.utcoffset() is None:
        raise ValueError(f"{name} is a naive datetime; pass a timezone-aware (UTC) time")


def describe_error(exc: BaseException) -> str:
    """One line saying what the database objected to."""
    if isinstance(exc, IntegrityError):
        text = str(exc.orig).lower()
        if "unique" in text or "duplicate" in text:
            return "already stored (records and runs are append-only)"
        if "foreign key" in text:
            return "it refers to a run that does not exist"
    cause = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return lines[0] if lines else type(cause).__name__
