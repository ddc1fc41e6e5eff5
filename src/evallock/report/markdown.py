"""The Markdown summary for a pull request or ``$GITHUB_STEP_SUMMARY``: verdict first."""

from __future__ import annotations

from evallock.evaluation import EvalOutcome

__all__ = ["escape_cell", "markdown_summary"]

_MAX_ROWS = 50
_MAX_CELL = 160


def escape_cell(text: str | None) -> str:
    """Table-safe text: no pipes or newlines, no HTML, bounded length."""
    if not text:
        return ""
    flat = " ".join(text.split())
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    flat = flat.replace("|", "\\|").replace("`", "'")
    return flat if len(flat) <= _MAX_CELL else flat[: _MAX_CELL - 1] + "…"


def _linked(text: str, url: str | None) -> str:
    """`text`, as a link to ``url`` when there is one."""
    return f"[`{escape_cell(text)}`]({url})" if url else f"`{escape_cell(text)}`"


def markdown_summary(outcome: EvalOutcome, *, dashboard_url: str | None = None) -> str:
    """A GitHub-flavoured summary, kept far below the 1 MiB step-summary cap.

    With ``dashboard_url`` (``evallock serve``'s root), the run and each failed lock's
    trace link to their pages there.
    """
    root = (dashboard_url or "").rstrip("/")
    gate = outcome.gate
    results = {r.case_id: r for r in outcome.notable}
    icon = "✅ pass" if gate.verdict == "pass" else "❌ fail"
    lines = [f"## evallock: {escape_cell(outcome.dataset.dataset_id)} — {icon}", ""]
    for reason in gate.reasons:
        lines.append(f"- **{escape_cell(reason)}**")
    for warning in gate.warnings:
        lines.append(f"- ⚠️ {escape_cell(warning)}")
    if gate.reasons or gate.warnings:
        lines.append("")
    lo, hi = gate.pass_rate_ci.lo, gate.pass_rate_ci.hi
    lines += [
        "| metric | value |",
        "|---|---|",
        f"| pass rate | {gate.pass_rate:.1%} ({gate.passed}/{gate.n}), "
        f"95% CI [{lo:.1%}, {hi:.1%}] |",
        f"| failed / errored | {gate.failed} / {gate.errored} |",
        f"| locks failed | {len(gate.locks_failed)} |",
        f"| locks errored | {len(gate.locks_errored)} |",
        f"| new failures | {len(gate.new_failures)}"
        + (f" vs `{gate.baseline_run_id}`" if gate.baseline_run_id else " (no baseline)")
        + " |",
        f"| flaky | {len(gate.flaky)} |",
        f"| judge errors | {outcome.stats.judge_errors} |",
        f"| run | {_linked(outcome.run.run_id, root and f'{root}/runs/{outcome.run.run_id}')} |",
        "",
    ]
    sections = [
        ("Locks failed (a fixed bug came back)", gate.locks_failed),
        ("Locks errored (not checked)", gate.locks_errored),
        ("New failures", gate.new_failures),
        ("Flaky", gate.flaky),
        ("Errored", gate.errored_ids),
    ]
    for title, ids in sections:
        if not ids:
            continue
        lines += [f"### {title}", "", "| case | reason |", "|---|---|"]
        for case_id in ids[:_MAX_ROWS]:
            result = results.get(case_id)
            reason = result.error or result.reason if result else ""
            if result is not None and result.tool_calls and not result.error:
                reason += " · called " + result.trajectory
            source = result.source if result and case_id in gate.locks_failed else None
            link = ""
            if source is not None and (source.trace_id or source.note):
                # the lock's provenance first: the cell is cut at 160 characters
                reason = f"trace {source.trace_id or '?'}: {source.note or ''} · {reason}"
                if source.session_id:
                    reason = f"session {source.session_id}, {reason}"
                if root and source.trace_id:
                    link = f" ([trace]({root}/traces/{escape_cell(source.trace_id)}))"
            lines.append(f"| `{escape_cell(case_id)}`{link} | {escape_cell(reason)} |")
        if len(ids) > _MAX_ROWS:
            lines.append(f"| … | {len(ids) - _MAX_ROWS} more |")
        lines.append("")
    listed = set(gate.locks_failed) | set(gate.new_failures) | set(gate.errored_ids)
    others = [r for r in outcome.notable if not r.passed and r.case_id not in listed]
    if others:
        lines += [
            "<details><summary>Other failing cases</summary>",
            "",
            "| case | reason |",
            "|---|---|",
        ]
        for r in others[:_MAX_ROWS]:
            lines.append(f"| `{escape_cell(r.case_id)}` | {escape_cell(r.reason)} |")
        lines += ["", "</details>", ""]
    return "\n".join(lines)
