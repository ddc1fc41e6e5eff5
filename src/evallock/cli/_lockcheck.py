"""The promotion check: each new lock runs once against the configured target before it is written.

A lock that cannot run (a template variable the candidate lacks, a target or
judge error) would fail every gate for a reason that is not the bug it guards,
so the promotion is refused, naming the candidate and the error. A lock that
runs and fails is what a lock of a live bug does; one that passes guards a bug
already fixed. Both are written, and said so.

The run goes to a scratch store in a temporary directory: it is a check, not a
run of the service, and never enters the store's history.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from evallock.errors import TargetError, UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from evallock.config import Settings
    from evallock.feedback import LockCheck

__all__ = ["lock_check"]


def lock_check(settings: Settings, console: Console) -> LockCheck:
    """The check for ``candidates promote``: the config's target and judge run each line once.

    Raises (when called):
        UsageError: no target is configured, or a lock errored (nothing is written).
    """
    from evallock.cli._common import judge_from, target_from

    def check(lines: Sequence[dict[str, Any]]) -> None:
        from evallock.evaluation import EvalRequest, run_eval
        from evallock.report import terminal_safe
        from evallock.session import make_target_id
        from evallock.store import open_store

        target = target_from(settings)
        if not (target.base_url or target.python):
            raise UsageError(
                "promote runs each new lock once against the target before writing it, and"
                " the config names no target: configure `target:` (or pass --config), or"
                " promote with --no-check; nothing written"
            )
        judge = judge_from(settings, base_url=None, model=None, api_key_env=None)

        with tempfile.TemporaryDirectory(prefix="evallock-lockcheck-") as scratch:
            cases = Path(scratch) / "locks.jsonl"
            cases.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
            store = open_store(f"sqlite:///{Path(scratch) / 'check.db'}")
            try:
                request = EvalRequest(
                    cases=str(cases), target=target, judge=judge, baseline="none", kind="experiment"
                )
                outcome = run_eval(request, store)
            except TargetError as exc:
                if "prompt template" not in str(exc):
                    raise  # the target is down: exit 3, and nothing written
                raise UsageError(
                    f"a lock must run before it can guard anything; every new lock errored,"
                    f" nothing written: {exc}{_hint(str(exc))}"
                ) from None
            finally:
                store.close()
        results = {result.case_id: result for result in outcome.notable}
        where = make_target_id(target) + (f" with prompt {target.prompt}" if target.prompt else "")
        errors = []
        for line in lines:
            result = results.get(line["id"])
            if result is not None and result.errored:
                errors.append(f"{line['id']}: {result.error}{_hint(result.error or '')}")
            elif result is not None:
                shown = f"  {line['id']}: fails now on {where} (the bug is live)"
                console.print(terminal_safe(shown), markup=False)
            else:
                console.print(terminal_safe(f"  {line['id']}: passes now on {where}"), markup=False)
        if errors:
            raise UsageError(
                "a lock must run before it can guard anything; these errored, nothing"
                " written:\n  " + "\n  ".join(errors)
            )

    return check


def _hint(error: str) -> str:
    if "is undefined" not in error:
        return ""
    name = error.rsplit("'", 2)[-2] if error.count("'") >= 2 else "NAME"
    return (
        f" (the prompt template needs {name!r}: give it with"
        f" `evallock candidates accept ID --var {name}=VALUE`)"
    )
