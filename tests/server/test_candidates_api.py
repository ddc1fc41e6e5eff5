"""The review API: list and show with a read key; accept and reject need admin; an audit trail."""

from __future__ import annotations

from datetime import UTC, datetime

from evallock.feedback import propose_candidates
from evallock.records import Feedback, Trace

HOSTILE = "<script>alert(1)</script> My enterprise contract was charged twice!"


def seed(store) -> None:
    now = datetime.now(UTC)
    store.traces.add(
        [
            Trace(
                trace_id=f"{i:032x}",
                timestamp=now,
                input=f"{HOSTILE} ({q})",
                output="Refunds take 30 days.",
                keys={"customer_tier": "enterprise", "intent": "refund"},
                source="import",
            )
            for i, q in ((1, "first"), (2, "totally different question about invoices and seats"))
        ]
    )
    store.feedback.add(
        [
            Feedback(
                feedback_id=f"f{i}",
                trace_id=f"{i:032x}",
                rating="down",
                score=0.0,
                name="user_feedback",
            )
            for i in (1, 2)
        ]
    )
    propose_candidates(store, actor="test")


def test_review_through_the_api(app_server, store, api_keys) -> None:
    seed(store)
    read = {"Authorization": f"Bearer {api_keys['read']}"}
    admin = {"Authorization": f"Bearer {api_keys['admin']}"}
    with app_server.client() as client:
        listed = client.get("/api/candidates", headers=read)
        assert listed.status_code == 200
        candidates = listed.json()["candidates"]
        assert len(candidates) == 2 and all(c["state"] == "pending" for c in candidates)
        assert HOSTILE in candidates[0]["input"]  # stored and returned as data, byte for byte
        assert listed.headers["content-type"].startswith("application/json")
        first, second = (c["candidate_id"] for c in candidates)

        body = {
            "expected": "Duplicate charges on enterprise contracts are refunded within 5 business days.",
            "vars": {"plan": "enterprise"},
        }
        assert (
            client.post(f"/api/candidates/{first}/accept", json=body, headers=read).status_code
            == 403
        )
        assert client.post(f"/api/candidates/{first}/accept", json=body).status_code == 401
        accepted = client.post(f"/api/candidates/{first}/accept", json=body, headers=admin)
        assert accepted.status_code == 200 and accepted.json()["state"] == "accepted"
        unknown = client.get("/api/candidates", params={"state": "bogus"}, headers=read)
        assert unknown.status_code == 400 and "bogus" in unknown.text
        rejected = client.post(
            f"/api/candidates/{second}/reject", json={"reason": "not a bug"}, headers=admin
        )
        assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
        bad = client.post(f"/api/candidates/{second}/reject", json={"why": "x"}, headers=admin)
        assert bad.status_code in (400, 422) and "reason" in bad.text
        assert client.get("/api/candidates/ffffffffff", headers=read).status_code == 404

        shown = client.get(f"/api/candidates/{first}", headers=read).json()
        actions = [e["action"] for e in shown["events"]]
        assert actions[0] in {"propose", "proposed"} and actions[-1] in {"accept", "accepted"}
        assert shown["events"][-1]["actor"].startswith("key:")
        pending = client.get("/api/candidates", params={"state": "pending"}, headers=read).json()
        assert pending["candidates"] == []
