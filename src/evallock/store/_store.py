"""The Store: one database, a repository per aggregate.

::

    store.runs          runs and their append-only eval records
    store.cache         judge verdicts and target answers by key
    store.traces        trace summaries merged by trace id; windows, slices, complaints
    store.feedback      ratings of traces, once per feedback_id
    store.candidates    signals, candidate eval cases, their review and promotion
    store.reports       drift reports and A/B comparisons
    store.online        online evaluation: the inbox, verdicts, spend
    store.labels        people's scores of judged answers (the judge's calibration)
    store.api_keys      the HTTP service's keys, by hash

Every repository works on the same :class:`~evallock.store._database.Database`:
every write is one transaction, every statement a parameterised Core expression,
and a database failure is a :class:`evallock.errors.StoreError` with the masked
URL and one line of reason. A use case takes a Protocol naming the repositories
and methods it calls; the faces (``cli/``, ``server/``) take the Store.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.engine import Engine

from evallock.store._apikeys_repo import ApiKeyRepository
from evallock.store._cache_repo import CacheRepository
from evallock.store._candidates_repo import CandidateRepository
from evallock.store._database import Database
from evallock.store._feedback_repo import FeedbackRepository
from evallock.store._labels_repo import LabelRepository
from evallock.store._online_repo import OnlineRepository
from evallock.store._reports_repo import ReportRepository
from evallock.store._runs_repo import RunRepository
from evallock.store._traces_repo import TraceRepository

__all__ = ["Store"]


class Store:
    """Runs, records, the cache, traces, feedback, candidates, reports and API keys.

    Open one with :func:`evallock.store.open_store`. It is safe to share between
    threads (each call checks a connection out of the engine's pool), except the
    in-memory ``sqlite://`` store, which has a single connection.
    """

    url: str
    """The store's URL with any password masked."""
    runs: RunRepository
    """Runs and their eval records."""
    cache: CacheRepository
    """Cached judge verdicts and target answers."""
    traces: TraceRepository
    """Trace summaries."""
    feedback: FeedbackRepository
    """Ratings of traces."""
    candidates: CandidateRepository
    """Candidate eval cases, from signal to promotion."""
    reports: ReportRepository
    """Drift reports and A/B comparisons."""
    api_keys: ApiKeyRepository
    """API keys of the HTTP service."""
    online: OnlineRepository
    """Online evaluation: the inbox, evaluators' verdicts and spend."""
    labels: LabelRepository
    """People's scores of judged answers, for the judge's calibration."""

    def __init__(self, engine: Engine, *, url: str) -> None:
        """Wrap an engine whose database is already migrated (see ``open_store``)."""
        self._db = Database(engine, url=url)
        self.url = url
        self.runs = RunRepository(self._db)
        self.cache = CacheRepository(self._db)
        self.traces = TraceRepository(self._db)
        self.feedback = FeedbackRepository(self._db)
        self.candidates = CandidateRepository(self._db)
        self.reports = ReportRepository(self._db)
        self.api_keys = ApiKeyRepository(self._db)
        self.online = OnlineRepository(self._db)
        self.labels = LabelRepository(self._db)

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

    def close(self) -> None:
        """Release every connection; the store cannot be used afterwards."""
        self._db.close()
