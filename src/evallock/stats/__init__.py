"""Statistics for evals: intervals, paired tests, power, multiplicity, agreement, drift.

Importing the package is cheap: each name loads its module (and numpy or scipy)
the first time it is used, so the gate's ``wilson_interval`` costs no numpy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evallock.stats._baseline import Baseline
    from evallock.stats._results import Estimate, Interval, TestResult
    from evallock.stats.agreement import (
        Agreement,
        JudgeAgreement,
        cohen_kappa,
        judge_agreement,
        krippendorff_alpha,
        weighted_kappa,
    )
    from evallock.stats.arl import (
        bernoulli_cusum_arl,
        bernoulli_cusum_threshold,
        cusum_arl,
        cusum_threshold,
        ewma_arl,
        ewma_width,
    )
    from evallock.stats.detectors import CUSUM, EWMA, BernoulliCUSUM, DriftDetector, PageHinkley
    from evallock.stats.means import (
        ClusteredStandardError,
        TrialDecomposition,
        clustered_standard_error,
        decompose_trials,
        mean_estimate,
    )
    from evallock.stats.multiplicity import (
        AdjustedPValues,
        adjust_benjamini_hochberg,
        adjust_benjamini_yekutieli,
        adjust_bonferroni,
        adjust_hochberg,
        adjust_holm,
    )
    from evallock.stats.paired import mcnemar_test, paired_difference, paired_t_test, sign_test
    from evallock.stats.power import (
        PowerAnalysis,
        mcnemar_mde,
        mcnemar_sample_size,
        paired_mde,
        paired_sample_size,
        trials_variance_ratio,
    )
    from evallock.stats.ppi import ppi_mean
    from evallock.stats.proportions import binomial_test, clopper_pearson_interval, wilson_interval
    from evallock.stats.ranks import hodges_lehmann, wilcoxon_signed_rank_test
    from evallock.stats.resampling import bootstrap_interval, permutation_test
    from evallock.stats.sequential import (
        DiscordantPairEProcess,
        MixtureSPRT,
        SequentialState,
        discordant_pair_test,
        msprt_test,
    )

__all__ = [
    "CUSUM",
    "EWMA",
    "AdjustedPValues",
    "Agreement",
    "Baseline",
    "BernoulliCUSUM",
    "ClusteredStandardError",
    "DiscordantPairEProcess",
    "DriftDetector",
    "Estimate",
    "Interval",
    "JudgeAgreement",
    "MixtureSPRT",
    "PageHinkley",
    "PowerAnalysis",
    "SequentialState",
    "TestResult",
    "TrialDecomposition",
    "adjust_benjamini_hochberg",
    "adjust_benjamini_yekutieli",
    "adjust_bonferroni",
    "adjust_hochberg",
    "adjust_holm",
    "bernoulli_cusum_arl",
    "bernoulli_cusum_threshold",
    "binomial_test",
    "bootstrap_interval",
    "clopper_pearson_interval",
    "clustered_standard_error",
    "cohen_kappa",
    "cusum_arl",
    "cusum_threshold",
    "decompose_trials",
    "discordant_pair_test",
    "ewma_arl",
    "ewma_width",
    "hodges_lehmann",
    "judge_agreement",
    "krippendorff_alpha",
    "mcnemar_mde",
    "mcnemar_sample_size",
    "mcnemar_test",
    "mean_estimate",
    "msprt_test",
    "paired_difference",
    "paired_mde",
    "paired_sample_size",
    "paired_t_test",
    "permutation_test",
    "ppi_mean",
    "sign_test",
    "trials_variance_ratio",
    "weighted_kappa",
    "wilcoxon_signed_rank_test",
    "wilson_interval",
]

_WHERE: dict[str, str] = {
    "Baseline": "evallock.stats._baseline",
    "Estimate": "evallock.stats._results",
    "Interval": "evallock.stats._results",
    "TestResult": "evallock.stats._results",
    "Agreement": "evallock.stats.agreement",
    "JudgeAgreement": "evallock.stats.agreement",
    "cohen_kappa": "evallock.stats.agreement",
    "judge_agreement": "evallock.stats.agreement",
    "krippendorff_alpha": "evallock.stats.agreement",
    "weighted_kappa": "evallock.stats.agreement",
    "bernoulli_cusum_arl": "evallock.stats.arl",
    "bernoulli_cusum_threshold": "evallock.stats.arl",
    "cusum_arl": "evallock.stats.arl",
    "cusum_threshold": "evallock.stats.arl",
    "ewma_arl": "evallock.stats.arl",
    "ewma_width": "evallock.stats.arl",
    "CUSUM": "evallock.stats.detectors",
    "EWMA": "evallock.stats.detectors",
    "BernoulliCUSUM": "evallock.stats.detectors",
    "DriftDetector": "evallock.stats.detectors",
    "PageHinkley": "evallock.stats.detectors",
    "ClusteredStandardError": "evallock.stats.means",
    "TrialDecomposition": "evallock.stats.means",
    "clustered_standard_error": "evallock.stats.means",
    "decompose_trials": "evallock.stats.means",
    "mean_estimate": "evallock.stats.means",
    "AdjustedPValues": "evallock.stats.multiplicity",
    "adjust_benjamini_hochberg": "evallock.stats.multiplicity",
    "adjust_benjamini_yekutieli": "evallock.stats.multiplicity",
    "adjust_bonferroni": "evallock.stats.multiplicity",
    "adjust_hochberg": "evallock.stats.multiplicity",
    "adjust_holm": "evallock.stats.multiplicity",
    "mcnemar_test": "evallock.stats.paired",
    "paired_difference": "evallock.stats.paired",
    "paired_t_test": "evallock.stats.paired",
    "sign_test": "evallock.stats.paired",
    "PowerAnalysis": "evallock.stats.power",
    "mcnemar_mde": "evallock.stats.power",
    "mcnemar_sample_size": "evallock.stats.power",
    "paired_mde": "evallock.stats.power",
    "paired_sample_size": "evallock.stats.power",
    "trials_variance_ratio": "evallock.stats.power",
    "ppi_mean": "evallock.stats.ppi",
    "binomial_test": "evallock.stats.proportions",
    "clopper_pearson_interval": "evallock.stats.proportions",
    "wilson_interval": "evallock.stats.proportions",
    "hodges_lehmann": "evallock.stats.ranks",
    "wilcoxon_signed_rank_test": "evallock.stats.ranks",
    "bootstrap_interval": "evallock.stats.resampling",
    "permutation_test": "evallock.stats.resampling",
    "DiscordantPairEProcess": "evallock.stats.sequential",
    "MixtureSPRT": "evallock.stats.sequential",
    "SequentialState": "evallock.stats.sequential",
    "discordant_pair_test": "evallock.stats.sequential",
    "msprt_test": "evallock.stats.sequential",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
