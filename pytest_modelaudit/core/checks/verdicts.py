"""Verdicts: statuses, thresholds and checks; plain data, no pytest."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ...errors import ModelAuditError


class Status(str, Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"
    ERROR = "ERROR"


# Severity of an outcome, worst first (the report's table order is FAIL, INCONCLUSIVE, ERROR, PASS).
WORST_FIRST = (Status.FAIL, Status.ERROR, Status.INCONCLUSIVE, Status.PASS)


# What each metric can take: a bound outside it holds (or fails) whatever the model does, so it is refused.
METRIC_RANGES: dict[str, tuple[float, float, str]] = {
    "share": (0.0, 1.0, "a share of the heatmap's positive mass"),
    "lift": (0.0, math.inf, "mass share / area share"),
    "prob_drop": (-1.0, 1.0, "a difference of two probabilities"),
    "region_only_prob": (0.0, 1.0, "a probability"),
    "effect": (-1.0, 1.0, "a difference of two TCAV scores, each a fraction of images"),
    "accuracy": (0.0, 1.0, "a share of labelled images predicted right"),
    "min_recall": (0.0, 1.0, "the lowest per-class recall, a share of a class's images"),
    "confusion_rate": (0.0, 1.0, "a share of one class's images predicted as another"),
    "knn_accuracy": (0.0, 1.0, "a leave-one-out k-NN accuracy, a share of images"),
    "flip_rate": (0.0, 1.0, "a share of images whose prediction changed"),
    "agreement": (0.0, 1.0, "a share of images on which the models predict the same class"),
    "honesty_failures": (0.0, math.inf, "a count of failed honesty checks"),
    "accuracy_drop": (-1.0, 1.0, "a difference of two accuracies"),
    "top_share": (0.0, 1.0, "a share of a unit's top-activating images"),
}


@dataclass(frozen=True)
class Threshold:
    """A bound on a metric: measured <= at_most and/or measured >= at_least."""

    metric: str
    at_most: float | None = None
    at_least: float | None = None

    @classmethod
    def of(cls, metric: str, at_most: float | None, at_least: float | None) -> Threshold:
        if at_most is None and at_least is None:
            raise ModelAuditError(f"Give at_most=... and/or at_least=... for {metric!r}; an expectation needs a threshold.")
        for label, v in (("at_most", at_most), ("at_least", at_least)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
                raise ModelAuditError(f"{label} for {metric!r} must be a finite number, got {v!r}.")
        if at_most is not None and at_least is not None and at_least > at_most:
            raise ModelAuditError(f"at_least={at_least} is above at_most={at_most} for {metric!r}: no value can pass.")
        if metric in METRIC_RANGES:
            lo, hi, what = METRIC_RANGES[metric]
            for label, v in (("at_most", at_most), ("at_least", at_least)):
                if v is not None and not lo <= v <= hi:
                    raise ModelAuditError(
                        f"{label}={v:g} for {metric!r} is outside the range the metric can take, [{lo:g}, {hi:g}] "
                        f"({what}), so the claim would {'pass' if (label == 'at_most') == (v > hi) else 'fail'} "
                        "whatever the model does; give a bound inside the range (probabilities are in [0, 1]).")
        return cls(metric, None if at_most is None else float(at_most), None if at_least is None else float(at_least))

    @property
    def upper_only(self) -> bool:
        return self.at_least is None

    def holds(self, value: float) -> bool:
        ok = True
        if self.at_most is not None:
            ok &= value <= self.at_most
        if self.at_least is not None:
            ok &= value >= self.at_least
        return bool(ok)

    def words(self) -> str:
        if self.at_most is not None and self.at_least is not None:
            return f"between {self.at_least:.2f} and {self.at_most:.2f}"
        if self.at_most is not None:
            return f"at most {self.at_most:.2f}"
        return f"at least {self.at_least:.2f}"

    def symbol(self) -> str:
        if self.at_most is not None and self.at_least is not None:
            return f"{self.at_least:g} ≤ {self.metric} ≤ {self.at_most:g}"
        if self.at_most is not None:
            return f"{self.metric} ≤ {self.at_most:g}"
        return f"{self.metric} ≥ {self.at_least:g}"

    def to_json(self) -> dict[str, Any]:
        if self.at_most is not None and self.at_least is not None:
            return {"metric": self.metric, "op": "between", "value": [self.at_least, self.at_most]}
        if self.at_most is not None:
            return {"metric": self.metric, "op": "<=", "value": self.at_most}
        return {"metric": self.metric, "op": ">=", "value": self.at_least}


@dataclass
class Check:
    """One expectation's outcome: the claim, the measured value against its threshold, the evidence."""

    kind: str
    claim: str
    status: Status
    threshold: Threshold
    measured: float | None
    metrics: dict[str, float]
    reason: str | None = None
    detail: str = ""
    evidence: Any = field(default=None, repr=False)
    model: Any = field(default=None, repr=False)

    @property
    def metric(self) -> str:
        return self.threshold.metric


def decide(kind: str, claim: str, threshold: Threshold, measured: float | None, metrics: dict[str, float],
           *, reason: str | None = None, detail: str = "", evidence: Any = None, model: Any = None) -> Check:
    """PASS/FAIL from a measured value, INCONCLUSIVE when there is no valid measurement."""
    if reason is not None or measured is None or not math.isfinite(measured):
        return Check(kind, claim, Status.INCONCLUSIVE, threshold, None, metrics,
                     reason=reason or "no valid measurement", detail=detail, evidence=evidence, model=model)
    status = Status.PASS if threshold.holds(measured) else Status.FAIL
    return Check(kind, claim, status, threshold, float(measured), metrics, detail=detail, evidence=evidence, model=model)
