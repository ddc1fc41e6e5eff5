"""``evallock candidates``: propose cases from feedback, review them, promote them as locks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from evallock.cli._options import ConfigOption, StoreOption

if TYPE_CHECKING:
    from evallock.feedback import SignalKind
    from evallock.store import Store

__all__ = ["candidates_app"]

candidates_app = typer.Typer(
    name="candidates",
    help=(
        "Turn thumbs-downs into eval cases: propose, review (accept/reject), promote as locks.\n\n"
        "Example: evallock candidates propose --golden evals/golden.jsonl && evallock candidates list"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

_SIGNALS = ("thumbs-down", "low-judge-score", "error", "empty-output")
_Actor = Annotated[
    str | None,
    typer.Option(help="Who is acting, for the audit trail (default $EVALLOCK_ACTOR, the OS user)."),
]


def _open(config: Path | None, store: str | None) -> Store:
    from evallock.cli._common import load, open_store_for

    return open_store_for(load(config, store))


@candidates_app.command("propose")
def propose(
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--from",
            help="Signal (repeatable): thumbs-down (default), low-judge-score, error, empty-output.",
        ),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Traces from: ISO 8601 or a duration (7d). Default all.")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Traces until (default now).")] = None,
    golden: Annotated[
        Path | None,
        typer.Option(
            help="Golden set; near-duplicates of its cases are marked (default evals/golden.jsonl if present)."
        ),
    ] = None,
    max_judge_score: Annotated[
        int, typer.Option(min=1, max=5, help="low-judge-score: scores at or below this.")
    ] = 2,
    threshold: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Word-set Jaccard for near-duplicates.")
    ] = 0.8,
    embeddings: Annotated[
        bool, typer.Option("--embeddings", help="Compare embeddings too (the embeddings extra).")
    ] = False,
    actor: _Actor = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> int:
    """Create candidates from signalled traces, merging near-duplicates; safe to run again.

    Example: evallock candidates propose --from thumbs-down --from low-judge-score --since 7d
    """
    from evallock.cases import open_cases
    from evallock.cli._common import out_console
    from evallock.drift import parse_instant
    from evallock.errors import UsageError
    from evallock.feedback import propose_candidates, resolve_actor
    from evallock.report.candidates_terminal import print_proposal

    kinds = list(dict.fromkeys(source or ["thumbs-down"]))
    unknown = [k for k in kinds if k not in _SIGNALS]
    if unknown:
        raise UsageError(f"--from {unknown[0]!r}: expected one of {', '.join(_SIGNALS)}")
    since_at, until_at = _window(since, until, parse_instant)
    golden_path = golden or (
        Path("evals/golden.jsonl") if Path("evals/golden.jsonl").exists() else None
    )
    cases = tuple(open_cases(golden_path)) if golden_path is not None else ()
    embedder = None
    if embeddings:
        from evallock.graders.similarity import (
            EMBEDDINGS_MISSING,
            default_embedder,
            embeddings_available,
        )

        if not embeddings_available():
            raise UsageError(EMBEDDINGS_MISSING.replace("similar", "--embeddings"))
        embedder = default_embedder()
    opened = _open(config, store)
    try:
        plan = propose_candidates(
            opened,
            kinds=cast("list[SignalKind]", kinds),
            since=since_at,
            until=until_at,
            golden=cases,
            max_judge_score=max_judge_score,
            threshold=threshold,
            embedder=embedder,
            actor=resolve_actor(actor),
        )
    finally:
        opened.close()
    print_proposal(plan, out_console())
    return 0


def _window(since: str | None, until: str | None, parse: Any) -> tuple[Any, Any]:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    return (
        parse(since, now=now, flag="--since") if since else None,
        parse(until, now=now, flag="--until") if until else None,
    )


@candidates_app.command("list")
def list_(
    state: Annotated[
        str | None,
        typer.Option(help="pending, accepted, rejected or promoted (default: all)."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many.")] = 50,
    json_out: Annotated[
        str | None, typer.Option("--json", help="Write them as JSON to FILE (- for stdout).")
    ] = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> int:
    """List candidates, the most traces behind them first; user text is escaped.

    Example: evallock candidates list --state pending
    """
    from evallock.cli._common import out_console, write_json
    from evallock.feedback import candidate_to_dict, list_candidates
    from evallock.report.candidates_terminal import print_candidates

    opened = _open(config, store)
    try:
        found = list_candidates(opened, state=state, limit=limit)
    finally:
        opened.close()
    if json_out is not None:
        write_json(json_out, [candidate_to_dict(c) for c in found])
        if json_out == "-":
            return 0
    print_candidates(found, out_console())
    return 0


@candidates_app.command("show")
def show(
    candidate_id: Annotated[str, typer.Argument(help="Candidate id (or a unique prefix).")],
    json_out: Annotated[
        str | None, typer.Option("--json", help="Write it as JSON to FILE (- for stdout).")
    ] = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> int:
    """Show one candidate: trace, keys, input, the bad answer, review and audit trail.

    Example: evallock candidates show 4bf92f35
    """
    from evallock.cli._common import out_console, write_json
    from evallock.feedback import candidate_to_dict, event_to_dict, show_candidate
    from evallock.report.candidates_terminal import print_candidate

    opened = _open(config, store)
    try:
        detail = show_candidate(opened, candidate_id)
    finally:
        opened.close()
    if json_out is not None:
        data = candidate_to_dict(detail.candidate)
        data["events"] = [event_to_dict(e) for e in detail.events]
        write_json(json_out, data)
        if json_out == "-":
            return 0
    print_candidate(detail, out_console())
    return 0


def _parse_asserts(items: list[str]) -> list[dict[str, Any]]:
    import orjson

    from evallock.errors import UsageError

    found: list[dict[str, Any]] = []
    for raw in items:
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise UsageError(f"--assert {raw!r}: not JSON: {exc}") from None
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, dict):
                raise UsageError(
                    f'--assert {raw!r}: expected an object like {{"type": ..., "value": ...}}'
                )
            found.append(item)
    return found


@candidates_app.command("accept")
def accept(
    candidate_id: Annotated[str, typer.Argument(help="Candidate id (or a unique prefix).")],
    expected: Annotated[
        str | None, typer.Option(help="The answer it should give (graded: must contain it).")
    ] = None,
    assert_: Annotated[
        list[str] | None,
        typer.Option(
            "--assert",
            help='Assertion as JSON (repeatable), e.g. {"type": "not-icontains", "value": "30 days"}.',
        ),
    ] = None,
    var: Annotated[
        list[str] | None,
        typer.Option(
            "--var", help="Template variable k=v for the case (repeatable), e.g. plan=enterprise."
        ),
    ] = None,
    note: Annotated[
        str | None, typer.Option(help="The bug the lock guards (default: the signal and answer).")
    ] = None,
    actor: _Actor = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> int:
    """Accept a candidate with the expected answer and/or assertions; promote it afterwards.

    Example: evallock candidates accept 4bf92f35 --expected "refunded within 5 business days" --assert '{"type": "not-icontains", "value": "30 days"}' --var plan=enterprise
    """
    from evallock.cli._common import out_console
    from evallock.errors import UsageError
    from evallock.feedback import accept_candidate, resolve_actor
    from evallock.report.terminal import safe_text

    variables: dict[str, str] | None = None
    if var:
        variables = {}
        for item in var:
            name, sep, value = item.partition("=")
            if not sep or not name.strip():
                raise UsageError(f"--var {item!r}: expected name=value")
            variables[name.strip()] = value
    opened = _open(config, store)
    try:
        done = accept_candidate(
            opened,
            candidate_id,
            expected=expected,
            asserts=_parse_asserts(assert_ or []),
            variables=variables,
            note=note,
            actor=resolve_actor(actor),
        )
    finally:
        opened.close()
    out_console().print(
        safe_text(
            f"accepted {done.candidate_id}; promote it with: evallock candidates promote --to FILE",
            200,
        )
    )
    return 0


@candidates_app.command("reject")
def reject(
    candidate_id: Annotated[str, typer.Argument(help="Candidate id (or a unique prefix).")],
    reason: Annotated[str, typer.Option(help="Why it is not a case (kept in the audit trail).")],
    actor: _Actor = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> int:
    """Reject a candidate with a reason; its repeats keep merging into it.

    Example: evallock candidates reject 9c01d2e4 --reason "user error, the answer was right"
    """
    from evallock.cli._common import out_console
    from evallock.feedback import reject_candidate, resolve_actor
    from evallock.report.terminal import safe_text

    opened = _open(config, store)
    try:
        done = reject_candidate(opened, candidate_id, reason=reason, actor=resolve_actor(actor))
    finally:
        opened.close()
    out_console().print(safe_text(f"rejected {done.candidate_id}", 200))
    return 0


@candidates_app.command("promote")
def promote(
    to: Annotated[Path, typer.Option("--to", help="The JSONL case file to append to.")] = Path(
        "evals/golden.jsonl"
    ),
    candidate: Annotated[
        list[str] | None,
        typer.Option("--id", help="Promote only these accepted candidates (repeatable)."),
    ] = None,
    no_check: Annotated[
        bool,
        typer.Option(
            "--no-check",
            help="Write without running each lock once against the config's target first.",
        ),
    ] = False,
    actor: _Actor = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> int:
    """Append accepted candidates to the golden set as lock cases; print the new dataset_id.

    Each new lock first runs once against the target of evallock.yaml (its prompt
    template, its judge): one that errors (say a template variable the candidate
    lacks: give it with `accept ID --var name=value`) is refused and nothing is
    written; one that fails now is a live bug, one that passes a fixed one.
    Existing lines are never rewritten; promoting again is a no-op.

    Example: evallock candidates promote --to evals/golden.jsonl
    """
    from evallock.cli._common import load, open_store_for, out_console
    from evallock.cli._lockcheck import lock_check
    from evallock.feedback import promote_candidates, resolve_actor
    from evallock.report.candidates_terminal import print_promotion

    console = out_console()
    settings = load(config, store)
    check = None if no_check else lock_check(settings, console)
    opened = open_store_for(settings)
    try:
        result = promote_candidates(
            opened, to, actor=resolve_actor(actor), candidate_ids=candidate or None, check=check
        )
    finally:
        opened.close()
    print_promotion(result, console)
    return 0
