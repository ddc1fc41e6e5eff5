"""Input drift on the texts themselves: an MMD permutation test on sentence embeddings.

The maximum mean discrepancy (MMD) between the embeddings of the baseline's
inputs and the current window's, with a Gaussian kernel whose bandwidth is the
median pairwise distance, tested by permuting the window labels (seeded). The
report also lists the current inputs least like the baseline: those with the
lowest mean kernel similarity to it, i.e. where the witness function says the
new traffic lives. Needs the ``embeddings`` extra (``pip install 'evallock[embeddings]'``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from evallock.graders.similarity import Embedder

__all__ = ["EmbeddingDrift", "embedding_drift", "mmd_permutation_test"]

Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True, kw_only=True, slots=True)
class EmbeddingDrift:
    """Did the inputs themselves move, and which new ones look least like before?"""

    mmd2: float
    """The (biased) squared MMD between the two samples' embeddings."""
    p_value: float
    """Permutation p-value of "same distribution" (with the +1 correction)."""
    permutations: int
    """How many label permutations were drawn."""
    n_baseline: int
    """Baseline inputs embedded."""
    n_current: int
    """Current inputs embedded."""
    examples: list[str]
    """A few current inputs least like the baseline, most unlike first."""


def _kernel(x: Matrix, bandwidth: float) -> Matrix:
    squared = np.sum(x * x, axis=1)
    distances = np.maximum(squared[:, None] + squared[None, :] - 2.0 * x @ x.T, 0.0)
    result: Matrix = np.exp(-distances / (2.0 * bandwidth * bandwidth))
    return result


def _mmd2(kernel: Matrix, first: npt.NDArray[np.bool_]) -> float:
    second = ~first
    n, m = int(first.sum()), int(second.sum())
    kxx = kernel[np.ix_(first, first)].sum() / (n * n)
    kyy = kernel[np.ix_(second, second)].sum() / (m * m)
    kxy = kernel[np.ix_(first, second)].sum() / (n * m)
    return float(kxx + kyy - 2.0 * kxy)


def mmd_permutation_test(
    baseline: Matrix, current: Matrix, *, permutations: int = 500, seed: int = 0
) -> tuple[float, float, Matrix]:
    """MMD² of two samples, its permutation p-value, and the joint kernel matrix.

    Raises:
        ValueError: a sample with fewer than 2 rows.
    """
    if len(baseline) < 2 or len(current) < 2:
        raise ValueError("each sample needs at least 2 inputs")
    joint = np.vstack([baseline, current])
    squared = np.sum(joint * joint, axis=1)
    distances = np.sqrt(
        np.maximum(squared[:, None] + squared[None, :] - 2.0 * joint @ joint.T, 0.0)
    )
    upper = distances[np.triu_indices(len(joint), k=1)]
    bandwidth = float(np.median(upper[upper > 0])) if np.any(upper > 0) else 1.0
    kernel = _kernel(joint, bandwidth)
    labels = np.zeros(len(joint), dtype=bool)
    labels[: len(baseline)] = True
    observed = _mmd2(kernel, labels)
    rng = np.random.default_rng(seed)
    exceed = 0
    for _ in range(permutations):
        shuffled = rng.permutation(labels)
        exceed += _mmd2(kernel, shuffled) >= observed
    return observed, (exceed + 1) / (permutations + 1), kernel


def embedding_drift(
    baseline: Sequence[str],
    current: Sequence[str],
    *,
    embedder: Embedder,
    permutations: int = 500,
    seed: int = 0,
    examples: int = 3,
) -> EmbeddingDrift:
    """Embed both samples' inputs and test whether they come from one distribution."""
    vectors = np.asarray(embedder.embed([*baseline, *current]), dtype=np.float64)
    base, now = vectors[: len(baseline)], vectors[len(baseline) :]
    mmd2, p_value, kernel = mmd_permutation_test(base, now, permutations=permutations, seed=seed)
    n = len(baseline)
    # Mean similarity of each current input to the baseline: the lowest are the newest ground.
    affinity = kernel[n:, :n].mean(axis=1)
    order = np.argsort(affinity, kind="stable")
    seen: set[str] = set()
    chosen: list[str] = []
    for index in order:
        text = current[int(index)]
        if text not in seen:
            seen.add(text)
            chosen.append(text)
        if len(chosen) == examples:
            break
    return EmbeddingDrift(
        mmd2=mmd2,
        p_value=p_value,
        permutations=permutations,
        n_baseline=len(baseline),
        n_current=len(current),
        examples=chosen,
    )
