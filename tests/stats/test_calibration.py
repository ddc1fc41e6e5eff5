"""A fast, seeded run of every check in bench/calibration.py (the full run is on demand).

Each check simulates a statistic against its nominal level or its predicted power/ARL;
a row fails when it is more than 4.5 Monte-Carlo SEs (plus the row's stated allowance for
asymptotic methods) from the nominal value, or above it for "<=" rows. Info rows (naive
methods shown for contrast) are not judged, but their direction is: they must be worse.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "calibration.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("evallock_bench_calibration", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


calibration = _load()

SIZE = {  # fraction of the full run's simulations: enough to catch a wrong formula
    "paired interval coverage (Tango, Newcombe)": 0.4,
    "exact lower bound coverage": 0.15,
    "t and Wilson interval coverage": 0.5,
    "floor test type I error at small n": 0.25,
    "floor rule power vs prediction": 0.3,
    "detector ARL0": 0.1,
    "detector delay, 0.3 SD shift": 0.1,
    "drift tests type I error": 0.12,
    "baseline-aware mean shift": 0.2,
    "always-valid inference under continuous peeking": 0.1,
    "family-wise error of per-slice floor wins": 0.5,
    "drift report false alarms (200-trace baseline)": 0.15,
    "drift false alarms per month of daily checks": 0.2,
    "gate: point rule error at n=28 vs the stated separation": 0.5,
    "online A/B monitor: false winner over daily looks": 0.3,
    "judge agreement: quadratic kappa interval coverage": 0.25,
}


def test_every_check_has_a_test_size() -> None:
    assert set(SIZE) == set(calibration.CHECKS)


@pytest.mark.parametrize("name", sorted(SIZE))
def test_check_is_calibrated(name: str) -> None:
    rows = calibration.CHECKS[name](SIZE[name], 7)
    assert rows
    failures = [calibration.render([row]) for row in rows if row.ok() is False]
    assert not failures, "\n".join(failures)
    for row in rows:
        if row.relation == "info" and row.nominal == row.nominal:  # not NaN
            assert row.measured > row.nominal, f"{row.name}: the naive method should be worse"
