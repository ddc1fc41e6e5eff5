"""A/B comparison of two variants on the same cases, with paired statistics."""

from evallock.ab._analysis import (
    ArmSummary,
    Metric,
    PairedAnalysis,
    Power,
    TrialNoise,
    analyse_pairs,
    decide,
)
from evallock.ab._compare import (
    ABOutcome,
    ABRequest,
    check_ab_settings,
    compare_runs,
    compare_variants,
)
from evallock.ab._slices import SliceResult, analyse_slices
from evallock.ab._spec import Variant, apply_spec, parse_spec

__all__ = [
    "ABOutcome",
    "ABRequest",
    "ArmSummary",
    "Metric",
    "PairedAnalysis",
    "Power",
    "SliceResult",
    "TrialNoise",
    "Variant",
    "analyse_pairs",
    "analyse_slices",
    "apply_spec",
    "check_ab_settings",
    "compare_runs",
    "compare_variants",
    "decide",
    "parse_spec",
]
