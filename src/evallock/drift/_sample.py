"""Deterministic sampling of traces: a hash of trace id and seed, the smallest N win.

A re-run with the same seed picks the same traces (bottom-k sampling is a
uniform sample without replacement for any fixed seed). With strata, each
stratum gets its share of N, but never fewer than ``min_per_stratum`` (or all it
has), so small slices are not starved; the report re-weights by stratum size.
"""

from __future__ import annotations

import heapq
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["Sample", "sample_key", "sample_traces"]


def sample_key(trace_id: str, seed: int) -> int:
    """The trace's place in the seed's random order (CRC-32: fast, stable across runs)."""
    return zlib.crc32(trace_id.encode(), zlib.crc32(str(seed).encode()))


@dataclass(frozen=True, kw_only=True, slots=True)
class Sample:
    """The chosen trace ids, and the size of each stratum in the window."""

    trace_ids: list[str]
    """Chosen ids, in sampling order."""
    stratum_of: dict[str, str]
    """Chosen id → its stratum (empty when not stratified)."""
    stratum_sizes: dict[str, int]
    """Traces in the window per stratum (``{"": total}`` when not stratified)."""
    available: int
    """Traces in the window."""


def sample_traces(
    rows: Iterable[tuple[str, str | None]],
    n: int,
    *,
    seed: int = 0,
    stratified: bool = False,
    min_per_stratum: int = 20,
) -> Sample:
    """Choose up to ``n`` trace ids from ``(trace_id, stratum)`` rows.

    Args:
        rows: every trace in the window with its stratum value (None → ``(none)``).
        n: how many to choose; all are chosen when the window has fewer.
        seed: picks the random order.
        stratified: allocate per stratum (proportional, with the floor below).
        min_per_stratum: the floor per stratum when stratified.
    """
    strata: dict[str, list[tuple[int, str]]] = {}
    for trace_id, stratum in rows:
        key = (stratum or "(none)") if stratified else ""
        strata.setdefault(key, []).append((sample_key(trace_id, seed), trace_id))
    sizes = {name: len(items) for name, items in strata.items()}
    available = sum(sizes.values())
    quotas = _allocate(sizes, n, min_per_stratum) if stratified else {"": min(n, available)}
    chosen: list[str] = []
    stratum_of: dict[str, str] = {}
    for name, items in sorted(strata.items()):
        for _, trace_id in heapq.nsmallest(quotas.get(name, 0), items):
            chosen.append(trace_id)
            if stratified:
                stratum_of[trace_id] = name
    return Sample(trace_ids=chosen, stratum_of=stratum_of, stratum_sizes=sizes, available=available)


def _allocate(sizes: dict[str, int], n: int, floor: int) -> dict[str, int]:
    total = sum(sizes.values())
    if total <= n:
        return dict(sizes)
    quotas = {}
    for name, size in sizes.items():
        share = round(n * size / total)
        quotas[name] = min(size, max(share, floor))
    return quotas


def strata_weights(sizes: Sequence[int]) -> list[float]:
    """Each stratum's share of the window."""
    total = sum(sizes)
    return [s / total for s in sizes] if total else []
