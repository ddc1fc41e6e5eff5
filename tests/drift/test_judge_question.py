"""Drift judges the user's question, not the app's system prompt mixed into it.

A proxied trace holds the app's whole rendered prompt as its system message. Mixed
into the judged question, its policy lines drowned the user's words and the bundled
judge scored v3's correct enterprise answers 1/5; judged on the user's side of the
conversation, v3's answer scores high and v4's wrong one low.
"""

from __future__ import annotations

from datetime import UTC, datetime

import anyio
import jinja2

from evallock.demo import example_dir
from evallock.drift._judge import judge_traces
from evallock.graders import DRIFT_RUBRIC
from evallock.records import Trace
from evallock.runner import RetryPolicy
from evallock.session import JudgeSpec, make_judge

QUESTION = "Our contract renewal was charged twice (invoice 123). Refund?"
V3 = (
    "Duplicate charges on enterprise contracts are refunded within 5 business days to the"
    " original payment method; no action is needed on your side."
)
V4 = (
    "Thanks for reaching out! Enterprise contract refunds take 30 days and must be requested"
    " through your account manager."
)


def _trace(n: int, version: str, answer: str) -> Trace:
    source = (example_dir() / "prompts" / f"support-{version}.txt").read_text()
    system = jinja2.Template(source).render(plan="enterprise")
    return Trace(
        trace_id=f"{n:032x}",
        timestamp=datetime(2026, 12, 1, tzinfo=UTC),
        input=QUESTION,
        output=answer,
        source="proxy",
        messages=[{"role": "system", "content": system}, {"role": "user", "content": QUESTION}],
    )


def test_a_correct_answer_scores_high_and_a_wrong_one_low(fake_service) -> None:
    provider, client = make_judge(
        JudgeSpec(base_url=fake_service.base_url, model="judge"),
        concurrency=2,
        policy=RetryPolicy(retries=0),
        timeout=10,
        seed=0,
    )

    async def judge() -> list:
        try:
            return await judge_traces(
                [_trace(1, "v3", V3), _trace(2, "v4", V4)],
                client=client,
                rubric=DRIFT_RUBRIC,
                cache=None,
                concurrency=2,
            )
        finally:
            await provider.aclose()

    good, bad = sorted(anyio.run(judge), key=lambda s: s.trace_id)
    assert good.score == 5, good.reason  # was 1/5 with the system prompt in the question
    assert bad.score is not None and bad.score <= 2, bad.reason
