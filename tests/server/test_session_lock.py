"""A session from live traffic becomes a lock that the gate runs (issue 18's "done when").

An agent talks to the bundled model through the recording proxy with the official
``openai`` SDK: two user turns, each answered by a tool call, the app's tool result
and the model's answer; the session id travels as a key header. The user rates the
whole session down. ``candidates propose`` makes one multi-turn candidate of it
(first turn, follow-up, the tools' results and definitions), a reviewer accepts it
with what the agent should have done, ``promote`` writes the lock, and ``run`` replays
the conversation against the service: the lock fails while the agent still calls the
wrong tool, naming the session. A second session, done right, passes as its own lock.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from evallock.demo import AGENT_TOOLS
from evallock.store import Store

from .conftest import InProcessServer, wait_for

TOOLS = AGENT_TOOLS  # order_status and refund_policy, as the demo's order assistant offers
RESULTS = {"order_status": "R1041 shipped on Monday", "refund_policy": "Refunds within 30 days"}


def converse(server: InProcessServer, key: str, session: str, questions: list[str]) -> list[str]:
    """Run an agent's conversation through the proxy: each turn a tool call, its result,
    the answer. Returns the answers."""
    headers = {"X-Evallock-Session-Id": session, "X-Evallock-Intent": "refund"}
    messages: list[dict[str, Any]] = []
    answers = []
    with server.openai(key, default_headers=headers) as client:
        for question in questions:
            messages.append({"role": "user", "content": question})
            while True:
                reply = client.chat.completions.create(
                    model="support-bot", messages=messages, tools=TOOLS
                )
                message = reply.choices[0].message
                messages.append(message.model_dump(exclude_none=True))
                if not message.tool_calls:
                    answers.append(message.content or "")
                    break
                for call in message.tool_calls:
                    result = RESULTS[call.function.name]
                    messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    return answers


@pytest.mark.slow
def test_a_rated_session_becomes_a_multi_turn_lock_that_the_gate_runs(
    app_server, api_keys, store: Store, store_url, cli, tmp_path, fake_service, service_stats
) -> None:
    key = api_keys["ingest"]
    # The agent: asked about a return, it looks up the order instead (the bug).
    bad = converse(
        app_server, key, "conv-bad", ["What is the order status of R1041?", "Can I return it?"]
    )
    assert bad == ["The tools say: R1041 shipped on Monday"] * 2
    good = converse(app_server, key, "conv-good", ["What is the refund policy?"])
    assert good == ["The tools say: Refunds within 30 days"]
    # each turn is two requests (the call, then the answer from the result)
    wait_for(lambda: len(store.traces.session("conv-bad")) == 4 or None)
    wait_for(lambda: len(store.traces.session("conv-good")) == 2 or None)

    with app_server.client(key) as client:
        unknown = client.post("/v1/feedback", json={"session_id": "conv-nope", "rating": "down"})
        assert unknown.status_code == 404 and "conv-nope" in unknown.json()["detail"]
        for session, comment in (("conv-bad", "asked about a return, got shipping"),
                                 ("conv-good", "fine, keep it that way")):  # fmt: skip
            rated = client.post(
                "/v1/feedback", json={"session_id": session, "rating": "down", "comment": comment}
            )
            assert rated.status_code == 200, rated.text
    newest = store.traces.session("conv-bad")[-1]
    (feedback,) = store.feedback.find(trace_id=newest.trace_id)
    assert feedback.session_id == "conv-bad"

    proposed = cli("candidates", "propose", "--store", store_url, "--actor", "alice")
    assert proposed.code == 0, proposed.err
    listed = cli("candidates", "list", "--store", store_url, "--json", "-")
    by_session = {c["conversation"]["session_id"]: c for c in json.loads(listed.out)}
    assert set(by_session) == {"conv-bad", "conv-good"}
    candidate = by_session["conv-bad"]
    assert candidate["input"] == "What is the order status of R1041?"
    assert candidate["conversation"]["turns"] == ["Can I return it?"]
    assert candidate["conversation"]["tool_results"] == {"order_status": RESULTS["order_status"]}
    assert [t["function"]["name"] for t in candidate["conversation"]["tools"]] == [
        "order_status",
        "refund_policy",
    ]
    assert len(candidate["conversation"]["trace_ids"]) == 4
    assert candidate["reason"] == "thumbs-down on the session: asked about a return, got shipping"
    shown = cli("candidates", "show", candidate["candidate_id"], "--store", store_url)
    assert "then asked  Can I return it?" in shown.out, shown.out

    golden = tmp_path / "golden.jsonl"
    golden.write_text("")
    for session, expected in (("conv-bad", "30 days"), ("conv-good", "30 days")):
        accepted = cli(
            "candidates", "accept", by_session[session]["candidate_id"],
            "--expected", expected,
            "--assert", '{"type": "tool-called", "value": "refund_policy"}',
            "--store", store_url, "--actor", "bob",
        )  # fmt: skip
        assert accepted.code == 0, accepted.err
    promoted = cli("candidates", "promote", "--to", str(golden), "--store", store_url,
                   "--no-check", "--actor", "bob")  # fmt: skip
    assert promoted.code == 0, promoted.err
    lines = {json.loads(line)["source"]["session_id"]: json.loads(line) for line in
             golden.read_text().splitlines()}  # fmt: skip
    lock = lines["conv-bad"]
    assert lock["turns"] == ["Can I return it?"] and lock["source"]["lock"] is True
    assert lock["tool_results"] == {"order_status": RESULTS["order_status"]}
    # the reviewer gives the policy tool's answer too: what the agent should have looked up
    lock["tool_results"]["refund_policy"] = RESULTS["refund_policy"]
    lines["conv-good"]["tool_results"]["order_status"] = RESULTS["order_status"]
    golden.write_text("".join(json.dumps(line) + "\n" for line in lines.values()))

    service_stats.reset()
    run = cli(
        "run", str(golden), "--base-url", fake_service.base_url, "--model", "support-bot",
        "--store", store_url, "--baseline", "none", "--json", "run.json",
    )  # fmt: skip
    assert run.code == 1, run.out + run.err
    assert "a fixed bug came back: " + lock["id"] + " · session conv-bad · trace " in run.out
    assert "called order_status → order_status" in run.out
    report = json.loads((tmp_path / "run.json").read_text())
    assert report["locks_failed"] == [lock["id"]]
    outcome = {c["id"]: c for c in report["cases"]}
    assert outcome[lines["conv-good"]["id"]]["passed"] is True
    failed = outcome[lock["id"]]
    assert (
        "expected a call to refund_policy; called: order_status, order_status" in failed["reason"]
    )
    # the whole conversation was replayed: 2 turns x (call + answer), and 1 x 2 for the good one
    assert service_stats.get()["by_path"] == {"/v1/chat/completions": 6}
