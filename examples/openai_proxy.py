"""An app that calls its model through evallock's recording proxy with the ``openai`` SDK.

Only the base URL changes: evallock forwards each request to the upstream model,
passes the answer back (streamed chunk by chunk, or whole), and records the
trace with the keys the app sends as ``X-Evallock-<Key>`` headers. The answer's
``X-Evallock-Trace-Id`` header is the id to rate it by.

Run it against the bundled fake model and a local evallock::

    python -m evallock.demo.fake_service --port 8001 &
    evallock serve --upstream http://127.0.0.1:8001/v1 &
    export EVALLOCK_API_KEY=$(evallock keys create --scope ingest --name proxy-example)
    python examples/openai_proxy.py --evallock http://127.0.0.1:4318
    evallock traces list --key prompt_version=support-v3
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import httpx
import jinja2
import openai

from evallock.demo import example_dir

PLAN = "enterprise"


def system_prompt(version: str, plan: str) -> str:
    """The bundled example's prompt template, rendered for a customer's plan (the fake model
    answers from its policy lines)."""
    source = (example_dir() / "prompts" / f"{version}.txt").read_text(encoding="utf-8")
    return jinja2.Template(source).render(plan=plan)


def main() -> int:
    """One plain and one streamed question through the proxy, then a rating."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evallock", default="http://127.0.0.1:4318", help="evallock serve URL")
    parser.add_argument("--model", default="support-bot")
    args = parser.parse_args()
    key = os.environ.get("EVALLOCK_API_KEY") or "no-auth"
    client = openai.OpenAI(
        base_url=f"{args.evallock}/v1",
        api_key=key,  # the evallock key; evallock holds the upstream's own key
        default_headers={
            "X-Evallock-Prompt-Version": "support-v3",
            "X-Evallock-Model-Version": "support-bot@fake-1",
            "X-Evallock-Customer-Tier": PLAN,
            # the template's variables: a case made from the trace renders the prompt with them
            "X-Evallock-Prompt-Vars": json.dumps({"plan": PLAN}),
            # W3C baggage works too, e.g. from OpenTelemetry's propagators:
            "baggage": "evallock.feature=help-widget",
        },
    )
    messages = [{"role": "system", "content": system_prompt("support-v3", PLAN)}]

    # Not streamed: with_raw_response exposes the headers, and so the trace id.
    raw = client.chat.completions.with_raw_response.create(
        model=args.model,
        messages=[*messages, {"role": "user", "content": "How long does a refund take?"}],  # type: ignore[list-item]
        metadata={"intent": "refund"},
    )
    first_id = raw.headers["x-evallock-trace-id"]
    print(f"{first_id}  {raw.parse().choices[0].message.content}")

    # Streamed, with the final usage chunk.
    streamed = client.chat.completions.with_raw_response.create(
        model=args.model,
        messages=[*messages, {"role": "user", "content": "Our contract was charged twice."}],  # type: ignore[list-item]
        stream=True,
        stream_options={"include_usage": True},
        extra_headers={"X-Evallock-Intent": "refund"},
    )
    second_id = streamed.headers["x-evallock-trace-id"]
    text = "".join(
        chunk.choices[0].delta.content or "" for chunk in streamed.parse() if chunk.choices
    )
    print(f"{second_id}  {text}")

    # The user rated the streamed answer down.
    auth = {"Authorization": f"Bearer {key}"}
    rating = {"trace_id": second_id, "rating": "down", "comment": "Which payment method?"}
    httpx.post(
        f"{args.evallock}/v1/feedback", json=rating, headers=auth, timeout=10
    ).raise_for_status()
    print(f"rated {second_id} down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
