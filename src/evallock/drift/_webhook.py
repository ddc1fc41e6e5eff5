"""Alerts out: a Slack-compatible webhook body with the figures and the worst slices."""

from __future__ import annotations

from typing import Any

from evallock.drift._report import DriftReport
from evallock.errors import InfraError

__all__ = ["post_webhook", "webhook_body"]


def webhook_body(report: DriftReport) -> dict[str, Any]:
    """``{"text": …, "blocks": […]}``: Slack renders the blocks; others read ``text``."""
    status = "ALERT: quality drift" if report.alert else "no drift"
    head = (
        f"evallock drift {report.window}: {status} — mean {report.mean:.2f} "
        f"[{report.mean_ci.lo:.2f}, {report.mean_ci.hi:.2f}] vs baseline "
        f"{report.baseline.mean:.2f} (Δ {report.delta:+.2f}), bad share {report.bad_share:.0%}, "
        f"n={report.n_samples}, judge {report.judge_version}"
    )
    worst = sorted((s for s in report.slices if s.delta is not None), key=lambda s: s.delta or 0)[
        :5
    ]
    lines = [
        f"• {s.label}: {s.mean:.2f} vs {s.baseline_mean:.2f} (Δ {s.delta:+.2f})" for s in worst
    ]
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": head}}]
    if report.reasons:
        reasons = "\n".join(f"• {r}" for r in report.reasons)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": reasons}})
    if lines:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}})
    return {"text": head, "blocks": blocks}


def post_webhook(url: str, report: DriftReport, *, timeout: float = 10.0) -> None:
    """POST the body; a failure is an infrastructure error (exit 3).

    Raises:
        InfraError: the webhook did not answer 2xx.
    """
    import httpx

    try:
        response = httpx.post(url, json=webhook_body(report), timeout=timeout)
    except httpx.HTTPError as exc:
        raise InfraError(f"webhook {url}: {exc}") from None
    if response.status_code >= 300:
        raise InfraError(f"webhook {url}: HTTP {response.status_code}")
