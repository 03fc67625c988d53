"""Heatmap expectations: the share or lift of positive map mass in a region, gated by the honesty checks, the
score's response to the image, stability under noise and, for occlusion, whether its fill removed the region."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import ModelAuditError
from ...schema import METHOD_LABELS
from ..data.inputs import prepare_region
from ..data.regions import RegionShare, region_share
from ..heatmaps.occlusion import OcclusionResult, fill_removal
from ..heatmaps.result import HeatmapResult
from ..honesty.faithfulness import Response
from ..honesty.sanity import Honesty
from ..honesty.stability import Stability, region_metric_stability
from .target import fmt, note_target
from .verdicts import Check, Threshold, decide

# Fewer usable images than this fraction of the set makes a heatmap audit INCONCLUSIVE.
MIN_USABLE_FRACTION = 0.5
# What a failed honesty check does to the audits that relied on the method.
HONESTY_POLICIES = ("inconclusive", "report", "off")



@dataclass
class HeatmapEvidence:
    result: HeatmapResult
    share: RegionShare
    region: np.ndarray
    region_name: str
    metric: str  # share | lift
    honesty: Honesty | None = None
    stability: Stability | None = None
    honesty_policy: str = "inconclusive"
    stability_skipped: str | None = None  # why the noisy copies were not scored, where they could decide nothing
    companions: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)  # method -> image index -> map
    companion_curves: dict[str, Any] = field(default_factory=dict)  # their deletion / insertion curves


def share_check(result: HeatmapResult, region: Any, *, at_most: float | None = None,
                at_least: float | None = None, region_name: str = "region", metric: str = "share", images: Any = None,
                model: Any = None, honesty: Honesty | None = None,
                noisy_maps: list[np.ndarray] | Callable[[], list[np.ndarray]] | None = None,
                honesty_policy: str = "inconclusive", response: Response | None = None) -> Check:
    """Mean share (or lift) of positive heatmap mass in the region, over usable maps.

    With `response`, a target score that does not respond to the image (every pixel removed and the probability
    barely moves) turns a PASS into INCONCLUSIVE whatever the honesty policy: such a map could not have failed.
    With `honesty`, a failed honesty check of the method makes the check INCONCLUSIVE (policy 'inconclusive');
    with `noisy_maps` (the maps of noisy copies of the images, or a function that computes them), a metric whose
    spread under noise straddles the threshold makes it INCONCLUSIVE ("unstable"); the noisy maps are not
    computed where a failed honesty check already makes the verdict INCONCLUSIVE.
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
    stability, stability_skipped = None, None
    if measured is not None and honesty is not None and honesty_policy == "inconclusive" and honesty.failed:
        reason = (f"the {label} maps failed the honesty check(s) on this model, so they cannot back a "
                  "verdict: " + "; ".join(f"{c.name} ({c.detail})" for c in honesty.failed))
        if noisy_maps is not None:  # the verdict is INCONCLUSIVE whatever noise does: its passes would decide nothing
            stability_skipped = "the maps failed their honesty checks, so noise could not change the verdict"
    elif measured is not None and noisy_maps is not None:
        noisy = noisy_maps() if callable(noisy_maps) else noisy_maps
        if noisy:
            stability = region_metric_stability(measured, noisy, m, metric)
            metrics[f"{metric}_noise_min"], metrics[f"{metric}_noise_max"] = stability.spread
            low, high = stability.spread
            if threshold.holds(low) != threshold.holds(high) and honesty_policy == "inconclusive":
                reason = (f"unstable: with small input noise (sigma {stability.noise:g} of the input range, "
                          f"{len(stability.noisy)} draws) the mean {metric} ranges {low:.3f} to {high:.3f}, on both "
                          f"sides of {threshold.symbol()}; the verdict could flip from run to run")
    evidence = HeatmapEvidence(result, rs, m, region_name, metric, honesty, stability, honesty_policy,
                                stability_skipped=stability_skipped)
    detail = ""
    if measured is not None:
        worst = int(np.nanargmax(values) if threshold.upper_only else np.nanargmin(values))
        detail = (f"mean {metric} over {usable} image(s) on the {result.grid[0]}x{result.grid[1]} grid of "
                  f"{result.layer if result.layer.startswith('input') else 'layer ' + repr(result.layer)}; "
                  f"{'highest' if threshold.upper_only else 'lowest'}: "
                  f"{result.inputs.names[worst]} = {fmt(values[worst])}")
        if n - usable:
            detail += f"; {n - usable} image(s) excluded (all-zero map or empty region)"
        if response is not None and not response.responds:
            detail += f"; note: {response.why_not(result.target_name)}"
    return decide(metric, claim, threshold, measured, metrics, reason=reason, detail=detail, evidence=evidence, model=model)
