"""The drift check as JSON: the ``--json`` fields (``window``, ``n_samples``, ``mean_ci`` …).

One shape for the file ``evallock drift --json`` writes, the stored report the
dashboard and ``GET /api/drift`` read, and the webhook's details.
"""

from __future__ import annotations

from typing import Any

from evallock.drift._embedding import EmbeddingDrift
from evallock.drift._inputs import KeyShift
from evallock.drift._report import DriftReport

__all__ = ["drift_report"]


def drift_report(
    report: DriftReport,
    inputs: list[KeyShift] | None = None,
    embedding: EmbeddingDrift | None = None,
) -> dict[str, Any]:
    """The drift check as a JSON-ready dict."""
    return {
        "input_embeddings": None
        if embedding is None
        else {
            "mmd2": embedding.mmd2,
            "p_value": embedding.p_value,
            "permutations": embedding.permutations,
            "n_baseline": embedding.n_baseline,
            "n_current": embedding.n_current,
            "examples": embedding.examples,
        },
        "window": str(report.window),
        "available": report.available,
        "n_samples": report.n_samples,
        "judge_errors": report.judge_errors,
        "trustworthy": report.trustworthy,
        "mean": report.mean,
        "mean_ci": report.mean_ci.to_json(),
        "p10": report.p10,
        "bad_share": report.bad_share,
        "bad_share_ci": report.bad_share_ci.to_json(),
        "baseline_mean": report.baseline.mean,
        "baseline_source": report.baseline.source,
        "delta": report.delta,
        "delta_ci": None if report.delta_ci is None else report.delta_ci.to_json(),
        "alert": report.alert,
        "alpha": report.alpha,
        "rule_alpha": report.rule_alpha,
        "p_value": report.p_value,
        "design_effect": report.design_effect,
        "monitor": None if report.monitor is None else report.monitor.to_json(),
        "score_distribution": None
        if report.score_distribution is None
        else {
            "test": report.score_distribution.method,
            "statistic": report.score_distribution.statistic,
            "df": report.score_distribution.details.get("df"),
            "p_value": report.score_distribution.p_value,
            "cramers_v": report.score_distribution.estimate,
        },
        "reasons": report.reasons,
        "judge_version": report.judge_version,
        "notes": report.notes,
        "slices": [
            {
                "slice": s.label,
                "keys": s.slice.as_dict(),
                "n_samples": s.n_samples,
                "mean": s.mean,
                "mean_ci": None if s.mean_ci is None else s.mean_ci.to_json(),
                "baseline_mean": s.baseline_mean,
                "delta": s.delta,
                "p_value": s.p_value,
                "p_adjusted": s.p_adjusted,
                "alert": s.alert,
                "p10": s.p10,
                "bad_share": s.bad_share,
                "bad_share_ci": None if s.bad_share_ci is None else s.bad_share_ci.to_json(),
            }
            for s in report.slices
        ],
        "detectors": [
            {
                "name": d.name,
                "arl0": d.arl0,
                "limit": d.limit,
                "fired_at": d.fired_at,
                "warmup_batches": d.warmup,
                "arl0_median_with_this_baseline": d.arl0_median,
                "arl0_low_with_this_baseline": d.arl0_low,
                "in_alert": False,
            }
            for d in report.detectors
        ],
        "batches": [
            {
                "start": b.start.isoformat(),
                "n": b.n,
                "mean": b.mean,
                "bad_share": b.bad_share,
                "z": b.z,
                "fired": b.fired,
            }
            for b in report.batches
        ],
        "inputs": [
            {
                "key": k.key,
                "psi": k.psi,
                "chi2": k.chi2,
                "p_value": k.p_value,
                "level": k.level,
                "biggest_change": k.biggest_change,
            }
            for k in inputs or []
        ],
    }
