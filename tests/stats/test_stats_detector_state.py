"""Detector state round-trips through JSON, and the warm-up ARL0 is what charts really get."""

from __future__ import annotations

import doctest
import json
import math
from collections.abc import Callable

import numpy as np
import pytest

from evallock.errors import UsageError
from evallock.stats import (
    CUSUM,
    EWMA,
    BernoulliCUSUM,
    DriftDetector,
    PageHinkley,
    cusum_arl,
    cusum_warmup_arl,
    detector_from_state,
    ewma_warmup_arl,
    ewma_warmup_width,
)
from evallock.stats import warmup as warmup_module
from evallock.stats.arl import one_sided_cusum_arl

STREAM = np.concatenate(
    [np.random.default_rng(9).normal(0, 1, 300), np.random.default_rng(10).normal(-0.9, 1, 200)]
)

MAKERS: dict[str, Callable[[], DriftDetector]] = {
    "cusum-warmup": lambda: CUSUM(warmup=40, mode="down"),
    "cusum-known": lambda: CUSUM(mean=0.0, sd=1.0, h=3.0),
    "ewma-warmup": lambda: EWMA(warmup=25),
    "ewma-known": lambda: EWMA(mean=0.0, sd=1.0, width=2.5, mode="down"),
    "bernoulli": lambda: BernoulliCUSUM(p0=0.1, p1=0.3, h=2.0),
    "page-hinkley": lambda: PageHinkley(threshold=3.0),
}


def _feed(detector: DriftDetector, values: np.ndarray) -> list[bool]:
    alarms = []
    for x in values.tolist():
        detector.update(x < -1.2 if isinstance(detector, BernoulliCUSUM) else x)
        alarms.append(detector.drift_detected)
    return alarms


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_save_and_restore_anywhere_gives_the_uninterrupted_alarms(name: str) -> None:
    make = MAKERS[name]
    whole = _feed(make(), STREAM)
    assert any(whole)
    for cut in (0, 1, 24, 25, 39, 40, 41, 180, 333):
        first = make()
        head = _feed(first, STREAM[:cut])
        saved = json.dumps(first.to_state(), allow_nan=False)  # plain JSON, no NaN/inf
        tail = _feed(detector_from_state(json.loads(saved)), STREAM[cut:])
        assert head + tail == whole, (name, cut)


def test_restored_state_is_equal_and_validated() -> None:
    chart = CUSUM(warmup=5)
    _feed(chart, STREAM[:12])
    again = CUSUM.from_state(chart.to_state())
    assert again.to_state() == chart.to_state()
    assert again.baseline == chart.baseline
    with pytest.raises(UsageError):
        EWMA.from_state(chart.to_state())
    with pytest.raises(UsageError):
        detector_from_state({"kind": "ADWIN"})


def test_warmup_arl_matches_monte_carlo_over_warmups() -> None:
    # conditional ARL of each simulated warm-up (Markov chain), then its distribution
    rng = np.random.default_rng(11)
    samples = rng.normal(0, 1, (1500, 50))
    mu, sd = samples.mean(axis=1), samples.std(axis=1, ddof=1)
    arls = np.array(
        [
            1.0
            / (
                1.0 / one_sided_cusum_arl(m + 0.5 * s, 5.0 * s, 0.0, 64)
                + 1.0 / one_sided_cusum_arl(-m + 0.5 * s, 5.0 * s, 0.0, 64)
            )
            for m, s in zip(mu.tolist(), sd.tolist(), strict=True)
        ]
    )
    design = cusum_warmup_arl(h=5.0, warmup=50)
    assert design.known == pytest.approx(cusum_arl(h=5.0))
    assert design.median == pytest.approx(np.median(arls), rel=0.06)
    assert design.low == pytest.approx(np.quantile(arls, 0.1), rel=0.08)
    assert design.mean == pytest.approx(arls.mean(), rel=0.08)
    assert design.low < design.median < design.known


def test_warmup_figures_converge_to_the_known_design() -> None:
    long = cusum_warmup_arl(h=5.0, warmup=20_000)
    assert long.median == pytest.approx(long.known, rel=0.03)
    ewma = ewma_warmup_arl(width=2.962, warmup=20_000)
    assert ewma.median == pytest.approx(ewma.known, rel=0.03)


def test_guarantee_thresholds_exceed_the_known_design() -> None:
    target = cusum_arl(h=5.0)
    chart = CUSUM(warmup=100, warmup_guarantee=0.9)  # h from cusum_warmup_threshold
    assert chart.h > 5.0
    assert chart.warmup_arl0 is not None
    assert chart.warmup_arl0.low == pytest.approx(target, rel=0.01)  # 90 % of warm-ups reach it
    assert chart.warmup_arl0.known > target
    width = ewma_warmup_width(500.0, warmup=100)
    assert width > 2.962
    assert ewma_warmup_arl(width=width, warmup=100).low == pytest.approx(500.0, rel=0.01)
    assert CUSUM(mean=0.0, sd=1.0).warmup_arl0 is None
    with pytest.raises(UsageError):
        CUSUM(mean=0.0, sd=1.0, warmup_guarantee=0.9)
    with pytest.raises(UsageError):
        EWMA(warmup_guarantee=1.5)


def test_doctests() -> None:
    assert doctest.testmod(warmup_module).failed == 0
    assert math.isfinite(cusum_arl(h=5.0))
