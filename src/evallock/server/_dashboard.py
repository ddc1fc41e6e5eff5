"""The dashboard, ``GET /``: eval runs over time, drift, A/B results, slices, the review queue;
live traces, ``GET /traces``: filtered by time, keys, text, error, rating and judge score,
a page at a time; and one trace, ``GET /traces/{id}``: its messages, answer, tool calls,
keys, feedback and judge scores.

Server-rendered HTML with no script at all, under a Content-Security-Policy that
allows none: trace and case text is hostile, so it is escaped by the template
(Jinja2 autoescape) and could not run even if it were not.

A browser signs in once at ``/login`` with a key of scope ``read`` (or
``admin``); the service starts a session (``_sessions.py``) and the browser keeps
only its random token, in an HttpOnly, SameSite=Strict cookie that the service
honours for reading only (see ``_auth.py``). ``POST /logout`` ends the session
on the server as well as in the browser. Sessions are kept in memory, so they
end when the service restarts: sign in again. Under ``--no-auth`` the page is
open, as every route is.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

import anyio.to_thread
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from evallock.errors import UsageError
from evallock.limits import MAX_ID
from evallock.server._api import read_trace
from evallock.server._apikeys import hash_api_key, looks_like_api_key, scope_allows
from evallock.server._auth import SESSION_COOKIE, Caller, require, session_csrf
from evallock.server._bodylimit import FORM_LIMIT
from evallock.server._errors import ApiError
from evallock.server._panels import gather
from evallock.server._query import TraceQuery, parse_time, trace_position
from evallock.server._sessions import SESSION_TTL_S
from evallock.server._state import server_state
from evallock.store import TraceSearch

__all__ = ["is_signed_in", "reader", "render_page", "router", "session_href"]

router = APIRouter(include_in_schema=False)

_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@cache
def _templates() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("evallock.server", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _templates().get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


@router.get("/", response_class=HTMLResponse)
async def dashboard(request: Request) -> Response:
    """The dashboard, or the sign-in page for a browser without a key."""
    state = server_state(request)
    caller, refused = await reader(request)
    if refused is not None:
        return refused
    data = await anyio.to_thread.run_sync(gather, state.store)
    return render_page(
        "dashboard.html",
        data=data,
        store=state.store.url,
        signed_in=is_signed_in(caller),
    )


def session_href(session_id: str) -> str:
    """A session page's path (the id percent-encoded, slashes too)."""
    return "/sessions/" + quote(session_id, safe="")


def is_signed_in(caller: Caller | None) -> bool:
    return caller is not None and caller.key_id is not None


async def reader(request: Request) -> tuple[Caller | None, Response | None]:
    """``(caller, None)`` when the caller may read; else ``(None, the answer)``: sign in
    (303) or the refusal."""
    try:
        return await require("read")(request, None), None
    except ApiError as exc:
        if exc.status == 401:
            return None, RedirectResponse("/login", status_code=303, headers=_HEADERS)
        return None, render_page("login.html", status=exc.status, error=exc.message)


TRACES_PER_PAGE = 50
"""Traces on one page of ``GET /traces``."""


@router.get("/traces", response_class=HTMLResponse)
async def traces_page(request: Request) -> Response:
    """Live traces, newest first, filtered by time, keys, text, error, rating and judge
    score; one page at a time (keyset: ``cursor`` continues where the page ended)."""
    state = server_state(request)
    caller, refused = await reader(request)
    if refused is not None:
        return refused
    form = _TraceForm.read(request.query_params)
    shown: dict[str, Any] = {"form": form, "signed_in": is_signed_in(caller)}
    try:
        query = form.query(TRACES_PER_PAGE)
    except ValueError as exc:
        return render_page(
            "traces.html", status=400, page=None, total=None, error=str(exc), **shown
        )

    def read() -> tuple[Any, int]:
        return query.page(state.store), query.count(state.store)

    try:
        page, total = await anyio.to_thread.run_sync(read)
    except ValueError as exc:  # a key name or text past its limit
        return render_page(
            "traces.html", status=400, page=None, total=None, error=str(exc), **shown
        )
    return render_page("traces.html", page=page, total=total, error=None, **shown)


@dataclass(frozen=True, slots=True)
class _TraceForm:
    """The traces page's filters, as the form sent them (shown back in the form)."""

    since: str
    until: str
    keys: str
    q: str
    error: str
    rating: str
    max_judge_score: str
    cursor: str

    @classmethod
    def read(cls, params: Any) -> _TraceForm:
        def get(name: str, default: str = "") -> str:
            return str(params.get(name, default))[:_FIELD_MAX].strip()

        return cls(
            since=get("since", "7d"),
            until=get("until"),
            keys=get("keys"),
            q=get("q"),
            error=get("error"),
            rating=get("rating"),
            max_judge_score=get("max_judge_score"),
            cursor=get("cursor"),
        )

    def query(self, limit: int) -> TraceQuery:
        """The store query these filters make.

        Raises:
            ValueError: a filter that means nothing (its name first).
        """
        keys = _key_pairs(self.keys)
        if self.error not in ("", "yes", "no"):
            raise ValueError(f"error: {self.error!r}: expected yes or no")
        if self.rating not in ("", "up", "down"):
            raise ValueError(f"rating: {self.rating!r}: expected up or down")
        score = None
        if self.max_judge_score:
            if self.max_judge_score not in ("1", "2", "3", "4", "5"):
                raise ValueError(f"max_judge_score: {self.max_judge_score!r}: expected 1 to 5")
            score = int(self.max_judge_score)
        return TraceQuery(
            since=_when("since", self.since),
            until=_when("until", self.until),
            keys=keys,
            limit=limit,
            after=trace_position(self.cursor, newest_first=True) if self.cursor else None,
            search=TraceSearch(
                text=self.q or None,
                failed={"yes": True, "no": False}.get(self.error),
                rating=self.rating or None,
                max_judge_score=score,
            ),
        )

    def link(self, **changes: str) -> str:
        """This page's URL with ``changes`` (the next page: ``cursor=…``)."""
        fields = {name: getattr(self, name) for name in self.__slots__}
        fields.update(changes)
        return "/traces?" + urlencode({k: v for k, v in fields.items() if v})


_FIELD_MAX = 1024


def _when(name: str, value: str) -> Any:
    if not value:
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


@router.get("/traces/{trace_id}", response_class=HTMLResponse)
async def trace_page(request: Request, trace_id: str) -> Response:
    """One trace: messages, answer, timing, keys and template vars, feedback, judge scores."""
    from evallock.traces import normalise_trace_id

    state = server_state(request)
    caller, refused = await reader(request)
    if refused is not None:
        return refused
    signed_in = is_signed_in(caller)
    try:
        wanted = normalise_trace_id(trace_id)
    except ValueError as exc:
        return render_page(
            "trace.html",
            status=400,
            trace=None,
            error=str(exc),
            wanted=trace_id[:64],
            signed_in=signed_in,
        )
    trace, feedback, judged, online = await read_trace(state.store, wanted)
    if trace is None:
        return render_page(
            "trace.html",
            status=404,
            trace=None,
            error="no such trace",
            wanted=wanted,
            signed_in=signed_in,
        )
    admin = caller is not None and caller.scope == "admin"
    session = trace.session_id
    return render_page(
        "trace.html",
        trace=trace,
        session_href=session_href(session) if session else None,
        feedback=feedback,
        judged=judged,
        online=online,
        error=None,
        signed_in=signed_in,
        csrf=session_csrf(request) if admin else "",
        admin=admin,
    )


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> Response:
    """The sign-in form."""
    return render_page("login.html", error=None)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    """Check the key from the form; on success start a session and go to ``/``."""
    state = server_state(request)
    body = await request.body()
    if len(body) > FORM_LIMIT:  # the body-limit middleware stops larger forms first
        return render_page("login.html", status=413, error="the form is too large")
    fields = parse_qs(body.decode("utf-8", errors="replace"))
    key = (fields.get("key") or [""])[0].strip()
    if not looks_like_api_key(key):
        return render_page("login.html", status=400, error="that is not an evallock key (evl_…)")
    found = await state.keys.lookup(key)
    if found is None:
        return render_page("login.html", status=401, error="unknown or revoked key")
    if not scope_allows(found[1], "read"):
        return render_page(
            "login.html",
            status=403,
            error=f"this key's scope is {found[1]!r}; the dashboard needs 'read' or 'admin'",
        )
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        state.sessions.end(old)
    token = state.sessions.create(key_id=found[0], key_digest=hash_api_key(key))
    response = RedirectResponse("/", status_code=303, headers=_HEADERS)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_TTL_S,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session, on the server and in the browser."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        server_state(request).sessions.end(token)
    response = RedirectResponse("/login", status_code=303, headers=_HEADERS)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/runs/{run_id}", response_class=HTMLResponse)
async def run_page(request: Request, run_id: str) -> Response:
    """One run: its verdict and why, and its cases (filter by kind and keys), each beside
    the baseline run's answer for the same case."""
    from evallock.server._run_view import STATUSES, run_view

    state = server_state(request)
    caller, refused = await reader(request)
    if refused is not None:
        return refused
    params = request.query_params
    status = str(params.get("status", ""))[:_FIELD_MAX]
    keys_text = str(params.get("keys", ""))[:_FIELD_MAX].strip()
    shown: dict[str, Any] = {
        "signed_in": is_signed_in(caller),
        "wanted": run_id[:64],
        "kind": status,
        "keys": keys_text,
        "statuses": STATUSES,
    }
    try:
        if status and status not in STATUSES:
            raise ValueError(f"status: {status[:40]!r}: expected one of {', '.join(STATUSES)}")
        keys = _key_pairs(keys_text)
    except ValueError as exc:
        return render_page("run.html", status=400, view=None, error=str(exc), **shown)
    view = await anyio.to_thread.run_sync(
        lambda: run_view(state.store, run_id, status=status, keys=keys)
    )
    if view is None:
        return render_page("run.html", status=404, view=None, error="no such run", **shown)
    return render_page("run.html", view=view, error=None, **shown)


def _key_pairs(text: str) -> dict[str, str]:
    """``name=value`` pairs separated by spaces.

    Raises:
        ValueError: a pair without ``=``.
    """
    keys: dict[str, str] = {}
    for pair in text.split():
        name, sep, value = pair.partition("=")
        if not sep or not name or not value:
            raise ValueError(f"keys: {pair!r} is not name=value")
        keys[name] = value
    return keys


@router.get("/drift", response_class=HTMLResponse)
async def drift_page(request: Request) -> Response:
    """Judge scores on live traffic over the stored drift checks, overall and per slice."""
    from evallock.server._drift_view import METRICS, drift_view

    state = server_state(request)
    caller, refused = await reader(request)
    if refused is not None:
        return refused
    metric = str(request.query_params.get("metric", "mean"))
    if metric not in METRICS:
        metric = "mean"  # an unknown figure: the default one, not an error page
    settings = state.settings
    rules = state.online.current_rules if state.online is not None else None

    def build() -> Any:
        chosen = rules() if rules is not None else list(settings.evaluators)
        return drift_view(state.store, metric, chosen, settings.calibration)

    view = await anyio.to_thread.run_sync(build)
    return render_page("drift.html", view=view, signed_in=is_signed_in(caller))


@router.get("/drift/{report_id}", response_class=HTMLResponse)
async def drift_report_page(request: Request, report_id: str) -> Response:
    """One drift check: its figures, slices, detectors and the traces it judged."""
    from evallock.server._drift_view import report_page

    state = server_state(request)
    caller, refused = await reader(request)
    if refused is not None:
        return refused
    raw = str(request.query_params.get("max_score", ""))
    shown: dict[str, Any] = {"signed_in": is_signed_in(caller), "wanted": report_id[:64]}
    if raw not in ("", "1", "2", "3", "4", "5"):
        return render_page(
            "drift_report.html",
            status=400,
            found=None,
            error=f"max_score: {raw[:40]!r}: expected 1 to 5",
            max_score="",
            **shown,
        )
    found = await anyio.to_thread.run_sync(
        lambda: report_page(state.store, report_id[:MAX_ID], max_score=int(raw) if raw else None)
    )
    if found is None:
        missing = "no such drift check"
        return render_page(
            "drift_report.html", status=404, found=None, error=missing, max_score=raw, **shown
        )
    return render_page("drift_report.html", found=found, error=None, max_score=raw, **shown)


COMPARE_BY = "prompt_version,customer_tier"
"""The slices ``GET /compare`` cuts by unless told (``?by=``)."""


@router.get("/compare", response_class=HTMLResponse)
async def compare_page(request: Request) -> Response:
    """Offline ⋈ online per slice (``evallock compare``): each slice's offline score beside
    its live outcome, the change since the version before, and the conflicts flagged."""
    from evallock.analysis import join_offline_online

    state = server_state(request)
    caller, refused = await reader(request)
    if refused is not None:
        return refused
    params = request.query_params
    by = str(params.get("by", COMPARE_BY))[:_FIELD_MAX].strip() or COMPARE_BY
    since = str(params.get("since", "7d"))[:_FIELD_MAX].strip()
    shown: dict[str, Any] = {"signed_in": is_signed_in(caller), "by": by, "since": since}
    try:
        keys = [k.strip() for k in by.split(",") if k.strip()]
        if len(keys) > 4:
            raise ValueError("by: at most 4 keys")
        # key names are checked where they are used (join_offline_online: UsageError)
        window_start = _when("since", since)
        joined = await anyio.to_thread.run_sync(
            lambda: join_offline_online(state.store, by=keys, since=window_start)
        )
    except (ValueError, UsageError) as exc:
        return render_page(
            "compare.html", status=400, joined=None, coverage=[], error=str(exc), **shown
        )
    coverage = await anyio.to_thread.run_sync(
        lambda: _coverage(state.store, state.settings.case_files, window_start)
    )
    return render_page("compare.html", joined=joined, coverage=coverage, error=None, **shown)


def _coverage(store: Any, files: tuple[str, ...], since: Any) -> list[tuple[str, Any, str]]:
    """``evallock coverage`` of each case file ``serve --cases`` names: (name, report, error)."""
    from evallock.analysis import coverage_report
    from evallock.cases import open_cases
    from evallock.errors import CaseFileError

    found: list[tuple[str, Any, str]] = []
    for path in files:
        name = Path(path).name
        try:
            dataset = open_cases(path)
            report = coverage_report(
                store, list(dataset), dataset_id=dataset.dataset_id, since=since
            )
        except (CaseFileError, UsageError) as exc:
            # the file's name only: a reader of the page need not see the server's paths
            problem = str(exc).splitlines()[0].replace(str(Path(path)), name)
            found.append((name, None, problem[:300]))
            continue
        found.append((name, report, ""))
    return found


@router.get("/ab/{comparison_id}", response_class=HTMLResponse)
async def ab_page(request: Request, comparison_id: str) -> Response:
    """One A/B comparison: its test, delta and interval against the floor, power, verdict,
    slices with adjusted p-values, and the paired cases the arms decided differently."""
    from evallock.server._run_view import disagreements

    state = server_state(request)
    caller, refused = await reader(request)
    if refused is not None:
        return refused
    shown: dict[str, Any] = {"signed_in": is_signed_in(caller), "wanted": comparison_id[:64]}

    def read() -> tuple[Any, Any]:
        stored = state.store.reports.comparison(comparison_id[:MAX_ID])
        if stored is None:
            return None, []
        return stored, disagreements(state.store, stored.run_a, stored.run_b)

    stored, disagree = await anyio.to_thread.run_sync(read)
    if stored is None:
        return render_page("ab.html", status=404, ab=None, error="no such comparison", **shown)
    return render_page("ab.html", ab=stored, pairs=disagree, error=None, **shown)
