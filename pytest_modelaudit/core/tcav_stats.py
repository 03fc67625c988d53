"""Statistics for TCAV: tests against the random baseline and 0.5, effect sizes, Holm correction."""
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
