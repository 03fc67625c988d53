"""Expectations as pure functions: method results + threshold -> Check (PASS / FAIL / INCONCLUSIVE)."""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .ablation import AblationResult
from .errors import ModelAuditError, TargetMismatchWarning
from .faithfulness import Response
from .gradcam import GradCAMResult
from .honesty import Honesty
from .inputs import prepare_region
from .occlusion import OcclusionResult, fill_removal
from .regions import RegionShare, region_share
from .saliency.base import SaliencyResult
from .stability import Stability, region_metric_stability
from .verdicts import Check, Status, Threshold, decide

# Fewer usable images than this fraction of the set makes a heatmap audit INCONCLUSIVE.
MIN_USABLE_FRACTION = 0.5
# Removal evidence says nothing when the model does not predict the target to begin with.
MIN_BASE_PROB = 0.5
# How claims name each heatmap method.
METHOD_LABELS = {"occlusion": "Occlusion", "integrated_gradients": "Integrated Gradients", "smoothgrad": "SmoothGrad",
                 "saliency": "Saliency (vanilla gradients)", "gradient_x_input": "Gradient × Input",
                 "gradcam++": "Grad-CAM++", "layercam": "LayerCAM"}
# What a failed honesty check does to the audits that relied on the method.
HONESTY_POLICIES = ("inconclusive", "report", "off")


@dataclass
class HeatmapEvidence:
    result: GradCAMResult | OcclusionResult | SaliencyResult
    share: RegionShare
    region: np.ndarray
    region_name: str
    metric: str  # share | lift
    honesty: Honesty | None = None
    stability: Stability | None = None
    honesty_policy: str = "inconclusive"
    companions: dict[str, np.ndarray] = field(default_factory=dict)  # other methods' maps, same images
    companion_curves: dict[str, Any] = field(default_factory=dict)  # their deletion / insertion curves


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


# Below this share of images classified as the target, the audit is warned about (it explains another decision).
MIN_PREDICTED_SHARE = 0.5


def note_target(metrics: dict[str, float], share: float, prob: float, target_name: str, source: str) -> None:
    """Record how many images the model assigns to the target and their mean P(target); warn when it is few."""
    metrics["target_share"], metrics["target_prob"] = share, prob
    if math.isfinite(share) and share < MIN_PREDICTED_SHARE:
        warnings.warn(f"model-audit: only {share:.0%} of the images from {source} are classified as '{target_name}' "
                      f"(mean P {prob:.3f}): the audit explains a decision the model does not make on most of them; "
                      "check the images, the class and the model's input_range / preprocess", TargetMismatchWarning,
                      stacklevel=4)


def _fmt(v: float) -> str:
    return f"{v:.3f}"


def share_check(result: GradCAMResult | OcclusionResult | SaliencyResult, region: Any, *, at_most: float | None = None,
                at_least: float | None = None, region_name: str = "region", metric: str = "share", images: Any = None,
                model: Any = None, honesty: Honesty | None = None, noisy_maps: list[np.ndarray] | None = None,
                honesty_policy: str = "inconclusive", response: Response | None = None) -> Check:
    """Mean share (or lift) of positive heatmap mass in the region, over usable maps.

    With `response`, a target score that does not respond to the image (every pixel removed and the probability
    barely moves) turns a PASS into INCONCLUSIVE whatever the honesty policy: such a map could not have failed.
    With `honesty`, a failed honesty check of the method makes the check INCONCLUSIVE (policy 'inconclusive');
    with `noisy_maps` (the maps of noisy copies of the images), a metric whose spread under noise straddles
    the threshold makes it INCONCLUSIVE ("unstable").
    """
    if honesty_policy not in HONESTY_POLICIES:
        raise ModelAuditError(f"honesty policy must be one of {', '.join(HONESTY_POLICIES)}, got {honesty_policy!r}.")
    if metric not in ("share", "lift"):
        raise ModelAuditError(f"metric must be 'share' or 'lift', got {metric!r}.")
    threshold = Threshold.of(metric, at_most, at_least)
    label = METHOD_LABELS.get(result.method, result.method)
    what = f"{label} mass share" if metric == "share" else f"{label} lift (mass share / area share)"
    claim = f"{what} on region '{region_name}' for '{result.target_name}' is {threshold.words()}"
    n = len(result.maps)
    h, w = result.inputs.images.shape[1:3]
    m = prepare_region(region, images if images is not None else result.inputs.images, (h, w))
    rs = region_share(result.maps, m) if n else region_share(np.zeros((0, 1, 1)), np.zeros((0, 1, 1)))
    values = rs.share if metric == "share" else rs.lift
    usable = int(rs.valid.sum())
    metrics = {
        "share": float(np.nanmean(rs.share)) if usable else float("nan"),
        "lift": float(np.nanmean(rs.lift)) if usable else float("nan"),
        "region_area": float(rs.area.mean()) if n else float("nan"),
        "images": float(n),
        "excluded_images": float(n - usable),
    }
    reason = None
    if n == 0:
        reason = f"no images to audit ({'; '.join(result.inputs.notes) or result.inputs.source})"
    elif usable == 0:
        why = {"Grad-CAM": "the ReLU removed all evidence at this layer",
               "occlusion": f"occluding no part of the image lowers the score of '{result.target_name}'"}.get(
            result.method, f"no positive attribution to '{result.target_name}'")
        reason = (f"every {result.method} map is all zero ({why})" if rs.degenerate.all()
                  else f"region '{region_name}' covers nothing on the {result.grid[0]}x{result.grid[1]} feature grid"
                  if rs.empty_region.all() else "no image has both a non-zero heatmap and a non-empty region")
    elif usable < MIN_USABLE_FRACTION * n:
        reason = (f"only {usable} of {n} images have a usable heatmap and region "
                  f"({int(rs.degenerate.sum())} all-zero maps, {int(rs.empty_region.sum())} empty regions)")
    if response is not None and n:
        note_target(metrics, response.predicted_share, response.before, result.target_name, result.inputs.source)
    measured = float(np.nanmean(values)) if usable and reason is None else None
    if measured is not None and response is not None and not response.responds and threshold.holds(measured):
        reason, measured = response.why_not(result.target_name), None  # a pass that could not have failed
    removal = fill_removal(result, m) if isinstance(result, OcclusionResult) else None
    if removal is not None:
        metrics["fill_removal_ratio"] = removal.ratio
        # a fill like what is there hides the region's importance: finding it matters still counts, not the reverse
        unimportant = measured is not None and (measured < threshold.at_least if threshold.at_least is not None
                                                else measured <= threshold.at_most)
        if unimportant and not removal.admissible:
            reason, measured = (f"occlusion's fill '{result.fill}' did not remove region '{region_name}': it "
                                f"{removal.reason}, so occluding it could not show that it matters, and a map "
                                "where it does not cannot back the verdict; give occlusion a fill that differs there "
                                "(fill='blur', a value or a callable) or use audit.ablation with fill_images="), None
    stability = None
    if measured is not None and noisy_maps:
        stability = region_metric_stability(measured, noisy_maps, m, metric)
        metrics[f"{metric}_noise_min"], metrics[f"{metric}_noise_max"] = stability.spread
        low, high = stability.spread
        if threshold.holds(low) != threshold.holds(high) and honesty_policy == "inconclusive":
            reason = (f"unstable: with small input noise (sigma {stability.noise:g} of the input range, "
                      f"{len(stability.noisy)} draws) the mean {metric} ranges {low:.3f} to {high:.3f}, on both sides "
                      f"of {threshold.symbol()}; the verdict could flip from run to run")
    if measured is not None and reason is None and honesty is not None and honesty_policy == "inconclusive":
        if honesty.failed:
            reason = (f"the {label} maps failed the honesty check(s) on this model, so they cannot back a "
                      "verdict: " + "; ".join(f"{c.name} ({c.detail})" for c in honesty.failed))
    evidence = HeatmapEvidence(result, rs, m, region_name, metric, honesty, stability, honesty_policy)
    detail = ""
    if measured is not None:
        worst = int(np.nanargmax(values) if threshold.upper_only else np.nanargmin(values))
        detail = (f"mean {metric} over {usable} image(s) on the {result.grid[0]}x{result.grid[1]} grid of "
                  f"{result.layer if result.layer.startswith('input') else 'layer ' + repr(result.layer)}; "
                  f"{'highest' if threshold.upper_only else 'lowest'}: "
                  f"{result.inputs.names[worst]} = {_fmt(values[worst])}")
        if n - usable:
            detail += f"; {n - usable} image(s) excluded (all-zero map or empty region)"
        if response is not None and not response.responds:
            detail += f"; note: {response.why_not(result.target_name)}"
    return decide(metric, claim, threshold, measured, metrics, reason=reason, detail=detail, evidence=evidence, model=model)


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
        others = ", ".join(f"{f.name} {_fmt(v)}" + ("" if ok else " (not counted)")
                           for f, v, ok in zip(result.fills, per_fill, admissible))
        detail = (f"mean over {usable} image(s) with fill '{fname}', the admissible fill least favourable to the "
                  f"claim (all fills: {others})")
        if len(verdicts) > 1:
            detail += "; the verdict hinges on the fill"
        base = float(result.base_prob[valid].mean())
        if base >= SATURATED_PROB and metric == "prob_drop":
            md = metrics.get(f"margin_drop[{fname}]", float("nan"))
            detail += (f"; the base probability is saturated (mean P {base:.3f}), so a probability drop hides the "
                       f"loss of logit margin: margin over the best other class drops by {md:.2f} with '{fname}'")
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


__all__ = ["share_check", "drop_check", "region_only_check", "HeatmapEvidence", "AblationEvidence", "Status"]
