"""The demo judge over HTTP: scores, the three reply wrappings, markers and pairwise mode."""

from __future__ import annotations

import re
from typing import Any

import httpx
import orjson
import pytest

from evallock.demo import start_fake_service
from evallock.demo._judge import GARBAGE_REPLY, parse_blocks, recall_score

SYSTEM = (
    "You are a strict grader. Score the answer from 1 to 5 against the rubric. "
    'Reply with JSON only: {"score": <1-5>, "reason": "<short reason>"}'
)
REFERENCE = "Duplicate charges are refunded within 5 business days."
V3_ANSWER = (
    "Duplicate charges on enterprise contracts are refunded within 5 business days to the "
    "original payment method; no action is needed on your side."
)
V4_ANSWER = (
    "Thanks for reaching out! Enterprise contract refunds take 30 days and must be "
    "requested through your account manager."
)


def _escape(text: str) -> str:
    return text.replace("</", "<\\/")


def judge_prompt(
    answer: str | None = None,
    *,
    question: str = "Our contract renewal was charged twice, can we get a refund?",
    reference: str | None = None,
    rubric: str = "Does the answer promise a refund for the duplicate charge?",
    answer_a: str | None = None,
    answer_b: str | None = None,
) -> str:
    """The user message in the judge grader's layout: each tag on its own line."""
    blocks = [("rubric", rubric), ("question", question)]
    if reference is not None:
        blocks.append(("reference", reference))
    if answer is not None:
        blocks.append(("answer", answer))
    if answer_a is not None and answer_b is not None:
        blocks += [("answer_a", answer_a), ("answer_b", answer_b)]
    return "\n".join(f"<{tag}>\n{_escape(text)}\n</{tag}>" for tag, text in blocks)


def ask_judge(client: httpx.Client, user: str) -> str:
    response = client.post(
        "/chat/completions",
        json={
            "model": "judge",
            "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}],
        },
    )
    assert response.status_code == 200, response.text
    text: str = response.json()["choices"][0]["message"]["content"]
    return text


def verdict(reply: str) -> dict[str, Any]:
    """Find the JSON object in any of the three wrappings."""
    match = re.search(r"\{.*\}", reply, re.DOTALL)
    assert match, reply
    parsed: dict[str, Any] = orjson.loads(match.group(0))
    return parsed


def score(client: httpx.Client, user: str) -> int:
    value: int = verdict(ask_judge(client, user))["score"]
    return value


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        # the reference has 7 content words ("are" is a stopword)
        ("Yes: duplicate charges are REFUNDED within 5 business days!", 5),
        ("Duplicate charges are refunded within 5 days.", 5),  # 6/7
        ("Duplicate charges are refunded within days.", 4),  # 5/7
        ("Duplicate charges are refunded.", 3),  # 3/7
        ("Charges take days.", 2),  # 2/7
        ("Charges take a while.", 1),  # 1/7
        ("", 1),
    ],
)
def test_score_is_reference_recall(client: httpx.Client, answer: str, expected: int) -> None:
    assert score(client, judge_prompt(answer, reference=REFERENCE)) == expected


@pytest.mark.parametrize(
    ("recall_words", "expected"), [(10, 5), (8, 5), (7, 4), (6, 4), (4, 3), (2, 2), (1, 1)]
)
def test_recall_thresholds(recall_words: int, expected: int) -> None:
    reference = " ".join(f"word{i}" for i in range(10))
    answer = " ".join(f"word{i}" for i in range(recall_words))
    assert recall_score(reference, answer)[0] == expected


def test_stopwords_and_punctuation_do_not_count() -> None:
    assert recall_score("The refund, of course!", "REFUND course") == (5, 1.0)


def test_escaped_closing_tags_are_unescaped() -> None:
    user = judge_prompt("it says </answer> inside", reference="</reference> too")
    assert "\n</answer>" in user and "says <\\/answer> inside" in user
    assert parse_blocks(user).answer == "it says </answer> inside"
    assert parse_blocks(user).reference == "</reference> too"
    blocks = parse_blocks("<answer>\nsee <\\/answer> and more\n</answer>")
    assert blocks.answer == "see </answer> and more"


def test_without_reference_answers_are_checked_against_the_policy(client: httpx.Client) -> None:
    assert score(client, judge_prompt(V3_ANSWER)) == 5
    assert score(client, judge_prompt(V4_ANSWER)) == 1


@pytest.mark.parametrize("answer", ["", "   ", "I'm not sure, let me connect you with a human."])
def test_without_reference_empty_or_unsure_answers_score_2(
    client: httpx.Client, answer: str
) -> None:
    assert score(client, judge_prompt(answer)) == 2


def test_without_reference_an_unknown_topic_scores_3(client: httpx.Client) -> None:
    assert score(client, judge_prompt("It is sunny.", question="What's the weather?")) == 3


def test_seed_layout_is_understood(client: httpx.Client) -> None:
    user = f"USER ASKED: Our contract renewal was charged twice\n\nASSISTANT REPLIED: {V4_ANSWER}"
    assert score(client, user) == 1


def test_reply_wrapping_varies_deterministically(client: httpx.Client) -> None:
    styles: dict[str, str] = {}
    for i in range(30):
        user = judge_prompt(
            f"Duplicate charges are refunded within 5 business days ({i}).", reference=REFERENCE
        )
        reply = ask_judge(client, user)
        assert ask_judge(client, user) == reply  # same request, same reply
        if reply.startswith("{"):
            styles.setdefault("plain", reply)
            assert orjson.loads(reply)["score"] == 5
        elif reply.startswith("```json\n"):
            styles.setdefault("fenced", reply)
            assert reply.endswith("\n```")
        else:
            styles.setdefault("prose", reply)
            assert not reply.lstrip().startswith(("{", "`"))
        assert verdict(reply)["score"] == 5
        assert isinstance(verdict(reply)["reason"], str)
    assert set(styles) == {"plain", "fenced", "prose"}


def test_garbage_marker_gets_an_unparseable_reply(client: httpx.Client) -> None:
    reply = ask_judge(client, judge_prompt("fine [[judge:garbage]]", reference=REFERENCE))
    assert reply == GARBAGE_REPLY
    assert "{" not in reply
    assert not re.search(r"\d", reply)


def test_out_of_range_marker_scores_7(client: httpx.Client) -> None:
    user = judge_prompt(f"{REFERENCE} [[judge:out-of-range]]", reference=REFERENCE)
    assert score(client, user) == 7


def test_missing_answer_block_scores_1(client: httpx.Client) -> None:
    reply = verdict(ask_judge(client, "<question>\nhi\n</question>"))
    assert reply["score"] == 1
    assert "answer" in reply["reason"]


@pytest.mark.parametrize(
    ("answer_a", "answer_b", "winner"),
    [
        (V3_ANSWER, V4_ANSWER, "A"),
        (V4_ANSWER, V3_ANSWER, "B"),
        (V3_ANSWER, V3_ANSWER, "tie"),
    ],
)
def test_pairwise_picks_the_better_answer(
    client: httpx.Client, answer_a: str, answer_b: str, winner: str
) -> None:
    user = judge_prompt(answer_a=answer_a, answer_b=answer_b, reference=REFERENCE)
    reply = verdict(ask_judge(client, user))
    assert reply["winner"] == winner
    assert isinstance(reply["reason"], str)
    no_reference = verdict(ask_judge(client, judge_prompt(answer_a=answer_a, answer_b=answer_b)))
    assert no_reference["winner"] == winner


def test_pairwise_markers(client: httpx.Client) -> None:
    garbage = judge_prompt(answer_a="x [[judge:garbage]]", answer_b="y", reference=REFERENCE)
    assert ask_judge(client, garbage) == GARBAGE_REPLY
    odd = judge_prompt(answer_a="x [[judge:out-of-range]]", answer_b="y", reference=REFERENCE)
    assert verdict(ask_judge(client, odd))["winner"] == "C"


def test_position_bias_favours_answer_a_when_switched_on() -> None:
    tie = judge_prompt(answer_a=V3_ANSWER, answer_b=V3_ANSWER, reference=REFERENCE)
    with (
        start_fake_service(judge_position_bias=1) as biased,
        httpx.Client(base_url=biased.base_url) as client,
    ):
        assert verdict(ask_judge(client, tie))["winner"] == "A"
        worse_a = judge_prompt(
            answer_a="Duplicate charges are refunded within days.",  # 4
            answer_b=REFERENCE,  # 5
            reference=REFERENCE,
        )
        assert verdict(ask_judge(client, worse_a))["winner"] == "tie"
