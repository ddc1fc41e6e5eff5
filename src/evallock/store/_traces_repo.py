"""The trace repository (``store.traces``): summaries merged by trace id, and their queries.

Writes merge a trace id seen before (``_traces.py`` says how); reads select by
time window and keys (``_traces.py``), sample windows for drift (``_drift.py``) and
count outcomes per slice (``_slices.py``). Every trace is checked against
:mod:`evallock.limits` before it is written, so SQLite and PostgreSQL refuse the
same rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from evallock.limits import MAX_ID, MAX_KEY_VALUE, MAX_SESSION_TRACES, check_text, check_trace
from evallock.records import BAD_SCORE, Trace
from evallock.store import _drift, _online, _slices, _traces
from evallock.store._database import Database, check_aware, check_page, check_window
from evallock.store._slices import Complaint, SliceCounts
from evallock.store._traces import TracePosition, TraceSearch
from evallock.times import utc_now

__all__ = ["TraceRepository"]


class TraceRepository:
    """Trace summaries from every ingest path."""

    def __init__(self, db: Database) -> None:
        """Work on ``db``."""
        self._db = db

    def add(
        self,
        traces: Sequence[Trace],
        *,
        spans: Mapping[str, str] | None = None,
        evaluate: bool | Callable[[str], bool] = False,
    ) -> int:
        """Store trace summaries in one transaction; returns how many trace ids were new.

        ``spans`` maps the ids of the spans the summaries came from to their trace id,
        so an annotation naming only a span finds its trace (:meth:`traces_of_spans`).
        With ``evaluate`` (True, or a test of the trace id: the ids some evaluator would
        take), each new trace id goes into the online evaluators' inbox in the same
        transaction (``store.online``): a trace stored is a trace evaluated.

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
        for span_id, trace_id in (spans or {}).items():
            check_text("spans.span_id", span_id, MAX_ID)
            check_text("spans.trace_id", trace_id, MAX_ID)
        now = utc_now()
        with self._db.write(f"cannot add {len(traces)} traces") as conn:
            new = _traces.add_traces(conn, traces, now, spans)
            if evaluate:
                wanted = new if evaluate is True else {t for t in new if evaluate(t)}
                _online.enqueue(conn, sorted(wanted), now)
            return len(new)

    def get(self, trace_id: str) -> Trace | None:
        """The summary of one trace, or None."""
        with self._db.read(f"cannot read trace {trace_id!r}") as conn:
            return _traces.get_trace(conn, trace_id)

    def traces_of_spans(self, span_ids: Sequence[str]) -> dict[str, str]:
        """The trace each span arrived in (span id → trace id); spans never stored are left out."""
        with self._db.read(f"cannot look up {len(span_ids)} spans") as conn:
            return _traces.traces_of_spans(conn, span_ids)

    def session(self, session_id: str, *, limit: int = MAX_SESSION_TRACES) -> list[Trace]:
        """The traces of one session (conversation), oldest first; the newest ``limit``
        when it has more (at most :data:`MAX_SESSION_TRACES`)."""
        check_text("session_id", session_id, MAX_KEY_VALUE)
        check_page(limit, 0)
        with self._db.read(f"cannot read session {session_id!r}") as conn:
            return _traces.session_traces(conn, session_id, min(limit, MAX_SESSION_TRACES))

    def latest_of_sessions(self, session_ids: Sequence[str]) -> dict[str, str]:
        """Each session's newest stored trace (session id → trace id); sessions with no
        stored trace are left out."""
        with self._db.read(f"cannot look up {len(session_ids)} sessions") as conn:
            return _traces.latest_of_sessions(conn, session_ids)

    def get_many(self, trace_ids: Sequence[str]) -> list[Trace]:
        """The traces with these ids, in the order given (missing ones skipped)."""
        with self._db.read(f"cannot read {len(trace_ids)} traces") as conn:
            return _drift.get_traces(conn, trace_ids)

    def find(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        keys: Mapping[str, str] | None = None,
        limit: int = 100,
        offset: int = 0,
        newest_first: bool = True,
        after: TracePosition | None = None,
        search: TraceSearch | None = None,
    ) -> list[Trace]:
        """Trace summaries started in ``[since, until)`` whose keys all equal ``keys``
        (and that match ``search``: text, error, a rating, a judge score).

        Ordered by ``(timestamp, trace_id)``, newest first unless ``newest_first`` is
        False. ``keys`` may name shared keys (indexed columns) and ``extra`` keys.
        To read page after page, pass the position of the last trace of a page as
        ``after``: each page is then one index range scan, where a large ``offset``
        reads and skips every row before it.

        Raises:
            ValueError: a naive time, a limit or offset that is negative or past
                ``2**31 - 1``, or an unusable key name.
        """
        check_window(since, until)
        check_page(limit, offset)
        if after is not None:
            check_aware("after.timestamp", after.timestamp)
        with self._db.read("cannot list traces") as conn:
            return _traces.list_traces(
                conn,
                since=since,
                until=until,
                keys=keys,
                limit=limit,
                offset=offset,
                newest_first=newest_first,
                after=after,
                search=_checked(search),
            )

    def count(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        keys: Mapping[str, str] | None = None,
        search: TraceSearch | None = None,
    ) -> int:
        """How many traces :meth:`find` would return without a limit."""
        check_window(since, until)
        with self._db.read("cannot count traces") as conn:
            return _traces.count_traces(
                conn, since=since, until=until, keys=keys, search=_checked(search)
            )

    def window_ids(
        self,
        *,
        since: datetime,
        until: datetime,
        key: str | None = None,
        sessions: bool = False,
    ) -> list[tuple[str, str | None]]:
        """Every trace id in ``[since, until)``, with its value of the shared ``key``; with
        ``sessions``, each session's newest trace in the window (and every trace without
        a session)."""
        with self._db.read("cannot select the window's traces") as conn:
            return _drift.window_trace_ids(
                conn, since=since, until=until, key=key, sessions=sessions
            )

    def count_by(self, key: str, *, since: datetime, until: datetime) -> dict[str, int]:
        """Traces per value of a shared key in ``[since, until)``."""
        with self._db.read(f"cannot count traces by {key}") as conn:
            return _drift.count_traces_by(conn, key, since=since, until=until)

    def slices(
        self, by: Sequence[str], *, since: datetime | None = None, until: datetime | None = None
    ) -> list[SliceCounts]:
        """Traces, errors, thumbs-downs and judge scores per slice of the ``by`` keys."""
        check_window(since, until)
        with self._db.read("cannot count traces per slice") as conn:
            return _slices.trace_slices(conn, by, since=since, until=until)

    def complaints(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        max_judge_score: float = BAD_SCORE,
    ) -> list[Complaint]:
        """Traces with a thumbs-down or a judge score at or below ``max_judge_score``."""
        check_window(since, until)
        with self._db.read("cannot read complaints") as conn:
            return _slices.complaint_traces(
                conn, since=since, until=until, max_judge_score=max_judge_score
            )


def _checked(search: TraceSearch | None) -> TraceSearch | None:
    """``search`` within its limits: text of at most ``MAX_KEY_VALUE`` characters, a
    judge score of 1 to 5.

    Raises:
        FieldLimitError: the text is too long (``q``).
        ValueError: a judge score outside 1–5.
    """
    if search is None:
        return None
    check_text("q", search.text, MAX_KEY_VALUE)
    score = search.max_judge_score
    if score is not None and not 1 <= score <= 5:
        raise ValueError(f"max_judge_score {score}: expected 1 to 5")
    return search
