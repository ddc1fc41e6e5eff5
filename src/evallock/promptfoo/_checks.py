"""promptfoo's assertions mapped onto evallock's checks and judge, and its CSV grammar."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["ASSERTIONS", "assertion_from_string", "map_checks"]

ASSERTIONS: dict[str, str] = {
    "equals": "equals",
    "contains": "contains",
    "icontains": "icontains",
    "contains-any": "contains-any",
    "contains-all": "contains-all",
    "icontains-any": "icontains-any",
    "icontains-all": "icontains-all",
    "regex": "regex",
    "starts-with": "starts-with",
    "is-json": "is-json",
    "contains-json": "contains-json",
    "similar": "similar",
    "similar:cosine": "similar",
    "latency": "latency-ms",
    "cost": "cost",
}
"""promptfoo assertion type → evallock's."""
_JUDGED = frozenset(
    {"llm-rubric", "model-graded-closedqa", "factuality", "model-graded-factuality"}
)
_FACT = frozenset({"factuality", "model-graded-factuality"})
_CODE = frozenset({"javascript", "python", "ruby", "webhook"})
_BASE_TYPES = frozenset(
    {
        "answer-relevance",
        "bleu",
        "classifier",
        "contains",
        "contains-all",
        "contains-any",
        "contains-html",
        "contains-json",
        "contains-sql",
        "contains-xml",
        "context-faithfulness",
        "context-recall",
        "context-relevance",
        "conversation-relevance",
        "cost",
        "equals",
        "factuality",
        "finish-reason",
        "g-eval",
        "gleu",
        "guardrails",
        "icontains",
        "icontains-all",
        "icontains-any",
        "is-html",
        "is-json",
        "is-refusal",
        "is-sql",
        "is-valid-function-call",
        "is-valid-openai-function-call",
        "is-valid-openai-tools-call",
        "is-xml",
        "javascript",
        "latency",
        "levenshtein",
        "llm-rubric",
        "pi",
        "meteor",
        "model-graded-closedqa",
        "model-graded-factuality",
        "moderation",
        "perplexity",
        "perplexity-score",
        "python",
        "regex",
        "rouge-n",
        "ruby",
        "similar",
        "similar:cosine",
        "similar:dot",
        "similar:euclidean",
        "starts-with",
        "tool-call-f1",
        "trace-error-spans",
        "trace-span-count",
        "trace-span-duration",
        "search-rubric",
        "webhook",
        "word-count",
    }
)
"""promptfoo's base assertion types (``BaseAssertionTypesSchema``): the CSV grammar knows
them, so a cell naming one is that check (kept or listed), never an ``equals``."""
_YAML_SIMILAR = 0.75
"""promptfoo's ``similar`` threshold when a YAML test gives none (CSV's is 0.8, ours)."""
_ASSERT_KEYS = frozenset({"type", "value", "threshold", "weight"})


_STRING_ASSERTION = re.compile(
    r"^(?P<not>not-)?(?P<type>similar:(?:cosine|dot|euclidean)|[a-z][a-z-]*)"
    r"(?:\((?P<threshold>[\d.]+)\))?(?::(?P<value>.*))?$",
    re.DOTALL,
)


def assertion_from_string(text: str) -> dict[str, Any]:
    """promptfoo's CSV grammar (``src/csv.ts``): ``fn:``/``eval:``/``javascript:`` code,
    ``grade:``/``llm-rubric:`` rubrics, ``python:``, ``file://x.js|py``,
    ``(not-)type(threshold):value`` for any base type; anything else means ``equals``."""
    for prefix, kind in (
        ("javascript:", "javascript"),
        ("fn:", "javascript"),
        ("eval:", "javascript"),
        ("python:", "python"),
        ("grade:", "llm-rubric"),
        ("llm-rubric:", "llm-rubric"),
    ):
        if text.startswith(prefix):
            return {"type": kind, "value": text.removeprefix(prefix).strip()}
    if text.startswith("file://") and text.endswith((".js", ".py")):
        return {"type": "python" if text.endswith(".py") else "javascript", "value": text}
    match = _STRING_ASSERTION.match(text.strip())
    if match is not None and match["type"] in _BASE_TYPES:
        item: dict[str, Any] = {"type": (match["not"] or "") + match["type"]}
        if match["value"] is not None:
            item["value"] = match["value"].strip()
        if match["threshold"] is not None:
            item["threshold"] = float(match["threshold"])
        elif match["type"] in ("similar", "similar:cosine"):
            item["threshold"] = 0.8  # promptfoo's CSV default
        return item
    return {"type": "equals", "value": text}


Note = Callable[..., None]
"""``note(position, what, *sub)``: what is left out of the assertion at ``position``."""


def _flatten(items: list[Any], note: Note) -> Iterator[tuple[int, Any]]:
    """The assertions with each ``assert-set`` replaced by its members, weights shared out
    (``set weight × member weight / members' total``) so the weighted score is the same."""
    for position, item in enumerate(items):
        if not isinstance(item, dict) or item.get("type") != "assert-set":
            yield position, item
            continue
        members = [m for m in item.get("assert") or [] if isinstance(m, dict)]
        if item.get("threshold") is not None:
            note(position, "assert-set threshold left out: its checks must all pass (stricter)")
        total = sum(float(m.get("weight", 1)) for m in members) or 1.0
        share = float(item.get("weight", 1)) / total
        for member in members:
            yield position, {**member, "weight": share * float(member.get("weight", 1))}


def map_checks(items: list[Any], case: dict[str, Any], note: Note) -> None:
    """Map a test's assertions onto ``case``: its ``assert`` list and its judge; what has
    no evallock equal goes to ``note``."""
    checks: list[dict[str, Any]] = []
    for position, item in _flatten(items, note):
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            note(position, "assertion left out: no type")
            continue
        kind: str = item["type"]
        negated = kind.startswith("not-")
        base_kind = kind.removeprefix("not-")
        for key in sorted(set(item) - _ASSERT_KEYS):
            note(position, f"{kind}: {key} left out: no evallock equal", key)
        weight = float(item.get("weight", 1))
        if base_kind in _JUDGED and not negated:
            if "judge" in case:
                note(position, f"{kind} left out: evallock asks the judge once per case")
                continue
            judge: dict[str, Any] = {}
            if base_kind in _FACT:
                case["expected"] = str(item.get("value", ""))
            else:
                judge["rubric"] = str(item.get("value", ""))
            if item.get("threshold") is not None:
                # promptfoo's judge scores 0-1; ours 1-5 (0 → 1, 1 → 5)
                lowest = math.ceil(1 + 4 * float(item["threshold"]) - 1e-9)
                judge["pass_score"] = max(1, min(5, lowest))
            if weight != 1:
                judge["weight"] = weight
            case["judge"] = judge
            continue
        if base_kind in _CODE:
            note(
                position,
                f"{kind} left out: evallock runs no code from a config (write a grader"
                " plugin, entry point evallock.assertions)",
            )
            continue
        mapped = ASSERTIONS.get(base_kind)
        if mapped is None:
            note(position, f"{kind} left out: no evallock equal")
            continue
        check: dict[str, Any] = {"type": f"not-{mapped}" if negated else mapped}
        if "value" in item:
            check["value"] = item["value"]
        if item.get("threshold") is not None:
            check["threshold"] = item["threshold"]
        elif mapped == "similar":
            check["threshold"] = _YAML_SIMILAR
        if weight != 1:
            check["weight"] = weight
        checks.append(check)
    if checks:
        case["assert"] = checks
