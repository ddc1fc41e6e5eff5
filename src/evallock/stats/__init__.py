"""Statistics for evals: intervals, paired tests, power, multiplicity, agreement, drift.

Importing the package is cheap: each name loads its module (and numpy or scipy)
the first time it is used, so the gate's ``wilson_interval`` costs no numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evallock._lazy import lazy_names

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
    from evallock.stats.moments import (
        Difference,
        Moments,
        newcombe_interval,
        proportion_difference,
        t_mean_interval,
        welch_difference,
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
    "Difference",
    "DiscordantPairEProcess",
    "DriftDetector",
    "Estimate",
    "Interval",
    "JudgeAgreement",
    "MixtureSPRT",
    "Moments",
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
    "newcombe_interval",
    "paired_difference",
    "paired_mde",
    "paired_sample_size",
    "paired_t_test",
    "permutation_test",
    "ppi_mean",
    "proportion_difference",
    "sign_test",
    "t_mean_interval",
    "trials_variance_ratio",
    "weighted_kappa",
    "welch_difference",
    "wilcoxon_signed_rank_test",
    "wilson_interval",
]

_WHERE: dict[str, str] = {
    "Baseline": "_baseline",
    "Estimate": "_results",
    "Interval": "_results",
    "TestResult": "_results",
    "Agreement": "agreement",
    "JudgeAgreement": "agreement",
    "cohen_kappa": "agreement",
    "judge_agreement": "agreement",
    "krippendorff_alpha": "agreement",
    "weighted_kappa": "agreement",
    "bernoulli_cusum_arl": "arl",
    "bernoulli_cusum_threshold": "arl",
    "cusum_arl": "arl",
    "cusum_threshold": "arl",
    "ewma_arl": "arl",
    "ewma_width": "arl",
    "CUSUM": "detectors",
    "EWMA": "detectors",
    "BernoulliCUSUM": "detectors",
    "DriftDetector": "detectors",
    "PageHinkley": "detectors",
    "ClusteredStandardError": "means",
    "TrialDecomposition": "means",
    "clustered_standard_error": "means",
    "decompose_trials": "means",
    "mean_estimate": "means",
    "AdjustedPValues": "multiplicity",
    "adjust_benjamini_hochberg": "multiplicity",
    "adjust_benjamini_yekutieli": "multiplicity",
    "adjust_bonferroni": "multiplicity",
    "adjust_hochberg": "multiplicity",
    "adjust_holm": "multiplicity",
    "mcnemar_test": "paired",
    "paired_difference": "paired",
    "paired_t_test": "paired",
    "sign_test": "paired",
    "PowerAnalysis": "power",
    "mcnemar_mde": "power",
    "mcnemar_sample_size": "power",
    "paired_mde": "power",
    "paired_sample_size": "power",
    "trials_variance_ratio": "power",
    "ppi_mean": "ppi",
    "binomial_test": "proportions",
    "clopper_pearson_interval": "proportions",
    "wilson_interval": "proportions",
    "Difference": "moments",
    "Moments": "moments",
    "newcombe_interval": "moments",
    "proportion_difference": "moments",
    "t_mean_interval": "moments",
    "welch_difference": "moments",
    "hodges_lehmann": "ranks",
    "wilcoxon_signed_rank_test": "ranks",
    "bootstrap_interval": "resampling",
    "permutation_test": "resampling",
    "DiscordantPairEProcess": "sequential",
    "MixtureSPRT": "sequential",
    "SequentialState": "sequential",
    "discordant_pair_test": "sequential",
    "msprt_test": "sequential",
}


__getattr__ = lazy_names(__name__, _WHERE)


def __dir__() -> list[str]:
    return sorted(__all__)
