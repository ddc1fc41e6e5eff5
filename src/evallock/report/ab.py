"""Reports of an A/B comparison: JSON (DESIGN §4), Markdown for a PR comment, terminal."""

from __future__ import annotations

import math
from typing import Any

from evallock.ab import ABOutcome, PairedAnalysis
from evallock.report.markdown import escape_cell

__all__ = ["ab_markdown", "ab_report"]


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isinf(value) or math.isnan(value) else value


def _analysis(analysis: PairedAnalysis) -> dict[str, Any]:
    out: dict[str, Any] = {
        "n_pairs": analysis.n_pairs,
        "metric": analysis.metric,
        "delta": analysis.delta,
        "ci": analysis.ci.to_json(),
        "lower_bound": analysis.lower,
        "upper_bound": analysis.upper,
        "p_value": analysis.p_value,
        "test": analysis.test,
        "verdict": analysis.verdict,
        "note": analysis.note,
        "details": analysis.details,
    }
    for side in ("a", "b"):
        arm = getattr(analysis, side)
        out[side] = None if arm is None else {"mean": arm.mean, "ci": arm.ci.to_json()}
    return out


def ab_report(outcome: ABOutcome) -> dict[str, Any]:
    """The comparison as a JSON-ready dict (every field of DESIGN §4 and more)."""
    overall = outcome.overall
    report = {
        "comparison_id": outcome.comparison_id,
        "dataset_id": outcome.dataset.dataset_id,
        "run_a": outcome.run_a.run_id,
        "run_b": outcome.run_b.run_id,
        "keys_a": outcome.run_a.keys,
        "keys_b": outcome.run_b.keys,
        **_analysis(overall),
        "alpha": outcome.alpha,
        "min_effect": outcome.min_effect,
        "power": None
        if overall.power is None
        else {
            "mde": _finite(overall.power.mde),
            "planning_effect": overall.power.planning_effect,
            "n_needed": overall.power.n_needed,
            "underpowered": overall.power.underpowered,
            "basis": overall.power.basis,
        },
        "trials": None
        if overall.noise is None
        else {
            "k": overall.noise.trials,
            "between_var": overall.noise.between_var,
            "within_var": overall.noise.within_var,
            "within_share": overall.noise.within_share,
        },
        "flaky": outcome.flaky,
        "unpaired": outcome.unpaired,
        "judge_errors": outcome.judge_errors,
        "consistency": outcome.consistency,
        "warnings": outcome.warnings,
        "slices": [
            {
                "slice": s.label,
                "keys": s.slice.as_dict(),
                "by": list(s.slice.keys),
                "n_pairs": s.n_pairs,
                "delta": s.analysis.delta if s.analysis else None,
                "ci": s.analysis.ci.to_json() if s.analysis else None,
                "p_value": s.analysis.p_value if s.analysis else None,
                "p_adjusted": s.p_holm,
                "p_holm": s.p_holm,
                "p_bh": s.p_bh,
                "verdict": s.verdict,
                "a": None if not s.analysis or not s.analysis.a else {"mean": s.analysis.a.mean},
                "b": None if not s.analysis or not s.analysis.b else {"mean": s.analysis.b.mean},
            }
            for s in outcome.slices
        ],
    }
    return report


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def ab_markdown(outcome: ABOutcome) -> str:
    """A Markdown summary for a pull request comment: verdict first."""
    o = outcome.overall
    lines = [
        f"## evallock ab: {escape_cell(outcome.dataset.dataset_id)} — **{o.verdict}**",
        "",
    ]
    if o.note:
        lines += [f"_{escape_cell(o.note)}_", ""]
    lines += [
        f"Δ = B − A = {o.delta:+.3f}, {1 - outcome.alpha:.0%} CI [{o.ci.lo:+.3f}, {o.ci.hi:+.3f}],"
        f" p = {o.p_value:.3g} ({escape_cell(o.test)}); n = {o.n_pairs} pairs, floor"
        f" {outcome.min_effect:g}, metric {o.metric}.",
        "",
        "| slice | n | A | B | Δ [CI] | p (Holm / BH) | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    a = f"{o.a.mean:.3f}" if o.a else "—"
    b = f"{o.b.mean:.3f}" if o.b else "—"
    lines.append(
        f"| all | {o.n_pairs} | {a} | {b} | {o.delta:+.3f} [{o.ci.lo:+.3f}, {o.ci.hi:+.3f}]"
        f" | {o.p_value:.3g} | {o.verdict} |"
    )
    for s in outcome.slices:
        an = s.analysis
        if an is None:
            lines.append(f"| {escape_cell(s.label)} | {s.n_pairs} | | | | | {s.verdict} |")
            continue
        lines.append(
            f"| {escape_cell(s.label)} | {s.n_pairs} | {_pct(an.a.mean if an.a else None)}"
            f" | {_pct(an.b.mean if an.b else None)} | {an.delta:+.3f} [{an.ci.lo:+.3f},"
            f" {an.ci.hi:+.3f}] | {_pct(s.p_holm)} / {_pct(s.p_bh)} | {s.verdict} |"
        )
    lines.append("")
    power = o.power
    if power is not None:
        mde = _finite(power.mde)
        detects = (
            f"detects Δ ≥ {mde:.3f} with 80 % power"
            if mde is not None
            else "at this many pairs no true effect clears the floor with 80 % power"
        )
        needed = (
            f"; {power.n_needed} pairs for an effect of {power.planning_effect:.3f}"
            if power.n_needed is not None
            else ""
        )
        flag = "underpowered: " if power.underpowered else ""
        lines.append(f"- power: {flag}{detects}{needed}")
    for warning in outcome.warnings:
        lines.append(f"- ⚠ {escape_cell(warning)}")
    if outcome.flaky:
        lines.append(f"- flaky cases: {escape_cell(', '.join(outcome.flaky[:20]))}")
    if outcome.consistency is not None:
        lines.append(f"- pairwise judge consistency: {outcome.consistency:.0%}")
    return "\n".join(lines) + "\n"
