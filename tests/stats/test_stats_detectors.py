"""Drift detectors: false-alarm rate (ARL0) and detection delay on seeded streams."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from evallock.errors import UsageError
from evallock.stats import (
    CUSUM,
    EWMA,
    BernoulliCUSUM,
    DriftDetector,
    PageHinkley,
    bernoulli_cusum_arl,
    cusum_arl,
    detectors,
    ewma_arl,
    sequential,
)


def _run_length(detector: DriftDetector, values: np.ndarray) -> int | None:
    """1-based index of the first alarm, or None."""
    for i, x in enumerate(values.tolist(), start=1):
        detector.update(x)
        if detector.drift_detected:
            return i
    return None


def _mean_run_length(make: object, draw: object, runs: int, cap: int) -> float:
    lengths = []
    for _ in range(runs):
        length = _run_length(make(), draw(cap))  # type: ignore[operator]
        lengths.append(cap if length is None else length)
    return float(np.mean(lengths))


def test_cusum_false_alarm_interval_matches_its_design() -> None:
    rng = np.random.default_rng(10)
    chart = CUSUM(mean=0.0, sd=1.0, arl0=200)
    assert chart.arl0 == pytest.approx(200, rel=1e-4)
    observed = _mean_run_length(
        lambda: CUSUM(mean=0.0, sd=1.0, h=chart.h), lambda m: rng.normal(size=m), 300, 5000
    )
    assert observed == pytest.approx(200, rel=0.2)  # ~3.5 Monte-Carlo SEs


def test_cusum_detects_a_one_sigma_drop_with_its_design_delay() -> None:
    rng = np.random.default_rng(11)
    delay = _mean_run_length(
        lambda: CUSUM(mean=0.0, sd=1.0, h=5.0, mode="down"),
        lambda m: rng.normal(-1.0, 1.0, size=m),
        300,
        500,
    )
    assert delay == pytest.approx(cusum_arl(h=5.0, shift=1.0, two_sided=False), rel=0.1)


def test_ewma_false_alarms_and_detection() -> None:
    rng = np.random.default_rng(12)
    chart = EWMA(mean=0.0, sd=1.0, arl0=200)
    assert ewma_arl(width=chart.width) == pytest.approx(200, rel=1e-4)
    observed = _mean_run_length(
        lambda: EWMA(mean=0.0, sd=1.0, width=chart.width), lambda m: rng.normal(size=m), 300, 5000
    )
    # exact (narrower) start-up limits alarm a little earlier than the asymptotic design
    assert 0.75 * 200 <= observed <= 1.15 * 200
    delay = _mean_run_length(
        lambda: EWMA(mean=0.0, sd=1.0, width=2.962),
        lambda m: rng.normal(1.0, 1.0, size=m),
        300,
        500,
    )
    assert delay == pytest.approx(ewma_arl(width=2.962, shift=1.0), rel=0.15)


def test_bernoulli_cusum_false_alarms_and_detection() -> None:
    rng = np.random.default_rng(13)
    design = bernoulli_cusum_arl(p0=0.02, p1=0.15, h=3.0)
    assert design == pytest.approx(374, rel=0.01)  # the reference's ARL0 ≈ 374
    observed = _mean_run_length(
        lambda: BernoulliCUSUM(p0=0.02, p1=0.15, h=3.0), lambda m: rng.random(m) < 0.02, 300, 8000
    )
    assert observed == pytest.approx(design, rel=0.2)
    delay = _mean_run_length(
        lambda: BernoulliCUSUM(p0=0.02, p1=0.15, h=3.0), lambda m: rng.random(m) < 0.15, 300, 500
    )
    assert delay == pytest.approx(bernoulli_cusum_arl(p0=0.02, p1=0.15, h=3.0, p=0.15), rel=0.1)
    assert delay == pytest.approx(15.5, rel=0.1)  # the reference's ARL1 ≈ 15.5


def test_bernoulli_cusum_configured_by_arl0() -> None:
    chart = BernoulliCUSUM(p0=0.05, p1=0.15, arl0=400)
    assert chart.arl0 >= 400
    assert bernoulli_cusum_arl(p0=0.05, p1=0.15, h=chart.h * 0.98) < 400


def test_page_hinkley_quiet_on_a_stable_stream_then_detects() -> None:
    rng = np.random.default_rng(14)
    stable = rng.normal(4.2, 0.35, size=400)
    detector = PageHinkley(threshold=4.0, mode="down")
    assert _run_length(detector, stable) is None
    shifted = rng.normal(3.7, 0.35, size=100)
    assert _run_length(detector, shifted) is not None


def test_warm_up_freezes_the_baseline() -> None:
    rng = np.random.default_rng(15)
    chart = CUSUM(warmup=50)
    for x in rng.normal(3.0, 0.5, size=49):
        chart.update(x)
        assert not chart.drift_detected
    assert chart.baseline is None
    chart.update(3.0)
    assert chart.baseline is not None
    assert chart.baseline.mean == pytest.approx(3.0, abs=0.2)


def test_a_constant_baseline_alarms_on_any_move_without_warnings() -> None:
    for chart in (CUSUM(mean=5.0, sd=0.0), EWMA(mean=5.0, sd=0.0)):
        chart.update(5.0)
        assert not chart.drift_detected
        chart.update(4.0)
        assert chart.drift_detected


def test_detector_restarts_after_an_alarm() -> None:
    chart = CUSUM(mean=0.0, sd=1.0, h=1.0, mode="up")
    for x in (1.0, 1.0, 1.0):
        chart.update(x)
    assert chart.drift_detected
    chart.update(0.0)
    assert not chart.drift_detected
    assert chart.upper == 0.0


@pytest.mark.parametrize(
    "make",
    [
        lambda: CUSUM(mean=0.0, sd=1.0, h=4.0, arl0=100),
        lambda: CUSUM(mean=0.0),
        lambda: EWMA(lam=0.0),
        lambda: BernoulliCUSUM(p0=0.1, p1=0.1),
        lambda: PageHinkley(threshold=0.0),
        lambda: CUSUM(mode="sideways"),  # type: ignore[arg-type]
    ],
)
def test_bad_settings_are_usage_errors(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError):
        make()


@pytest.mark.parametrize("module", [detectors, sequential], ids=lambda m: m.__name__)
def test_seeded_doctests(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)  # type: ignore[arg-type]
    assert result.attempted > 0
    assert result.failed == 0
