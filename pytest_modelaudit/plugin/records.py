"""Turn an audit's checks and outcome into the JSON record of docs/results-schema.md."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..core.checks.ablation import SATURATED_PROB, AblationEvidence
from ..core.checks.heatmap import HeatmapEvidence
from ..core.tcav.informative import GRADIENT_VARIATION_MIN
from ..core.tcav.checks import TCAVEvidence
from ..core.checks.verdicts import WORST_FIRST, Check, Status
from ..schema import deciding_check, json_number
from .thumbnails import image_uri, mask_uri

TELLING_IMAGES = 6


def _grid(a: np.ndarray) -> list[list[float]]:
    """A map as nested lists, to 4 significant digits (display and re-checking need no more)."""
    return [[float(f"{v:.4g}") for v in row] for row in np.asarray(a, np.float64)]


def _telling(values: np.ndarray, upper_only: bool) -> list[int]:
    """Image indices, most telling first: the highest values for an upper bound, the lowest for a lower one."""
    v = np.where(np.isfinite(values), values, -np.inf if upper_only else np.inf)
    order = np.argsort(-v if upper_only else v, kind="stable")
    return [int(i) for i in order[:TELLING_IMAGES]]


MAX_DISPLAY_GRID = 32


def _display(maps: np.ndarray) -> np.ndarray:
    """Maps larger than 32x32 (occlusion works at input resolution) are area-averaged for the JSON."""
    from ..core.data.regions import downsample_mask

    h, w = maps.shape[1:3]
    if max(h, w) <= MAX_DISPLAY_GRID:
        return maps
    scale = MAX_DISPLAY_GRID / max(h, w)
    return downsample_mask(maps.astype(np.float32), (max(1, round(h * scale)), max(1, round(w * scale))))


def shown_images(ev: HeatmapEvidence, threshold: Any) -> list[int]:
    """The images a heatmap card shows, most telling first (the companion maps are computed for these)."""
    return _telling(ev.share.share if ev.metric == "share" else ev.share.lift, threshold.upper_only)


def heatmap_evidence(ev: HeatmapEvidence, threshold: Any) -> dict[str, Any]:
    r, s = ev.result, ev.share
    shown = shown_images(ev, threshold)
    maps = _display(r.maps[shown]) if shown else r.maps[:0]
    mask_grids = _display(s.mask_grid[shown]) if shown else s.mask_grid[:0]
    images = []
    for k, i in enumerate(shown):
        images.append({
            "name": r.inputs.names[i],
            "image": image_uri(r.inputs.images[i]),
            "heatmap": _grid(maps[k]),
            "mask": mask_uri(ev.region[i]),
            "mask_grid": _grid(mask_grids[k]),
            "share": json_number(s.share[i]),
            "lift": json_number(s.lift[i]),
            "degenerate": bool(s.degenerate[i]),
            "companions": {name: _grid(_display(m[i][None])[0]) for name, m in ev.companions.items() if i in m},
        })
    gh, gw = r.grid
    on_input = r.layer.startswith("input")
    return {
        "type": "heatmap",
        "method": "gradcam" if r.method == "Grad-CAM" else r.method,
        "target": r.target_name,
        "target_index": r.target,
        "score": r.score,
        "layer": r.layer,
        "grid": [gh, gw],
        "input_size": list(r.inputs.images.shape[1:3]),
        "resize": r.inputs.resize or None,
        "upsampling": "area-averaged for display" if on_input else "bilinear",
        "region_name": ev.region_name,
        "display_grid": list(maps.shape[1:3]) if len(shown) else [gh, gw],
        "region_metric": (f"share of positive {r.method} mass inside the region, on the {gh}x{gw} "
                          + ("input grid" if on_input else "feature grid; mask area-downsampled")
                          + ("; lift = share / region area share" if ev.metric == "lift" else "")),
        "aggregate": "mean over images with a non-zero map and a non-empty region",
        "method_details": {k: v for k, v in getattr(r, "extra", {}).items() if isinstance(v, (int, float, str))},
        "images": images,
        "per_image": [
            {"name": n, "share": json_number(s.share[i]), "lift": json_number(s.lift[i]), "degenerate": bool(s.degenerate[i])}
            for i, n in enumerate(r.inputs.names)
        ],
        "honesty": honesty_json(ev) if ev.honesty is not None else None,
        "honesty_policy": ev.honesty_policy,
        "stability": stability_json(ev.stability, threshold) if ev.stability is not None else None,
        "stability_skipped": ev.stability_skipped,
        "curves": {name: curves_json(c) for name, c in ev.companion_curves.items()},
    }


def curves_json(c: Any) -> dict[str, Any]:
    """Deletion / insertion curves (mean target probability per fraction of pixels) and their areas."""
    return {
        "fractions": _nums(c.fractions), "fills": list(c.fills), "images": c.images,
        "deletion": [_nums(row) for row in c.deletion], "insertion": [_nums(row) for row in c.insertion],
        "deletion_auc": _nums(c.deletion_auc), "insertion_auc": _nums(c.insertion_auc),
    }


def honesty_json(ev: HeatmapEvidence) -> dict[str, Any]:
    """The honesty checks of the method, the curves behind faithfulness and the first image's example maps."""
    h, r = ev.honesty, ev.result
    return {
        "method_key": h.method,
        "images": h.images,
        "checks": [{"name": c.name, "value": json_number(c.value), "threshold": c.threshold, "passed": c.passed,
                    "detail": c.detail, "values": _nums(c.values)} for c in h.checks],
        "example_image": image_uri(r.inputs.images[0]) if h.images else None,
        "example_name": r.inputs.names[0] if h.images else None,
        "example_mask": mask_uri(ev.region[0]) if h.images else None,
        "examples": {k: _grid(_display(v[None])[0]) for k, v in h.examples.items()},
        "other_class": h.other_class,
        "curves": curves_json(h.curves) if h.curves is not None else None,
    }


def stability_json(st: Any, threshold: Any) -> dict[str, Any]:
    """The metric on the clean images and under noise; unstable when the spread straddles the threshold."""
    lo, hi = st.spread
    return {"metric": st.metric, "clean": json_number(st.clean), "noisy": _nums(st.noisy), "noise": st.noise,
            "spread": [json_number(lo), json_number(hi)], "unstable": bool(threshold.holds(lo) != threshold.holds(hi))}


def ablation_evidence(ev: AblationEvidence, upper_only: bool, adapter: Any) -> dict[str, Any]:
    r = ev.result
    k = ev.decisive if ev.decisive is not None else 0
    per_image = {"prob_drop": r.prob_drop, "logit_drop": r.logit_drop, "region_only_prob": r.region_only_prob}[ev.metric]
    order = _telling(per_image[k], upper_only) if r.fills and len(r.base_prob) else []

    def show(a: np.ndarray) -> str | None:
        shown = adapter.to_display(a) if adapter is not None else None
        return image_uri(shown) if shown is not None else None

    removals = r.only_removal if ev.region_only else r.removal
    images = []
    for i in order:
        fills = {}
        for j, f in enumerate(r.fills):
            fills[f.name] = {
                "logit_drop": json_number(r.logit_drop[j, i]),
                "prob_drop": json_number(r.prob_drop[j, i]),
                "region_only_prob": json_number(r.region_only_prob[j, i]),
                "removal": json_number(removals[j].per_image[i]) if j < len(removals) else None,
                "ablated": show(r.ablated(j, i)),
                "kept": show(r.kept(j, i)) if r.only_fills else None,
            }
        images.append({
            "name": r.inputs.names[i],
            "image": image_uri(r.inputs.images[i]),
            "mask": mask_uri(r.region[i]),
            "base_logit": json_number(r.base_logit[i]),
            "base_prob": json_number(r.base_prob[i]),
            "fills": fills,
        })
    valid = r.valid

    def mean(a: np.ndarray) -> float | None:
        return json_number(a[valid].mean()) if valid.any() else None

    fill_rows = []
    for j, f in enumerate(r.fills):
        row: dict[str, Any] = {
            "name": f.name, "description": f.description,
            "mean_logit_drop": mean(r.logit_drop[j]), "mean_prob_drop": mean(r.prob_drop[j]),
            "mean_region_only_prob": mean(r.region_only_prob[j]),
            "mean_margin_drop": mean(r.margin_drop[j]) if r.ablated_margin.size else None,
        }
        if j < len(removals):
            row.update(removal=json_number(removals[j].ratio), admissible=bool(removals[j].admissible),
                       not_counted=removals[j].reason or None)
        fill_rows.append(row)
    return {
        "type": "ablation",
        "target": r.target_name,
        "target_index": r.target,
        "region_name": ev.region_name,
        "scored": "region_only" if ev.region_only else "region_replaced",
        "fills": fill_rows,
        "decisive_fill": r.fills[ev.decisive].name if ev.decisive is not None else None,
        "hinges_on_fill": bool(ev.hinges_on_fill),
        "base_prob_mean": mean(r.base_prob),
        "saturated": bool(valid.any() and float(r.base_prob[valid].mean()) >= SATURATED_PROB),
        "notes": list(r.notes),
        "input_size": list(r.inputs.images.shape[1:3]),
        "resize": r.inputs.resize or None,
        "images": images,
        "per_image": [
            {"name": n, "base_prob": json_number(r.base_prob[i]),
             "prob_drop": {f.name: json_number(r.prob_drop[j, i]) for j, f in enumerate(r.fills)},
             "logit_drop": {f.name: json_number(r.logit_drop[j, i]) for j, f in enumerate(r.fills)},
             "region_only_prob": {f.name: json_number(r.region_only_prob[j, i]) for j, f in enumerate(r.fills)}}
            for i, n in enumerate(r.inputs.names)
        ],
    }


def _nums(values: Any) -> list[float | None]:
    return [json_number(v) for v in np.asarray(values, float).ravel()]


def _null_json(n: Any) -> dict[str, Any] | None:
    """A pseudo-concept comparison (tcav_stats.NullComparison) as JSON, or None."""
    if n is None:
        return None
    return {"concept_mean": json_number(n.concept_mean), "null_mean": json_number(n.null_mean), "null_sd": json_number(n.null_sd),
            "n_null": int(n.n_null), "effect": json_number(n.effect), "interval": [json_number(n.interval[0]), json_number(n.interval[1])],
            "p_greater": json_number(n.p_greater), "p_less": json_number(n.p_less), "p_two_sided": json_number(n.p_two_sided),
            "p_equivalent": json_number(n.p_equivalent), "margin": json_number(n.margin)}


def _tcav_layer_extra(s: Any, lr: Any) -> dict[str, Any]:
    """A layer's informativeness, pseudo-concept null, outcome and contrast (default mode; display in reference)."""
    out: dict[str, Any] = {
        "gradient_variation": json_number(lr.gradient_variation), "informative": bool(lr.informative),
        "informative_reason": lr.informative_reason or None, "zero_derivatives": json_number(lr.zero_derivatives),
        "one_sided_share": json_number(lr.one_sided_share), "null_scores": _nums(lr.null_scores),
        "null": _null_json(s.null), "reason": s.reason or None, "outcome": s.outcome or None,
        "p_holm": {k: json_number(v) for k, v in s.p_holm.items()} or None, "contrast": None,
        "magnitude_z": json_number(s.magnitude_z), "magnitude_z_min": s.gate,
    }
    if s.contrast is not None:
        out["contrast"] = {
            "siblings": list(lr.contrast), "scores": _nums(lr.contrast_scores),
            "accuracies": _nums(lr.contrast_accuracies), "accuracy_mean": json_number(s.contrast_accuracy),
            "null_scores": _nums(lr.contrast_null), "stats": _null_json(s.contrast),
        }
    return out


def tcav_evidence(ev: TCAVEvidence) -> dict[str, Any]:
    r = ev.result
    layers = []
    for s, lr in zip(ev.layers, r.layers):
        c = s.comparison
        layers.append({
            "layer": s.layer, "dims": lr.dims, "represented": s.represented, "verdict": s.verdict.value,
            "concept_scores": _nums(lr.concept_scores), "random_scores": _nums(lr.random_scores),
            "other_scores": None if s.other is None else _nums(s.other),
            "magnitudes": _nums(lr.concept_magnitudes),
            "concept_accuracies": _nums(lr.concept_accuracies), "concept_accuracy_mean": json_number(s.accuracy),
            "random_accuracy_mean": json_number(np.mean(lr.random_accuracies)),
            "concept_mean": json_number(c.concept_mean), "baseline_mean": json_number(c.random_mean),
            "effect": json_number(c.effect), "ci": [json_number(c.ci[0]), json_number(c.ci[1])],
            "p_welch": json_number(c.p_welch), "p_greater": json_number(c.p_greater), "p_within": json_number(c.p_within),
            "p_one_sample": json_number(c.p_one_sample), "p_student": json_number(s.p_student), "p_adjusted": json_number(s.p_adjusted),
            "runs": len(lr.pairs), "baseline_runs": len(lr.random_pairs),
            **_tcav_layer_extra(s, lr),
        })
    return {
        "type": "tcav",
        "claim_kind": ev.kind,
        "target": r.target_name,
        "target_index": r.target,
        "concept": r.concept,
        "compare_to": ev.other.concept if ev.other is not None else None,
        "mode": r.mode,
        "score": r.score,
        "sign_convention": r.sign_convention,
        "estimator": ("SGDClassifier(alpha=0.01, max_iter=1000, tol=1e-3) as tensorflow/tcav, CAV = -coef_ (not normalised)"
                      if r.mode == "tcav-reference" else "ridge classifier in closed form; unit-length CAV"),
        "pooling": r.pooling or "none (flattened)",
        "n_target": r.n_target, "n_concept": r.n_concept, "target_source": r.target_source,
        "random_sets": list(r.random_sets), "n_random": list(r.n_random),
        "contrast": list(r.contrast), "n_contrast": list(r.n_contrast),
        "gradient_variation_min": GRADIENT_VARIATION_MIN,
        "alpha": ev.alpha, "min_accuracy": ev.min_accuracy, "params": {k: json_number(v) for k, v in ev.params.items()},
        "decision": ev.decision,
        "primary_p": json_number(ev.primary_p),
        "p_session_holm": None,
        "survives_session_correction": None,
        "layers": layers,
        "concept_images": [image_uri(im, 64) for im in r.concept_images[:6]],
    }


def check_json(check: Check, message: str) -> dict[str, Any]:
    ev = check.evidence
    upper = check.threshold.upper_only
    if isinstance(ev, HeatmapEvidence):
        evidence = heatmap_evidence(ev, check.threshold)
    elif isinstance(ev, AblationEvidence):
        evidence = ablation_evidence(ev, upper, check.model)
    elif isinstance(ev, TCAVEvidence):
        evidence = tcav_evidence(ev)
    elif hasattr(ev, "to_json"):  # the insight evidence kinds (core/insight) record themselves
        evidence = ev.to_json()
    else:
        evidence = {"type": "none"}
    return {
        "kind": check.kind,
        "claim": check.claim,
        "status": check.status.value,
        "metric": check.metric,
        "measured": json_number(check.measured),
        "threshold": check.threshold.to_json(),
        "metrics": {k: json_number(v) for k, v in check.metrics.items()},
        "message": "" if check.status is Status.PASS else message,
        "reason": check.reason,
        "detail": check.detail,
        "model": check.model.fingerprint if check.model is not None else None,
        "evidence": evidence,
    }


def session_holm(audits: list[dict[str, Any]]) -> None:
    """Holm-adjust every TCAV claim's p-value across the session and flag claims that would not survive it."""
    from ..core.tcav.stats import holm

    found = [c["evidence"] for a in audits for c in a["checks"] if c["evidence"].get("type") == "tcav"]
    adjusted = holm([e["primary_p"] if e["primary_p"] is not None else float("nan") for e in found])
    for e, p in zip(found, adjusted):
        e["p_session_holm"] = json_number(p)
        e["survives_session_correction"] = None if json_number(p) is None else bool(p < e["alpha"])


def worst(statuses: list[Status]) -> Status:
    for s in WORST_FIRST:
        if s in statuses:
            return s
    return Status.PASS


def audit_json(*, nodeid: str, anchor: str, title: str, severity: str, status: Status, message: str,
               checks: list[dict[str, Any]], duration: float) -> dict[str, Any]:
    """One audit: the deciding check's claim/threshold, all checks' metrics (prefixed on clashes)."""
    deciding = deciding_check({"status": status.value, "checks": checks})
    metrics: dict[str, float | None] = {}
    for c in checks:
        for k, v in c["metrics"].items():
            key, n = k if k not in metrics else f"{c['kind']}.{k}", 3
            while key in metrics:  # a third check of the same kind (share#3.lift) must not overwrite the second
                key, n = f"{c['kind']}#{n}.{k}", n + 1
            metrics[key] = v
    return {
        "id": anchor,
        "nodeid": nodeid,
        "title": title,
        "severity": severity,
        "status": status.value,
        "claim": deciding["claim"] if deciding else title,
        "metrics": metrics,
        "threshold": deciding["threshold"] if deciding else None,
        "message": message,
        "duration_s": round(duration, 3),
        "checks": checks,
    }
