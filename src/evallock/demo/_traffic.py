"""Simulated production traffic for the demo: customers asking the refund bot through a proxy.

Each customer has a tier (consumer, pro or enterprise) and asks one question of
their tier; the app renders the deployed prompt with the customer's plan, sends
it with the shared keys as ``X-Evallock-*`` headers (and the template variables
as ``X-Evallock-Prompt-Vars``) to evallock's recording proxy, and shows the
answer. Enterprise customers who are told that contract refunds take 30 days
through an account manager (refund-v4's bug) thumb the answer down, most of
them with a comment; a few happy customers thumb up. Everything is drawn from
one seeded generator, so the demo tells the same story on every machine.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

__all__ = [
    "AGENT_TOOLS",
    "Customer",
    "TrafficResult",
    "customers",
    "send_agent_sessions",
    "send_traffic",
]

# (tier, intent, question); ``{n}`` is a ticket or order number, so no two questions are alike.
_QUESTIONS: tuple[tuple[str, str, str], ...] = (
    ("consumer", "refund", "I was charged twice for order #{n}, can I get a refund?"),
    ("consumer", "refund", "Can I return the boots from order {n} and get my money back?"),
    ("consumer", "refund", "How long does a refund take to reach my card? Order {n}."),
    ("consumer", "billing", "My credit card expired, how do I update my payment method?"),
    ("consumer", "billing", "Where is the receipt for order #{n}?"),
    ("consumer", "shipping", "How long does shipping take for order {n}?"),
    ("consumer", "shipping", "Where is my order #{n}? I haven't received it."),
    ("consumer", "shipping", "I need to change the delivery address on order {n}."),
    ("consumer", "account", "I forgot my password and I'm locked out (ticket {n})."),
    ("consumer", "account", "Can I pause my subscription next month? Ticket {n}."),
    ("pro", "refund", "I'm on Pro and was billed twice for invoice {n}."),
    ("pro", "account", "Is there phone support for Pro customers? Ticket {n}."),
    ("enterprise", "refund", "Our contract renewal was charged twice (invoice {n}). Refund?"),
    ("enterprise", "refund", "We were invoiced twice for contract {n}, how do we get it back?"),
    ("enterprise", "refund", "If we cancel contract {n} mid term, is the rest refunded?"),
    ("enterprise", "account", "How do we add seats for {n} new hires?"),
    ("enterprise", "account", "What response time does our SLA give us for an outage?"),
)
_TIER_WEIGHTS = {"consumer": 0.74, "pro": 0.1, "enterprise": 0.16}
_BAD = ("30 days", "account manager")
"""Phrases of refund-v4's enterprise answer that contradict the contract."""
_COMPLAINTS = (
    "Wrong: our contract says duplicates are refunded in 5 business days.",
    "We have no account manager. The contract says 5 business days.",
    "This contradicts our enterprise agreement.",
    None,
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Customer:
    """One simulated request: who asks what, under which prompt."""

    tier: str
    """consumer, pro or enterprise (the ``customer_tier`` key, the template's ``plan``)."""
    intent: str
    """What the question is about (the ``intent`` key)."""
    question: str
    """The user's message."""
    prompt_version: str
    """The deployed prompt that answers (``refund-v3`` or ``refund-v4``)."""
    down_roll: float
    """A uniform draw: the customer thumbs down a bad answer when it is below 0.7."""


@dataclass(kw_only=True, slots=True)
class TrafficResult:
    """What the traffic did: requests per slice, ratings given, errors seen."""

    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Requests per (prompt_version, customer_tier)."""
    thumbs_down: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Thumbs-downs per (prompt_version, customer_tier)."""
    thumbs_up: int = 0
    """Thumbs-ups given."""
    errors: list[str] = field(default_factory=list)
    """Requests or ratings that did not get a 2xx, with the status and body."""


def customers(rng: random.Random, count: int, versions: dict[str, float]) -> list[Customer]:
    """``count`` customers drawn from ``rng``; ``versions`` maps a prompt version to its share.

    >>> picked = customers(random.Random(1), 3, {"refund-v3": 1.0})
    >>> [c.prompt_version for c in picked]
    ['refund-v3', 'refund-v3', 'refund-v3']
    """
    names, shares = list(versions), list(versions.values())
    tiers, weights = list(_TIER_WEIGHTS), list(_TIER_WEIGHTS.values())
    drawn = []
    for _ in range(count):
        tier = rng.choices(tiers, weights)[0]
        _, intent, question = rng.choice([q for q in _QUESTIONS if q[0] == tier])
        drawn.append(
            Customer(
                tier=tier,
                intent=intent,
                question=question.format(n=rng.randrange(1000, 99_999)),
                prompt_version=rng.choices(names, shares)[0],
                down_roll=rng.random(),
            )
        )
    return drawn


def send_traffic(
    proxy_url: str,
    prompts: dict[str, Path],
    people: list[Customer],
    *,
    rng: random.Random,
    model_version: str = "support-bot-v1",
) -> TrafficResult:
    """Ask each customer's question through the recording proxy and rate some answers.

    Args:
        proxy_url: evallock serve's root URL (``http://host:port``).
        prompts: prompt version → its template file.
        people: the customers, in order.
        rng: draws the comments and the thumbs-ups.
        model_version: the ``model_version`` key sent with every request.
    """
    import jinja2.sandbox

    env = jinja2.sandbox.ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined)
    templates = {v: env.from_string(p.read_text(encoding="utf-8")) for v, p in prompts.items()}
    result = TrafficResult()
    with httpx.Client(base_url=proxy_url, timeout=30) as client:
        for person in people:
            plan = {"plan": person.tier}
            system = templates[person.prompt_version].render(plan)
            response = client.post(
                "/v1/chat/completions",
                json={
                    "model": "support-bot",
                    "messages": [
                        {"role": "system", "content": system},
                        {"role": "user", "content": person.question},
                    ],
                },
                headers={
                    "X-Evallock-Prompt-Version": person.prompt_version,
                    "X-Evallock-Model-Version": model_version,
                    "X-Evallock-Customer-Tier": person.tier,
                    "X-Evallock-Intent": person.intent,
                    "X-Evallock-Prompt-Vars": orjson.dumps(plan).decode(),
                },
            )
            if response.status_code != 200:
                result.errors.append(f"proxy {response.status_code}: {response.text[:200]}")
                continue
            slice_ = (person.prompt_version, person.tier)
            result.requests[slice_] += 1
            trace_id = response.headers["x-evallock-trace-id"]
            answer = response.json()["choices"][0]["message"]["content"]
            rating = _rating(person, answer, rng)
            if rating is None:
                continue
            thumb, comment = rating
            sent = client.post(
                "/v1/feedback",
                json={"trace_id": trace_id, "rating": thumb, "comment": comment},
            )
            if sent.status_code >= 300:
                result.errors.append(f"feedback {sent.status_code}: {sent.text[:200]}")
            elif thumb == "down":
                result.thumbs_down[slice_] += 1
            else:
                result.thumbs_up += 1
    return result


def _rating(person: Customer, answer: str, rng: random.Random) -> tuple[str, str | None] | None:
    """The customer's thumb and comment, or None when they do not rate the answer."""
    if person.tier == "enterprise" and any(bad in answer for bad in _BAD):
        return ("down", rng.choice(_COMPLAINTS)) if person.down_roll < 0.7 else None
    return ("up", None) if person.down_roll < 0.08 else None


AGENT_TOOLS: list[dict[str, object]] = [
    {
        "type": "function",
        "function": {
            "name": "order_status",
            "description": "Where an order is and when it shipped.",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
        },
    },
    {
        "type": "function",
        "function": {
            "name": "refund_policy",
            "description": "What can be returned, and how refunds are paid.",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
        },
    },
]
"""The order assistant's tools, as its requests offer them."""
_AGENT_PROMPT = "You are Acme Outfitters' order assistant. Use the tools to answer."
_SESSION_COMPLAINT = "I asked whether I can return it and got the shipping status again."


def _run_tool(name: str, order: int) -> str:
    """What the app's own tools return (the model only asks for them)."""
    if name == "order_status":
        return f"Order #{order} shipped on Monday and arrives Thursday."
    return "Unworn items can be returned within 30 days for a full refund to the card."


def send_agent_sessions(proxy_url: str, *, rng: random.Random, count: int = 3) -> TrafficResult:
    """Hold ``count`` two-turn conversations with the order assistant through the proxy.

    Each customer asks where their order is, then whether they can return it. The
    assistant calls a tool for each turn (the app runs it and sends the result back),
    but for the return question it looks the order up again instead of reading the
    refund policy, so the customer gets the shipping status twice. All but the last
    customer rate the whole conversation down (``session_id`` on the feedback).
    """
    result = TrafficResult()
    with httpx.Client(base_url=proxy_url, timeout=30) as client:
        for index in range(count):
            session = f"orders-{index + 1:03d}-{rng.randrange(16**6):06x}"
            order = rng.randrange(1000, 99_999)
            headers = {
                "X-Evallock-Session-Id": session,
                "X-Evallock-Prompt-Version": "orders-v1",
                "X-Evallock-Customer-Tier": "consumer",
                "X-Evallock-Intent": "order",
            }
            messages: list[dict[str, object]] = [{"role": "system", "content": _AGENT_PROMPT}]
            for question in (f"Where is my order #{order}?", "Can I return it?"):
                messages.append({"role": "user", "content": question})
                for _ in range(4):  # a tool round, then the answer
                    response = client.post(
                        "/v1/chat/completions",
                        json={"model": "support-bot", "messages": messages, "tools": AGENT_TOOLS},
                        headers=headers,
                    )
                    if response.status_code != 200:
                        result.errors.append(f"proxy {response.status_code}: {response.text[:200]}")
                        break
                    result.requests["orders-v1", "consumer"] += 1
                    message = response.json()["choices"][0]["message"]
                    messages.append(message)
                    calls = message.get("tool_calls") or []
                    if not calls:
                        break
                    for call in calls:
                        name = call["function"]["name"]
                        messages.append(
                            {
                                "role": "tool",
                                "tool_call_id": call["id"],
                                "content": _run_tool(name, order),
                            }
                        )
            if index == count - 1:
                continue  # the last customer does not rate it
            sent = client.post(
                "/v1/feedback",
                json={"session_id": session, "rating": "down", "comment": _SESSION_COMPLAINT},
            )
            if sent.status_code >= 300:
                result.errors.append(f"feedback {sent.status_code}: {sent.text[:200]}")
            else:
                result.thumbs_down["orders-v1", "consumer"] += 1
    return result
