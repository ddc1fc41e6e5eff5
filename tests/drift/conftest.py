"""Seeded production traffic for drift tests: 14 days, a planted drop in one slice."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from evallock.records import Trace

T0 = datetime(2026, 10, 1, tzinfo=UTC)

GOOD = {
    "consumer": (
        "I was charged twice for my order, refund?",
        "Duplicate charges are refunded automatically within 5 business days.",
    ),
    "enterprise": (
        "Our enterprise contract was charged twice this month.",
        "Duplicate charges on enterprise contracts are refunded within 5 business days to the original payment method; no action is needed on your side.",
    ),
    "pro": (
        "How do I reset my password?",
        'Reset your password with the "Forgot password" link on the sign-in page.',
    ),
}
MEDIOCRE = {
    "consumer": "We will look into your charges soon.",
    "enterprise": "Contract questions are handled by billing.",
    "pro": "Use the sign-in page.",
}
BAD_ENTERPRISE = (
    "Enterprise contract refunds take 30 days and must go through your account manager."
)


def make_traffic(
    *,
    days: int = 14,
    per_day: int = 120,
    drop_from_day: int | None = 11,
    seed: int = 7,
    mediocre_share: float = 0.15,
) -> list[Trace]:
    """Traffic of three tiers; from ``drop_from_day`` enterprise answers regress."""
    rng = random.Random(seed)
    traces = []
    for day in range(days):
        for i in range(per_day):
            tier = rng.choices(["consumer", "enterprise", "pro"], weights=[6, 3, 1])[0]
            question, answer = GOOD[tier]
            if rng.random() < mediocre_share:
                answer = MEDIOCRE[tier]
            if drop_from_day is not None and day >= drop_from_day and tier == "enterprise":
                answer = BAD_ENTERPRISE
            traces.append(
                Trace(
                    trace_id=f"{rng.getrandbits(128):032x}",
                    timestamp=T0 + timedelta(days=day, seconds=rng.randrange(86_000)),
                    input=f"{question} (ticket {day}-{i})",
                    output=answer,
                    keys={
                        "customer_tier": tier,
                        "intent": "refund" if tier != "pro" else "account",
                        "prompt_version": "support-v4" if day >= 7 else "support-v3",
                    },
                    source="import",
                )
            )
    return traces


def day(n: int) -> str:
    return f"{(T0 + timedelta(days=n)):%Y-%m-%dT%H:%M:%SZ}"
