"""Statistics for TCAV: the pseudo-concept null (prediction test, TOST), Welch / Student against the random runs,
effect sizes, Holm correction."""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


def _quiet(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call scipy without its precision warnings on (near-)constant samples, which the callers handle."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kwargs)


def _finite(p: float) -> float:
    return float(p) if p is not None and math.isfinite(p) else float("nan")


def welch(a: Sequence[float], b: Sequence[float], alternative: str = "two-sided", shift: float = 0.0) -> float:
    """p-value of Welch's t-test of mean(a) - shift against mean(b).

    Degenerate inputs (both samples constant) give p = 1 when the means agree with the hypothesis
    direction's null and 0 when they contradict it, instead of scipy's NaN.
    """
    from scipy import stats

    a = np.asarray(a, float) - shift
    b = np.asarray(b, float)
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        d = a[0] - b[0]
        if alternative == "two-sided":
            return 1.0 if d == 0 else 0.0
        if alternative == "greater":
            return 0.0 if d > 0 else 1.0
        return 0.0 if d < 0 else 1.0
    return _finite(_quiet(stats.ttest_ind, a, b, equal_var=False, alternative=alternative).pvalue)


def student(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided Student t-test (equal variances), tensorflow/tcav's test."""
    from scipy import stats

    return _finite(_quiet(stats.ttest_ind, np.asarray(a, float), np.asarray(b, float)).pvalue)


def one_sample(a: Sequence[float], mu: float = 0.5) -> float:
    """Two-sided one-sample t-test against mu (the paper's test of the TCAV score against 0.5)."""
    from scipy import stats

    a = np.asarray(a, float)
    if len(a) < 2:
        return float("nan")
    if np.ptp(a) == 0:
        return 1.0 if a[0] == mu else 0.0
    return _finite(_quiet(stats.ttest_1samp, a, mu).pvalue)


def bootstrap_diff_ci(a: Sequence[float], b: Sequence[float], seed: int, level: float = 0.95,
                      n: int = 2000) -> tuple[float, float]:
    """Percentile bootstrap interval for mean(a) - mean(b) (seeded: the same inputs give the same interval)."""
    from scipy import stats

    a = np.asarray(a, float)
    b = np.asarray(b, float)
    if len(a) < 2 or len(b) < 2:
        return (float("nan"), float("nan"))
    res = _quiet(stats.bootstrap, (a, b), lambda x, y, axis=-1: x.mean(axis=axis) - y.mean(axis=axis), n_resamples=n,
                          confidence_level=level, method="percentile", vectorized=True,
                          random_state=np.random.default_rng(seed))
    lo, hi = res.confidence_interval
    if not (math.isfinite(lo) and math.isfinite(hi)):  # zero-variance samples: the interval is the point
        d = a.mean() - b.mean()
        return (float(d), float(d))
    return (float(lo), float(hi))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (NaN stays NaN and does not count as a hypothesis)."""
    p = np.asarray(pvalues, float)
    ok = np.flatnonzero(np.isfinite(p))
    adjusted = np.full(len(p), np.nan)
    m = len(ok)
    running = 0.0
    for rank, idx in enumerate(ok[np.argsort(p[ok], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * p[idx]))
        adjusted[idx] = running
    return [float(v) for v in adjusted]


@dataclass
class Comparison:
    """A concept's run scores against the random baseline's."""

    concept_mean: float
    random_mean: float
    effect: float  # mean difference
    ci: tuple[float, float]
    p_welch: float  # two-sided, concept vs random
    p_greater: float  # one-sided: concept above random
    p_one_sample: float  # concept vs 0.5
    p_within: float  # one-sided: concept - random < margin (equivalence / below)


def compare(concept: Sequence[float], random: Sequence[float], *, seed: int, margin: float = 0.1) -> Comparison:
    c = np.asarray(concept, float)
    r = np.asarray(random, float)
    return Comparison(
        concept_mean=float(c.mean()) if len(c) else float("nan"),
        random_mean=float(r.mean()) if len(r) else float("nan"),
        effect=float(c.mean() - r.mean()) if len(c) and len(r) else float("nan"),
        ci=bootstrap_diff_ci(c, r, seed),
        p_welch=welch(c, r),
        p_greater=welch(c, r, "greater"),
        p_one_sample=one_sample(c, 0.5),
        p_within=welch(c, r, "less", shift=margin),
    )


@dataclass
class NullComparison:
    """A concept's mean score against the pseudo-concepts' mean scores (random sets scored like the concept).

    The concept set is fixed, so its mean score is one draw, not a sample of runs: it is compared with the
    spread of other fixed sets (prediction test, df = P - 1), never with the runs' standard error.
    For `difference` (more_than), `null_mean` is the other concept's mean and the spread is sqrt(2) wider.
    """

    concept_mean: float
    null_mean: float
    null_sd: float  # sd of the P pseudo-concept means (ddof=1)
    n_null: int  # P
    effect: float  # concept_mean - null_mean
    interval: tuple[float, float]  # 95 % interval of the effect from the null's spread
    p_greater: float  # one-sided: the concept scores above the null (depends)
    p_less: float  # one-sided: below (opposes)
    p_two_sided: float
    p_equivalent: float  # two one-sided tests (TOST): the effect lies within +-margin
    margin: float

    @property
    def z(self) -> float:
        """The effect on the prediction scale, in pseudo-concept sd (NaN: no spread)."""
        se = self.null_sd * math.sqrt(1 + 1 / self.n_null) if self.n_null else float("nan")
        return self.effect / se if math.isfinite(se) and se > 0 and math.isfinite(self.effect) else float("nan")


def widest_null_for_equivalence(margin: float, n_null: int, alpha: float) -> float:
    """The null spread (sd) above which no concept, not even one exactly at the null's mean, can be shown
    within +-margin of it by the prediction TOST at alpha: beyond it independence is undecidable."""
    from scipy import stats

    if n_null < 2:
        return 0.0
    return margin / (float(stats.t.ppf(1 - alpha, n_null - 1)) * math.sqrt(1 + 1 / n_null))


def _nan_comparison(concept_mean: float, null_mean: float, sd: float, n: int, margin: float) -> NullComparison:
    nan = float("nan")
    effect = concept_mean - null_mean if math.isfinite(concept_mean) and math.isfinite(null_mean) else nan
    return NullComparison(concept_mean, null_mean, sd, n, effect, (nan, nan), nan, nan, nan, nan, margin)


def _t_comparison(c: float, mu: float, sd: float, n: int, se: float, margin: float, level: float) -> NullComparison:
    from scipy import stats

    if not (se > 0 and math.isfinite(se) and math.isfinite(c)):  # a null without spread cannot judge anything
        return _nan_comparison(c, mu, sd, n, margin)
    df = n - 1
    t = (c - mu) / se
    p_low = float(stats.t.sf((c - mu + margin) / se, df))  # effect > -margin
    p_high = float(stats.t.cdf((c - mu - margin) / se, df))  # effect < +margin
    q = float(stats.t.ppf(0.5 + level / 2, df))
    effect = c - mu
    return NullComparison(
        concept_mean=c, null_mean=mu, null_sd=sd, n_null=n, effect=effect,
        interval=(effect - q * se, effect + q * se),
        p_greater=float(stats.t.sf(t, df)), p_less=float(stats.t.cdf(t, df)),
        p_two_sided=float(min(1.0, 2 * stats.t.sf(abs(t), df))), p_equivalent=max(p_low, p_high), margin=margin,
    )


def prediction_test(concept_mean: float, null: Sequence[float], *, margin: float = 0.1,
                    level: float = 0.95) -> NullComparison:
    """Is the concept's mean score extreme among the P pseudo-concept means?

    t = (c - mean(null)) / (sd(null) * sqrt(1 + 1/P)), df = P - 1: the t-test of one new draw against a
    sample, so 20 random sets can reach small p-values (a rank p-value bottoms out at 1 / (P + 1)).
    """
    z = np.asarray(null, float)
    z = z[np.isfinite(z)]
    c = float(concept_mean)
    if len(z) < 2:
        return _nan_comparison(c, float(z.mean()) if len(z) else float("nan"), float("nan"), len(z), margin)
    sd = float(z.std(ddof=1))
    return _t_comparison(c, float(z.mean()), sd, len(z), sd * math.sqrt(1 + 1 / len(z)), margin, level)


def difference_test(a_mean: float, b_mean: float, null: Sequence[float], *, margin: float = 0.1,
                    level: float = 0.95) -> NullComparison:
    """Is concept A's mean score above concept B's, given that any fixed set's mean varies like the
    pseudo-concepts' (the difference of two such draws has sd(null) * sqrt(2)), df = P - 1."""
    z = np.asarray(null, float)
    z = z[np.isfinite(z)]
    if len(z) < 2:
        return _nan_comparison(float(a_mean), float(b_mean), float("nan"), len(z), margin)
    sd = float(z.std(ddof=1))
    return _t_comparison(float(a_mean), float(b_mean), sd, len(z), sd * math.sqrt(2), margin, level)
