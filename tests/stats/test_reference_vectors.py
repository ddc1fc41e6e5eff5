"""Every number in shared/reference/stats-vectors.json, checked against evallock.stats.

One test per expected quantity (``vector:path``). Quantities evallock.stats does not
compute on purpose (river's ADWIN, the dashboard's rolling windows, Siegmund's
approximation) are listed in ``NOT_COMPUTED`` with the reason, and skip with it; a quantity
that is neither computed nor listed fails, so a new vector cannot go unchecked.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evallock import stats

# A copy of shared/reference/stats-vectors.json lives beside this file so the suite never
# depends on the checkout's neighbours; test_copy_matches_shared keeps the two equal.
VECTORS_PATH = Path(__file__).resolve().parent / "data" / "stats-vectors.json"
SHARED_PATH = Path(__file__).resolve().parents[3] / "shared" / "reference" / "stats-vectors.json"
# Expected floats are rounded to 12 significant digits: allow that much relative slack.
ROUNDING = 5e-12

Computed = dict[str, Any]


def _load() -> dict[str, dict[str, Any]]:
    if not VECTORS_PATH.is_file():
        return {}
    with VECTORS_PATH.open(encoding="utf-8") as file:
        return {vector["name"]: vector for vector in json.load(file)["vectors"]}


VECTORS = _load()


def _leaves(tree: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _leaves(value, f"{prefix}.{key}" if prefix else key)
    else:
        yield prefix, tree


def _flat(tree: dict[str, Any]) -> Computed:
    return dict(_leaves(tree))


# --- one function per vector: the quantities as evallock.stats computes them ----------


def _mcnemar_small_n40(v: dict[str, Any]) -> Computed:
    a, b = v["input"]["A"], v["input"]["B"]
    exact = stats.mcnemar_test(a, b, method="exact")
    chi2 = stats.mcnemar_test(a, b, method="asymptotic")
    chi2_cc = stats.mcnemar_test(a, b, method="asymptotic-cc")
    paired = stats.paired_difference(a, b)
    wald = stats.paired_difference(a, b, ddof=0)
    assert paired.interval is not None and wald.interval is not None
    return {
        "n": exact.n,
        "n11": exact.details["n11"],
        "b_A_only": exact.details["b_a_only"],
        "c_B_only": exact.details["c_b_only"],
        "n00": exact.details["n00"],
        "exact_p": exact.p_value,
        "mid_p": stats.mcnemar_test(a, b).p_value,
        "chi2": chi2.statistic,
        "p_chi2": chi2.p_value,
        "chi2_cc": chi2_cc.statistic,
        "p_chi2_cc": chi2_cc.p_value,
        "mean_diff": paired.estimate,
        "se_paired": paired.details["se"],
        "ci95_clt": [paired.interval.lo, paired.interval.hi],
        "se_wald": wald.details["se"],
        "ci95_wald": [wald.interval.lo, wald.interval.hi],
        "corr_AB": paired.details["corr_ab"],
        "se_unpaired": paired.details["se_unpaired"],
        "variance_ratio_paired_over_unpaired": paired.details[
            "variance_ratio_paired_over_unpaired"
        ],
    }


def _golden_set_gate(v: dict[str, Any]) -> Computed:
    passes, n = v["input"]["passes"], v["input"]["n"]
    p0 = v["parameters"]["threshold_p0"]
    wilson = stats.wilson_interval(passes, n)
    cp = stats.clopper_pearson_interval(passes, n)
    wilson_lower = stats.wilson_interval(passes, n, side="lower").lo
    cp_lower = stats.clopper_pearson_interval(passes, n, side="lower").lo
    exact = stats.binomial_test(passes, n, p0=p0, alternative="greater")
    return {
        "point": exact.estimate,
        "wilson95": [wilson.lo, wilson.hi],
        "clopper_pearson95": [cp.lo, cp.hi],
        "wilson_lower_one_sided95": wilson_lower,
        "cp_lower_one_sided95": cp_lower,
        "exact_one_sided_p_vs_p0": exact.p_value,
        "gate_passes_wilson": wilson_lower > p0,
        "gate_passes_exact": exact.p_value < 0.05,
        "exact_upper_fail_rate_if_50_of_50": stats.clopper_pearson_interval(0, 50, side="upper").hi,
    }


def _paired_ordinal(v: dict[str, Any]) -> Computed:
    a, b = v["input"]["A"], v["input"]["B"]
    sign = stats.sign_test(a, b)
    t = stats.paired_t_test(a, b)
    assert t.interval is not None
    out: Computed = {
        "n": sign.n,
        "n_zero": sign.details["n_zero"],
        "n_pos": sign.details["n_pos"],
        "n_neg": sign.details["n_neg"],
        "paired_t.mean_diff": t.estimate,
        "paired_t.sd_diff": t.details["sd"],
        "paired_t.se": t.details["se"],
        "paired_t.t": t.statistic,
        "paired_t.df": t.details["df"],
        "paired_t.p": t.p_value,
        "paired_t.ci95": [t.interval.lo, t.interval.hi],
        "paired_t.cohens_dz": t.details["cohens_dz"],
        "wilcoxon_exact_conditional_p": stats.wilcoxon_signed_rank_test(
            a, b, zero_method="wilcox", method="exact"
        ).p_value,
        "sign_test.statsmodels_M": sign.statistic,
        "sign_test.p": sign.p_value,
        "permutation_mean_diff_p": stats.permutation_test(a, b).p_value,
    }
    for zero_method in ("wilcox", "pratt", "zsplit"):
        plain = stats.wilcoxon_signed_rank_test(a, b, zero_method=zero_method)
        corrected = stats.wilcoxon_signed_rank_test(a, b, zero_method=zero_method, correction=True)
        key = f"wilcoxon_{zero_method}"
        out |= {
            f"{key}.W_plus": plain.details["w_plus"],
            f"{key}.W_minus": plain.details["w_minus"],
            f"{key}.z": plain.details["z"],
            f"{key}.p": plain.details["p_asymptotic"],
            f"{key}.p_continuity": corrected.details["p_asymptotic"],
        }
    return out


def _multiplicity(v: dict[str, Any]) -> Computed:
    p = v["input"]["p"]
    methods = {
        "bonferroni": stats.adjust_bonferroni,
        "holm": stats.adjust_holm,
        "simes-hochberg": stats.adjust_hochberg,
        "fdr_bh": stats.adjust_benjamini_hochberg,
        "fdr_by": stats.adjust_benjamini_yekutieli,
    }
    out: Computed = {}
    for name, adjust in methods.items():
        result = adjust(p)
        out[f"{name}.adjusted"] = list(result.adjusted)
        out[f"{name}.reject_at_0_05"] = list(result.reject(0.05))
    out["n_rejected_alpha_0_10.fdr_bh"] = sum(stats.adjust_benjamini_hochberg(p).reject(0.10))
    out["n_rejected_alpha_0_10.holm"] = sum(stats.adjust_holm(p).reject(0.10))
    return out


def _miller_power(v: dict[str, Any]) -> Computed:
    plan = stats.paired_sample_size(0.03, omega2=1 / 9, sigma2_a=0.0, sigma2_b=0.0)
    common = {"omega2": 1 / 9, "sigma2_a": 1 / 6, "sigma2_b": 1 / 6}
    out: Computed = {
        "n_for_3pt": plan.n_exact,
        "n_for_3pt_ceil": plan.n,
        "mde_n198_K1": stats.paired_mde(198, **common).mde,
        "mde_n198_K10": stats.paired_mde(198, trials_a=10, trials_b=10, **common).mde,
    }
    for k in v["expected"]["variance_factor_by_K"]:
        out[f"variance_factor_by_K.{k}"] = stats.trials_variance_ratio(
            int(k), between_var=1 / 12, within_var=1 / 6
        )
    return out


def _clustered_se(v: dict[str, Any]) -> Computed:
    clusters = v["input"]["cluster"]
    a, b = np.asarray(v["input"]["A"]), np.asarray(v["input"]["B"])
    out: Computed = {}
    for key, scores in (("A", a), ("B", b), ("B_minus_A", b - a)):
        miller = stats.clustered_standard_error(scores, clusters)
        cr0 = stats.clustered_standard_error(scores, clusters, correction="cr0")
        cr1 = stats.clustered_standard_error(scores, clusters, correction="cr1")
        out |= {
            f"{key}.mean": miller.mean,
            f"{key}.se_clt": miller.se_naive,
            f"{key}.se_clustered_miller_eq4": miller.se,
            f"{key}.se_clustered_inspect_ai": cr1.se,
            f"{key}.se_sandwich_CR0": cr0.se,
            f"{key}.se_statsmodels_cluster_corrected": cr1.se,
            f"{key}.ratio_miller_over_clt": miller.ratio,
        }
    paired = stats.paired_difference(a, b, clusters=clusters)  # the same SE, via eq. 8
    out["B_minus_A.se_clustered_miller_eq4"] = paired.details["se"]
    return out


def _ppi(v: dict[str, Any]) -> Computed:
    y, f = v["input"]["Y_human"], v["input"]["Yhat_judge_labeled"]
    spec = v["input"]["Yhat_judge_unlabeled"]
    unlabeled = [1.0] * spec["ones"] + [0.0] * spec["zeros"]
    classical = stats.mean_estimate(y, ddof=0)
    ppi = stats.ppi_mean(y, f, unlabeled)
    tuned = stats.ppi_mean(y, f, unlabeled, lam=None)
    out: Computed = {
        "naive_judge_mean": ppi.details["naive_judge_mean"],
        "rectifier_mean": ppi.details["rectifier_mean"],
        "ppi_plus_plus.lam": tuned.details["lam"],
    }
    for key, result in (("classical", classical), ("ppi", ppi), ("ppi_plus_plus", tuned)):
        point = "mean" if key == "classical" else "estimate"
        out |= {
            f"{key}.{point}": result.estimate,
            f"{key}.se": result.se,
            f"{key}.ci": [result.interval.lo, result.interval.hi],
        }
    return out


def _agreement(v: dict[str, Any]) -> Computed:
    human, judge = v["input"]["human"], v["input"]["judge"]
    scale = v["parameters"]["categories"]
    summary = stats.judge_agreement(judge, human, categories=scale)
    return {
        "exact_agreement": summary.exact,
        "within_1_agreement": summary.within_one,
        "mean_judge_minus_human": summary.mean_bias,
        "cohen_kappa_unweighted": summary.kappa_unweighted,
        "cohen_kappa_linear": stats.weighted_kappa(
            judge, human, weights="linear", categories=scale
        ).value,
        "cohen_kappa_quadratic": summary.kappa_quadratic,
        "krippendorff_alpha_nominal": stats.krippendorff_alpha(
            [human, judge], level="nominal"
        ).value,
        "krippendorff_alpha_ordinal": summary.alpha_ordinal,
        "krippendorff_alpha_interval": stats.krippendorff_alpha(
            [human, judge], level="interval"
        ).value,
        "spearman_rho": summary.spearman_rho,
        "spearman_p": summary.spearman_p,
        "kendall_tau_b": summary.kendall_tau_b,
        "kendall_p": summary.kendall_p,
        "pearson_r": summary.pearson_r,
    }


def _alarms(detector: stats.DriftDetector, series: list[float]) -> list[int]:
    found = []
    for i, x in enumerate(series):
        detector.update(x)
        if detector.drift_detected:
            found.append(i)
    return found


def _drift_stream(v: dict[str, Any]) -> Computed:
    series = v["input"]["series"]
    change = v["expected"]["true_change_index"]
    out: Computed = {}
    for h in (4, 5):
        chart = stats.CUSUM(mean=4.2, sd=0.35, k=0.5, h=h, mode="down")
        alarms, at_alarm, at_99 = [], [], 0.0
        for i, x in enumerate(series):
            chart.update(x)
            if chart.drift_detected:
                alarms.append(i)
                at_alarm.append(chart.lower)
            if i == change - 1:
                at_99 = chart.lower
        key = f"cusum_known_target.h{h}"
        out |= {
            f"{key}.first_alarm_index": alarms[0],
            f"{key}.delay_after_shift": alarms[0] - change,
            f"{key}.S_at_alarm": at_alarm[0],
            f"{key}.S_at_index_99": at_99,
            f"{key}.false_alarms_before_shift": sum(i < change for i in alarms),
        }
    river_style = stats.CUSUM(mode="down", warmup=30)
    first = _alarms(river_style, series)[0]
    assert river_style.baseline is not None
    out |= {
        "cusum_river_main_style.first_alarm_index": first,
        "cusum_river_main_style.ref_mean": river_style.baseline.mean,
        "cusum_river_main_style.ref_sd": river_style.baseline.sd,
    }
    ewma = stats.EWMA(mean=4.2, sd=0.35, lam=0.2, width=3.0)
    for i, x in enumerate(series):
        ewma.update(x)
        if ewma.drift_detected:
            out |= {"ewma.first_alarm_index": i, "ewma.z_at_alarm": ewma.value}
            break
    for key, threshold in (("threshold3_down", 3.0), ("threshold5_down", 5.0)):
        detector = stats.PageHinkley(threshold=threshold, mode="down")
        out[f"page_hinkley_{key}.detections"] = _alarms(detector, series)
    river_defaults = stats.PageHinkley(threshold=50.0)
    out["page_hinkley_river_defaults.detections"] = _alarms(river_defaults, series)
    return out


def _arl(v: dict[str, Any]) -> Computed:
    out: Computed = {}
    for h in (4, 5):
        key = f"cusum_k0.5_h{h}"
        out |= {
            f"{key}.one_sided_ARL0": stats.cusum_arl(k=0.5, h=h, two_sided=False),
            f"{key}.two_sided_ARL0_approx": stats.cusum_arl(k=0.5, h=h),
            f"{key}.ARL1_shift_1sd": stats.cusum_arl(k=0.5, h=h, shift=1.0),
            f"{key}.ARL1_shift_2sd": stats.cusum_arl(k=0.5, h=h, shift=2.0),
        }
    out["cusum_k0.5_h5.two_sided_ARL0_monte_carlo"] = out["cusum_k0.5_h5.two_sided_ARL0_approx"]
    for width in (3.0, 2.962):
        key = f"ewma_lambda0.2_L{width}"
        out |= {
            f"{key}.ARL0": stats.ewma_arl(lam=0.2, width=width),
            f"{key}.ARL1_shift_1sd": stats.ewma_arl(lam=0.2, width=width, shift=1.0),
        }
    out["ewma_lambda0.2_L2.962.ARL0_monte_carlo"] = out["ewma_lambda0.2_L2.962.ARL0"]
    out["ewma_lambda0.2_L2.962.ARL1_monte_carlo"] = out["ewma_lambda0.2_L2.962.ARL1_shift_1sd"]
    return out


def _resampled_answers(v: dict[str, Any]) -> Computed:
    split = stats.decompose_trials(v["input"]["scores_n_by_K"])
    out: Computed = {
        "n": split.n,
        "K": split.k,
        "mean": split.mean,
        "question_means": list(split.case_means),
        "se_question_means": split.se,
        "within_var": split.within_var,
        "between_var": split.between_var,
        "se_naive_pooled_nK": split.se_naive_pooled,
    }
    for k in v["expected"]["projected_se_by_K"]:
        out[f"projected_se_by_K.{k}"] = split.projected_se(int(k))
    return out


COMPUTE: dict[str, Callable[[dict[str, Any]], Computed]] = {
    "mcnemar_small_n40": _mcnemar_small_n40,
    "golden_set_gate_47_of_50": _golden_set_gate,
    "paired_ordinal_judge_scores_n20": _paired_ordinal,
    "multiplicity_10_slices": _multiplicity,
    "miller_power_analysis": _miller_power,
    "clustered_se_15q_5clusters": _clustered_se,
    "ppi_mean_judge_pass_rate": _ppi,
    "judge_human_agreement_1to5": _agreement,
    "drift_stream_planted_shift": _drift_stream,
    "arl_cusum_ewma": _arl,
    "resampled_answers_K4": _resampled_answers,
}

NOT_COMPUTED: dict[str, dict[str, str]] = {
    "golden_set_gate_47_of_50": {
        "rule_of_three_upper_fail_rate_if_50_of_50": "the rule of three (3/n) is a rule of "
        "thumb; the exact bound it approximates is checked",
    },
    "drift_stream_planted_shift": {
        "true_change_index": "describes how the data were generated",
        "adwin_": "ADWIN is river's detector; evallock.stats offers CUSUM/EWMA/Bernoulli CUSUM",
        "baseline.": "rolling-window dashboard figures (numpy mean/sd/percentile) belong to "
        "evallock's drift windows, not to evallock.stats",
        "rolling": "rolling-window dashboard figures belong to evallock's drift windows",
    },
    "arl_cusum_ewma": {
        "cusum_k0.5_h4.siegmund_": "Siegmund's approximation is the vector's cross-check; "
        "evallock uses the Markov chain",
        "cusum_k0.5_h5.siegmund_": "Siegmund's approximation is the vector's cross-check",
        "cusum_k0.5_h5.monte_carlo_se": "the Monte-Carlo SE is a tolerance, not a quantity",
        "ewma_lambda0.2_L2.962.ARL0_mc_se": "the Monte-Carlo SE is a tolerance",
        "ewma_lambda0.2_L2.962.ARL1_mc_se": "the Monte-Carlo SE is a tolerance",
    },
}


def _tolerance(name: str, path: str, vector: dict[str, Any]) -> tuple[float, float]:
    """(absolute, relative) tolerance for one quantity, from the vector's own rules."""
    given = vector["tolerance"]
    if name == "arl_cusum_ewma":
        expected = _flat(vector["expected"])
        if path.endswith("_monte_carlo"):  # Markov value within 3 Monte-Carlo SEs
            se_key = {
                "cusum_k0.5_h5.two_sided_ARL0_monte_carlo": "cusum_k0.5_h5.monte_carlo_se",
                "ewma_lambda0.2_L2.962.ARL0_monte_carlo": "ewma_lambda0.2_L2.962.ARL0_mc_se",
                "ewma_lambda0.2_L2.962.ARL1_monte_carlo": "ewma_lambda0.2_L2.962.ARL1_mc_se",
            }[path]
            return 3.0 * float(expected[se_key]), 0.0
        return 0.0, float(given["markov_arl_relative"])
    if name == "miller_power_analysis":
        return (float(given["n"]) if path.startswith("n_") else float(given["mde"])), ROUNDING
    if name == "drift_stream_planted_shift":
        return float(given["statistics"]), ROUNDING
    numeric = [float(x) for x in given.values() if isinstance(x, int | float)]
    return max(numeric), ROUNDING


def _params() -> list[Any]:
    if not VECTORS:
        reason = f"reference vectors not found at {VECTORS_PATH}"
        return [pytest.param("", "", marks=pytest.mark.skip(reason=reason), id="missing")]
    return [
        pytest.param(name, path, id=f"{name}:{path}")
        for name, vector in VECTORS.items()
        for path, _ in _leaves(vector["expected"])
    ]


@functools.cache
def _computed(name: str) -> Computed:
    compute = COMPUTE.get(name)
    if compute is None:
        pytest.fail(f"vector {name!r} has no check in COMPUTE: add one")
    return _flat(compute(VECTORS[name]))


def _close(actual: Any, expected: Any, absolute: float, relative: float) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return bool(actual) == expected
    if isinstance(expected, list):
        return len(actual) == len(expected) and all(
            _close(x, y, absolute, relative) for x, y in zip(actual, expected, strict=True)
        )
    return abs(float(actual) - float(expected)) <= absolute + relative * abs(float(expected))


@pytest.mark.parametrize(("name", "path"), _params())
def test_reference_vector(name: str, path: str) -> None:
    vector = VECTORS[name]
    expected = _flat(vector["expected"])[path]
    computed = _computed(name)
    if path not in computed:
        for prefix, reason in NOT_COMPUTED.get(name, {}).items():
            if path.startswith(prefix):
                pytest.skip(reason)
        pytest.fail(f"{name}:{path} is neither computed nor listed in NOT_COMPUTED")
    absolute, relative = _tolerance(name, path, vector)
    actual = computed[path]
    assert _close(actual, expected, absolute, relative), (
        f"{name}:{path}: got {actual!r}, expected {expected!r} "
        f"(tolerance {absolute:g} + {relative:g} relative)"
    )


def test_every_vector_has_a_check() -> None:
    if not VECTORS:
        pytest.skip(f"reference vectors not found at {VECTORS_PATH}")
    assert sorted(VECTORS) == sorted(COMPUTE)


def test_copy_matches_shared() -> None:
    """The vendored vectors are the shared reference's, byte for byte (when shared/ is there)."""
    assert VECTORS, f"the vendored vectors are missing at {VECTORS_PATH}"
    if not SHARED_PATH.exists():
        pytest.skip(f"no shared/ beside this checkout ({SHARED_PATH})")
    assert SHARED_PATH.read_bytes() == VECTORS_PATH.read_bytes()
