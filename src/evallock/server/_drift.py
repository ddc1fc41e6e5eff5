"""Drift in the service: a scheduled check (``serve --drift-every``) and the stored reports.

The check runs the library's :func:`evallock.drift.run_drift` in a worker thread
(it has its own event loop) every interval, over the interval just ended; each
report is stored, an alert is logged and posted to the webhook when one is set,
and a failure is logged and counted, never fatal to the service.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import anyio
import orjson
from fastapi import APIRouter, Depends, Query, Request

from evallock.server._auth import require
from evallock.server._errors import ApiError
from evallock.server._state import ServerState

if TYPE_CHECKING:
    from evallock.drift import DriftOutcome, DriftRequest
    from evallock.records import StoredComparison, StoredDriftReport
    from evallock.store import Store

__all__ = [
    "comparison_json",
    "drift_loop",
    "drift_report_json",
    "list_evaluators",
    "router",
    "write_router",
]

log = logging.getLogger("evallock.server")

router = APIRouter(prefix="/api", tags=["api"], dependencies=[Depends(require("read"))])
write_router = APIRouter(tags=["api"])
"""The evaluators' writes (scope ``admin``)."""


def _state(request: Request) -> ServerState:
    state: ServerState = request.app.state.evallock
    return state


@router.get("/drift", summary="Stored drift reports, newest first")
async def list_drift(request: Request, limit: int = Query(50, ge=1, le=1000)) -> dict[str, Any]:
    """Each report as ``evallock drift --json`` writes it, with its id and time."""
    store = _state(request).store
    reports = await anyio.to_thread.run_sync(lambda: store.reports.drift_reports(limit=limit))
    return {"reports": [drift_report_json(r) for r in reports]}


@router.get("/comparisons", summary="Stored A/B comparisons, newest first")
async def list_comparisons(
    request: Request, limit: int = Query(50, ge=1, le=1000)
) -> dict[str, Any]:
    """Each comparison as ``evallock ab --json`` writes it."""
    store = _state(request).store
    items = await anyio.to_thread.run_sync(lambda: store.reports.comparisons(limit=limit))
    return {"comparisons": [comparison_json(c) for c in items]}


@router.get("/evaluators", summary="Online evaluators: verdicts, mean score, spend, the inbox")
async def list_evaluators(request: Request) -> dict[str, Any]:
    """Each configured evaluator over the last 24 hours (scored, errors, skipped over
    budget, mean score 0–1 with its 95 % t interval, today's spend against its budget,
    its judge's calibration), the traces waiting to be evaluated and how long the oldest
    has waited, and the newest drift alarms of the evaluators' charts."""
    state = _state(request)

    def read() -> dict[str, Any]:
        from evallock.online import evaluator_status

        rules = _rules(state)
        from_file = {rule.name for rule in state.settings.evaluators}

        waiting, oldest = state.store.online.inbox()
        lag = None if oldest is None else (datetime.now(UTC) - oldest).total_seconds()
        worker = state.online
        return {
            "evaluators": [
                {
                    **evaluator_status(
                        state.store.online,
                        rule,
                        labels=state.store.labels,
                        floor=state.settings.calibration,
                    ).as_json(),
                    "source": "config" if rule.name in from_file else "api",
                }
                for rule in rules
            ],
            "inbox": {"waiting": waiting, "oldest_wait_s": lag},
            "alerts": [detail for _, _, detail in state.store.online.alerts(limit=20)],
            "worker": None
            if worker is None
            else {
                "rounds": worker.stats.rounds,
                "evaluated": worker.stats.evaluated,
                "failures": worker.stats.failures,
                "alerts": worker.stats.alerts,
                "last_error": worker.stats.last_error,
            },
        }

    return await anyio.to_thread.run_sync(read)


def _rules(state: ServerState) -> list[Any]:
    """The evaluators running: the file's, then those added through the API."""
    if state.online is not None:
        return state.online.current_rules()
    return list(state.settings.evaluators)


_ADMIN = [Depends(require("admin"))]


@write_router.delete(
    "/api/evaluators/{name}",
    summary="Remove an online evaluator added through the API (its verdicts stay)",
    dependencies=_ADMIN,
    responses={
        404: {"description": "No evaluator of that name was added through the API."},
        409: {"description": "It is defined in evallock.yaml: edit the file."},
    },
)
async def remove_evaluator(request: Request, name: str) -> dict[str, Any]:
    """Stop running an evaluator added through the API; its verdicts and alarms stay."""
    state = _state(request)
    _not_from_the_file(state, name)
    gone = await anyio.to_thread.run_sync(lambda: state.store.online.remove_rule(name))
    if not gone:
        raise ApiError(404, f"no evaluator {name!r} added through the API", field="name")
    await _refresh(state)
    return {"removed": name}


async def _refresh(state: ServerState) -> None:
    """Ingest files traces for the evaluators as they are now."""
    if state.online is not None:
        await anyio.to_thread.run_sync(state.online.refresh)


def _not_from_the_file(state: ServerState, name: str) -> None:
    if name in {r.name for r in state.settings.evaluators}:
        raise ApiError(409, f"evaluator {name!r} is defined in evallock.yaml: edit the file")


@write_router.put(
    "/api/evaluators/{name}",
    summary="Add or replace an online evaluator (its rule as under evaluators: in evallock.yaml)",
    dependencies=_ADMIN,
    responses={
        200: {"description": "Stored: the worker runs it from its next round."},
        400: {"description": "Not a valid evaluator, or it asks for a judge not configured."},
        409: {"description": "It is defined in evallock.yaml: edit the file."},
    },
)
async def put_evaluator(request: Request, name: str) -> dict[str, Any]:
    """Keep an evaluator (``where``, ``sample``, ``rubric``, ``assert``, ``budget``,
    ``drift`` …) in the store, run beside the file's from the worker's next round."""
    state = _state(request)
    _not_from_the_file(state, name)
    from evallock.errors import ConfigError
    from evallock.online import check_rules, rule_from_json
    from evallock.session import JudgeSpec

    try:
        data = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "body: an evaluator is a JSON object", field="body")
    if data.setdefault("name", name) != name:
        raise ApiError(400, f"name {data['name']!r} is not the path's {name!r}", field="name")
    try:
        rule = rule_from_json(data)
        check_rules([rule], state.settings.judge or JudgeSpec())
    except ConfigError as exc:
        raise ApiError(400, str(exc), field="body") from None
    await anyio.to_thread.run_sync(lambda: state.store.online.put_rule(rule.name, data, by="api"))
    await _refresh(state)
    return {"name": rule.name, "rule": data}


def drift_report_json(stored: StoredDriftReport) -> dict[str, Any]:
    """A stored drift report as ``GET /api/drift`` lists it: its id and time, then the
    fields of ``evallock drift --json``."""
    return {"report_id": stored.report_id, "created_at": _when(stored.created_at), **stored.body}


def comparison_json(stored: StoredComparison) -> dict[str, Any]:
    """A stored comparison as ``GET /api/comparisons`` lists it: its time, then the
    fields of ``evallock ab --json``."""
    return {"created_at": _when(stored.created_at), **stored.body}


def _when(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


async def drift_loop(state: ServerState) -> None:
    """Run the configured drift check every ``drift_every_s`` until cancelled."""
    settings = state.settings
    assert settings.drift is not None
    assert settings.drift_every_s is not None
    every = settings.drift_every_s
    # Windows are contiguous: each check covers from where the last one ended, so
    # the time a check spends running never falls between two windows.
    start = datetime.now(UTC) - timedelta(seconds=every)
    while True:
        await anyio.sleep(every)
        end = datetime.now(UTC)
        request = replace(settings.drift, since=start.isoformat(), until=end.isoformat())
        start = end
        try:
            outcome = await anyio.to_thread.run_sync(
                _check, state.store, request, settings.drift_webhook
            )
        except Exception as exc:  # a failed check is logged and counted, the service goes on
            state.metrics.drift_failures += 1
            log.warning("scheduled drift check failed: %s", exc)
            continue
        state.metrics.drift_checks += 1
        if outcome.report.alert:
            state.metrics.drift_alerts += 1
            log.warning("drift alert: %s", "; ".join(outcome.report.reasons))


def _check(store: Store, request: DriftRequest, webhook: str | None) -> DriftOutcome:
    from evallock.drift import post_webhook, run_drift

    outcome = run_drift(request, store)
    if webhook and outcome.report.alert:
        post_webhook(webhook, outcome.report)
    return outcome
