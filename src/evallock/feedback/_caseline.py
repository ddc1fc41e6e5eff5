"""The case line a candidate becomes: a valid golden-set case pinned to its trace as a lock.

::

    {"id": "fb-4bf92f35", "input": "...", "vars": {"plan": "enterprise"},
     "expected": "...", "assert": [...], "keys": {"intent": "refund", ...},
     "source": {"kind": "feedback", "trace_id": "4bf9…", "lock": true, "note": "..."}}

A candidate made from a session (a rating of the whole conversation) becomes a
multi-turn case: its follow-up ``turns``, the ``tool_results`` the session's tools
gave (mocked: the target gets them back when it calls the tool) and the ``tools``
its requests offered, with ``source.session_id``.

Only the task keys (intent, customer_tier, feature, language) are copied: version
keys come from the run, and a case's own keys would override them. ``expected``
alone is graded as the loader's short form (the answer must contain the expected
text, normalised); ``assert`` items are the reviewer's, and with both the line says
``"grader": "rules"`` so that the expected text is checked as well.
"""

from __future__ import annotations

from typing import Any

from evallock.keys import TASK_KEYS
from evallock.records import Candidate

__all__ = ["CASE_KEYS", "case_id_for", "case_line", "default_note", "validate_case_line"]

CASE_KEYS: tuple[str, ...] = TASK_KEYS
"""The shared keys that describe the *task*, copied from a trace to the case it becomes.

Version keys (prompt_version, model_version …) come from the run a case is run in;
a case that carried them would override the run's own (the case's keys win).
"""

_NOTE_CHARS = 300


def case_id_for(candidate: Candidate, taken: set[str]) -> str:
    """``fb-`` and 8 hex digits of the trace id; longer (then numbered) when taken."""
    trace = "".join(ch for ch in candidate.trace_id.lower() if ch.isalnum()) or "case"
    for width in (8, 12, 16, 32):
        ident = f"fb-{trace[:width]}"
        if ident not in taken:
            return ident
    n = 2
    while f"fb-{trace}-{n}" in taken:
        n += 1
    return f"fb-{trace}-{n}"


def default_note(candidate: Candidate) -> str:
    """The lock's note when the reviewer gave none: the signal and the bad answer."""
    versions = ", ".join(
        f"{k}={v}"
        for k, v in candidate.keys.items()
        if k in ("prompt_version", "model_version") and v
    )
    said = " ".join((candidate.output or "").split())
    if len(said) > 120:
        said = said[:119] + "…"
    note = f"{candidate.reason} ({candidate.trace_count} trace(s)"
    note += f", {versions})" if versions else ")"
    if said:
        note += f"; it answered: {said}"
    return note[:_NOTE_CHARS]


def case_line(
    candidate: Candidate,
    case_id: str,
    *,
    expected: str | None = None,
    asserts: tuple[dict[str, Any], ...] | None = None,
    variables: dict[str, Any] | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """The raw case mapping for a candidate (review fields default to the candidate's)."""
    expected = candidate.expected if expected is None else expected
    asserts = candidate.asserts if asserts is None else asserts
    variables = candidate.vars if variables is None else variables
    note = note or candidate.note or default_note(candidate)
    line: dict[str, Any] = {"id": case_id, "input": candidate.input}
    if variables:
        line["vars"] = dict(variables)
    if expected:
        line["expected"] = expected
    if asserts:
        line["assert"] = [dict(item) for item in asserts]
        if expected:
            # with assertions the loader grades only them, unless asked for the short form too
            line["grader"] = "rules"
    conversation = candidate.conversation
    if conversation is not None:
        if conversation.turns:
            line["turns"] = list(conversation.turns)
        if conversation.tools:
            line["tools"] = [dict(tool) for tool in conversation.tools]
        if conversation.tool_results:
            line["tool_results"] = dict(conversation.tool_results)
    keys = {k: candidate.keys[k] for k in CASE_KEYS if candidate.keys.get(k)}
    if keys:
        line["keys"] = keys
    line["source"] = {"kind": "feedback", "trace_id": candidate.trace_id}
    if conversation is not None:
        line["source"]["session_id"] = conversation.session_id
    line["source"].update(lock=True, note=note)
    return line


def validate_case_line(line: dict[str, Any]) -> None:
    """Check a line with the real case loader's schema.

    Raises:
        ValueError: what the loader would say about it.
    """
    from evallock.cases import case_from_raw  # the loader pulls in the graders

    case_from_raw(line, line=1)
