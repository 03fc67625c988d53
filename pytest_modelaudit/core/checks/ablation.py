"""Ablation expectations: the drop when the region is replaced and the probability when only it is kept, over
the admissible fills (those that removed what they replaced), least favourable to the claim first."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ModelAuditError
from ..ablation import AblationResult
from .target import fmt, note_target
from .verdicts import Check, Threshold, decide

# Removal evidence says nothing when the model does not predict the target to begin with.
MIN_BASE_PROB = 0.5

@dataclass
class AblationEvidence:
    result: AblationResult
    region_name: str
    kind: str  # drop | region_only
    metric: str  # prob_drop | logit_drop | region_only_prob
    per_fill: list[float]
    decisive: int | None
    hinges_on_fill: bool
    region_only: bool = False  # the check kept only the region (its fills replaced everything else)


def _decisive_fill(values: list[float], threshold: Threshold) -> int:
    """The fill least favourable to the claim: for an upper bound, the one that moves the score most."""
    def margin(v: float) -> float:
        up = threshold.at_most - v if threshold.at_most is not None else np.inf
        lo = v - threshold.at_least if threshold.at_least is not None else np.inf
        return min(up, lo)

    return int(np.argmin([margin(v) for v in values]))


# A base probability above this is saturated: a small probability drop can hide a large loss of logit margin.
SATURATED_PROB = 0.99


def _no_admissible(result: AblationResult, only: bool, region_name: str) -> str:
    """Why no fill can back the verdict, and what would decide it."""
    removals = result.only_removal if only else result.removal
    what = f"everything but region '{region_name}'" if only else f"region '{region_name}'"
    tried = "; ".join(f"fill '{f.name}' {r.reason}" for f, r in zip(result.fills, removals))
    supply = ("give fill_images= with content the model has seen that does not hold the region's content (e.g. "
              "other backgrounds where the region is a background)")
    return f"no fill removed {what}, so the check could not have failed ({tried}); {supply}"


def _ablation_check(result: AblationResult, kind: str, metric: str, claim: str, per_image: np.ndarray,
                    threshold: Threshold, region_name: str, model: Any, only: bool = False) -> Check:
    """Decide on the fills that removed what they replaced, with the one least favourable to the claim."""
    n = len(result.base_prob)
    valid = result.valid
    usable = int(valid.sum())
    admissible = result.admissible(only) if result.fills else []
    reason = None
    if n == 0:
        reason = f"no images to audit ({'; '.join(result.inputs.notes) or result.inputs.source})"
    elif not result.fills:
        reason = "no fill could be applied (" + "; ".join(result.notes) + ")"
    elif usable == 0:
        reason = f"region '{region_name}' covers nothing in any image"
    elif float(result.base_prob[valid].mean()) < MIN_BASE_PROB:
        reason = (f"the model does not predict '{result.target_name}' on these images to begin with (mean "
                  f"P = {result.base_prob[valid].mean():.3f} < {MIN_BASE_PROB}), so removing a region can say nothing")
    elif not any(admissible):
        reason = _no_admissible(result, only, region_name)
    per_fill = [float(per_image[k][valid].mean()) for k in range(len(result.fills))] if usable and result.fills else []
    counted = [k for k, ok in enumerate(admissible) if ok and k < len(per_fill)]
    decisive = counted[_decisive_fill([per_fill[k] for k in counted], threshold)] if counted else None
    verdicts = {threshold.holds(per_fill[k]) for k in counted}
    metrics: dict[str, float] = {"images": float(n), "excluded_images": float(n - usable)}
    metrics["base_prob"] = float(result.base_prob.mean()) if n else float("nan")
    if n and len(result.predicted) == n:
        note_target(metrics, float(result.predicted.mean()), metrics["base_prob"], result.target_name,
                    result.inputs.source)
    removals = result.only_removal if only else result.removal
    for f, v, r in zip(result.fills, per_fill, removals):
        metrics[f"{metric}[{f.name}]"] = v
        metrics[f"removal[{f.name}]"] = r.ratio
    margins = result.region_only_margin if only else result.ablated_margin
    if usable and len(margins):
        for k, f in enumerate(result.fills):
            metrics[f"margin_drop[{f.name}]"] = float((result.base_margin - margins[k])[valid].mean())
    evidence = AblationEvidence(result, region_name, kind, metric, per_fill, decisive, len(verdicts) > 1, only)
    measured = per_fill[decisive] if decisive is not None and reason is None else None
    detail = ""
    if measured is not None:
        fname = result.fills[decisive].name
        metrics[metric] = measured
        others = ", ".join(f"{f.name} {fmt(v)}" + ("" if ok else " (not counted)")
                           for f, v, ok in zip(result.fills, per_fill, admissible))
        detail = (f"mean over {usable} image(s) with fill '{fname}', the admissible fill least favourable to the "
                  f"claim (all fills: {others})")
        if len(verdicts) > 1:
            detail += "; the verdict hinges on the fill"
        base = float(result.base_prob[valid].mean())
        if base >= SATURATED_PROB and metric == "prob_drop":
            md = metrics.get(f"margin_drop[{fname}]", float("nan"))
            moved = (f"rises by {-md:.2f}" if md < 0 else f"drops by {md:.2f}") if np.isfinite(md) else "is not known"
            detail += (f"; the base probability is saturated (mean P {base:.3f}), so a probability drop hides the "
                       f"change of logit margin: margin over the best other class {moved} with '{fname}'")
    return decide(kind, claim, threshold, measured, metrics, reason=reason, detail=detail, evidence=evidence, model=model)


def drop_check(result: AblationResult, *, at_most: float | None = None, at_least: float | None = None,
               score: str = "probability", region_name: str = "region", model: Any = None) -> Check:
    """Mean drop of the target's probability (or logit) when the region is replaced."""
    if score not in ("probability", "logit"):
        raise ModelAuditError(f"score must be 'probability' or 'logit', got {score!r}.")
    metric = "prob_drop" if score == "probability" else "logit_drop"
    threshold = Threshold.of(metric, at_most, at_least)
    claim = (f"Replacing region '{region_name}' changes the {score} of '{result.target_name}' by a mean drop "
             f"{threshold.words()}")
    per_image = result.prob_drop if score == "probability" else result.logit_drop
    return _ablation_check(result, "drop", metric, claim, per_image, threshold, region_name, model)


def region_only_check(result: AblationResult, *, at_most: float | None = None, at_least: float | None = None,
                      region_name: str = "region", model: Any = None) -> Check:
    """Mean probability of the target when only the region is kept (everything else replaced)."""
    threshold = Threshold.of("region_only_prob", at_most, at_least)
    claim = f"With only region '{region_name}' kept, the probability of '{result.target_name}' is {threshold.words()}"
    return _ablation_check(result, "region_only", "region_only_prob", claim, result.region_only_prob, threshold,
                           region_name, model, only=True)


__all__ = ["AblationEvidence", "drop_check", "region_only_check"]
