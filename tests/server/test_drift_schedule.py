"""``serve --drift-every``: a scheduled check stores its report; GET /api/drift lists it."""

from __future__ import annotations

from datetime import UTC, datetime

from evallock.drift import DriftRequest
from evallock.evaluation import JudgeSpec
from evallock.records import Trace

from .conftest import wait_for

GOOD = "Duplicate charges are refunded automatically within 5 business days."
BAD = "Enterprise contract refunds take 30 days."


def test_scheduled_drift_check_is_stored_and_listed(
    app_factory, store, api_keys, fake_service
) -> None:
    check = DriftRequest(
        sample=40,
        baseline=4.8,
        judge=JudgeSpec(base_url=fake_service.base_url, model="judge"),
    )
    server = app_factory(drift_every_s=1.5, drift=check)
    # Each check covers the 1.5 s just ended: traces written now fall in the next one.
    now = datetime.now(UTC)
    store.traces.add(
        [
            Trace(
                trace_id=f"{i:032x}",
                timestamp=now,
                input="I was charged twice, refund?",
                output=BAD if i % 2 else GOOD,
                keys={"customer_tier": "enterprise" if i % 2 else "consumer"},
                source="import",
            )
            for i in range(1, 41)
        ]
    )
    with server.client(api_keys["read"]) as client:
        reports = wait_for(lambda: client.get("/api/drift").json()["reports"], timeout=20)
        report = reports[0]
        assert report["alert"] is True and report["judge_version"].startswith("judge@")
        assert report["n_samples"] > 0
        stats = client.get("/api/stats").json()
        assert stats["drift_checks"] >= 1 and stats["drift_alerts"] >= 1
        assert client.get("/api/comparisons").json() == {"comparisons": []}
        denied = server.get("/api/drift", headers={"Authorization": f"Bearer {api_keys['ingest']}"})
        assert denied.status_code == 403
