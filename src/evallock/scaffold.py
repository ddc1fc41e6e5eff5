"""The project scaffold that ``evallock init`` writes: a config, a case file and a prompt."""

from __future__ import annotations

from pathlib import Path

from evallock.errors import UsageError

__all__ = ["SCAFFOLD", "write_scaffold"]

_CONFIG = """\
# evallock configuration; every field also has a flag (a flag wins over this file).
store: sqlite:///.evallock/evallock.db          # or postgresql://user@host/db
target:                                         # the service under test
  base_url: http://localhost:8000/v1            # any OpenAI-compatible endpoint
  model: support-bot
  # api_key_env: APP_API_KEY                    # the key is read from this env var, never from a file
  prompt: prompts/support.txt                   # Jinja2 system prompt; {{ input }} and case vars
  keys: {prompt_version: support-v1}
# judge:                                        # needed only by cases with a judge
#   base_url: http://localhost:8001/v1
#   model: judge-model
gate:
  min_pass_rate: 0.9
  max_new_failures: 0                           # cases that passed on the baseline and fail now
"""

_CASES = """\
{"id": "refund-001", "input": "I was charged twice this month, can I get a refund?", "assert": [{"type": "icontains", "value": "refund"}], "keys": {"intent": "refund", "customer_tier": "consumer"}}
{"id": "shipping-001", "input": "When will my order ship?", "assert": [{"type": "icontains", "value": "business days"}], "keys": {"intent": "shipping", "customer_tier": "consumer"}}
{"id": "account-001", "input": "How do I reset my password?", "expected": "reset link", "grader": "rules", "keys": {"intent": "account", "customer_tier": "pro"}}
"""

_PROMPT = """\
You are the support assistant of Acme. Answer in one or two sentences, using only this policy.
{% if plan is defined %}The customer is on the {{ plan }} plan.{% endif %}

- [refund, charged twice, duplicate] Duplicate charges are refunded within 5 business days.
- [ship, order, delivery] Orders ship within 2 business days.
- [password, reset, login] Use the reset link on the sign-in page; it is valid for 1 hour.
"""

SCAFFOLD: dict[str, str] = {
    "evallock.yaml": _CONFIG,
    "evals/golden.jsonl": _CASES,
    "prompts/support.txt": _PROMPT,
}
"""Relative path → content of each scaffolded file."""


def write_scaffold(root: Path, *, force: bool = False) -> list[Path]:
    """Write the scaffold under ``root``; existing files are kept unless ``force``.

    Raises:
        UsageError: a file exists and ``force`` is False (nothing is written then).
    """
    targets = {root / rel: text for rel, text in SCAFFOLD.items()}
    existing = [path for path in targets if path.exists()]
    if existing and not force:
        names = ", ".join(str(p) for p in existing)
        raise UsageError(f"{names} already exist(s); use --force to overwrite")
    for path, text in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(targets)
