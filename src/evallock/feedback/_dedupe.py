"""Near-duplicate detection: normalised text, token-set Jaccard, and optional embeddings.

Complaints repeat: a hundred users ask the same question with a different order
number. They should become *one* candidate with a count of a hundred, and none at
all when the golden set already has that question. Two texts are near-duplicates
when their normalised forms are equal (the *signature*), when the Jaccard
similarity of their word sets reaches a threshold (0.8), or — with an
:class:`~evallock.graders.similarity.Embedder` — when the cosine of their
embeddings does (0.9).

>>> normalise_text("Order #R1041 was charged TWICE!! see https://x.io/a?b=1")
'order r0 was charged twice see <url>'
>>> jaccard(word_set("refund my order please"), word_set("refund my order"))
0.75
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "COSINE_THRESHOLD",
    "JACCARD_THRESHOLD",
    "Embedder",
    "NearDuplicateIndex",
    "jaccard",
    "normalise_text",
    "signature_of",
    "word_set",
]

JACCARD_THRESHOLD = 0.8
"""Word-set Jaccard at or above which two inputs are the same complaint."""
COSINE_THRESHOLD = 0.9
"""Embedding cosine at or above which two inputs are the same complaint."""

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
# Bounded parts (RFC 5321: local part 64, label 63) keep this linear on hostile text
# such as "a.a.a.…" with no "@", where an unbounded local part backtracks quadratically.
_EMAIL = re.compile(r"\b[\w.+-]{1,64}@[\w-]{1,63}\.[\w.-]{1,255}\b")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NOT_WORD = re.compile(r"[^\w<>]+")


class Embedder(Protocol):
    """Turns texts into vectors (``evallock.graders.similarity.MiniLMEmbedder`` is one)."""

    def embed(self, texts: Sequence[str]) -> Sequence[Sequence[float]]:
        """One vector per text, in order."""
        ...


def normalise_text(text: str) -> str:
    """Case-folded words with URLs, e-mail addresses and numbers masked.

    Numbers become ``0`` (``#R1041`` → ``r0``), so order numbers, tickets and
    amounts do not split one complaint into many.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = _URL.sub(" <url> ", folded)
    folded = _EMAIL.sub(" <email> ", folded)
    folded = _NUMBER.sub("0", folded)
    return " ".join(_NOT_WORD.sub(" ", folded).replace("_", " ").split())


def signature_of(text: str) -> str:
    """A short stable key of the normalised text: equal signatures, equal complaints."""
    return hashlib.sha256(normalise_text(text).encode()).hexdigest()[:16]


def word_set(text: str) -> frozenset[str]:
    """The distinct words of the normalised text."""
    return frozenset(normalise_text(text).split())


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """``|a ∩ b| / |a ∪ b|``; 1 for two empty sets."""
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    from evallock.graders.similarity import cosine

    return cosine(a, b)


@dataclass(slots=True)
class _Entry:
    ident: str
    words: frozenset[str]
    vector: Sequence[float] | None


@dataclass(slots=True)
class NearDuplicateIndex:
    """Texts grouped by a key (e.g. the task keys); finds the near-duplicate of a new text.

    Only texts under the same group are compared: the same question from an
    enterprise and a consumer customer is two different cases.
    """

    threshold: float = JACCARD_THRESHOLD
    """Jaccard threshold."""
    embedder: Embedder | None = None
    """Compare embeddings too, when given."""
    cosine_threshold: float = COSINE_THRESHOLD
    """Cosine threshold for the embeddings."""
    _exact: dict[tuple[Hashable, str], str] = field(default_factory=dict)
    _groups: dict[Hashable, list[_Entry]] = field(default_factory=dict)
    _vectors: dict[str, Sequence[float]] = field(default_factory=dict)

    def prepare(self, texts: Sequence[str]) -> None:
        """Embed these texts in one batch ahead of :meth:`add` / :meth:`find` (no-op without)."""
        if self.embedder is None:
            return
        todo = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if todo:
            self._vectors.update(zip(todo, self.embedder.embed(todo), strict=True))

    def _vector(self, text: str) -> Sequence[float] | None:
        if self.embedder is None:
            return None
        if text not in self._vectors:
            self.prepare([text])
        return self._vectors[text]

    def add(self, ident: str, text: str, group: Hashable = None) -> None:
        """Index ``text`` under ``ident``; the first text with a signature keeps it."""
        self._exact.setdefault((group, signature_of(text)), ident)
        entry = _Entry(ident=ident, words=word_set(text), vector=self._vector(text))
        self._groups.setdefault(group, []).append(entry)

    def find(self, text: str, group: Hashable = None) -> str | None:
        """The ident of the indexed text most like ``text`` in its group, or None."""
        exact = self._exact.get((group, signature_of(text)))
        if exact is not None:
            return exact
        words = word_set(text)
        vector = self._vector(text)
        best: tuple[float, str] | None = None
        for entry in self._groups.get(group, ()):
            score = jaccard(words, entry.words)
            if score >= self.threshold and (best is None or score > best[0]):
                best = (score, entry.ident)
        if best is None and vector is not None:
            for entry in self._groups.get(group, ()):
                if entry.vector is None:
                    continue
                score = _cosine(vector, entry.vector)
                if score >= self.cosine_threshold and (best is None or score > best[0]):
                    best = (score, entry.ident)
        return None if best is None else best[1]
