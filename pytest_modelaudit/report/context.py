"""Turn a ``results.json`` dict into the view model the templates display.

All interpretation of the results lives here (ordering, which check decides, formatting,
image generation and the image budget); the templates only lay it out. Every audit is built
on its own: a malformed audit or an image that cannot be drawn becomes a note in its card and
never stops the rest of the report.
"""
from __future__ import annotations

import hashlib
import json
import re
import shlex
from typing import Any

from . import overlays, plots
from .honesty import honesty_view
from .formatting import (
    DASH, STATUS_ORDER, STATUSES, finite_number, fmt_datetime, fmt_duration, fmt_interval, fmt_num, fmt_p,
    fmt_score, fmt_shape, fmt_threshold, fmt_value, normalise_status,
)

MAX_IMAGES = 6            # per evidence block, most telling first
MAX_CLASSES_SHOWN = 30
# Characters of data-URI images one report may embed (thumbnails + overlays). Evidence of the
# audits listed first (FAIL, INCONCLUSIVE, ...) gets images first; past the budget the numbers
# stay and the images are left out with a note.
IMAGE_BUDGET_CHARS = 7_000_000

METHOD_NAMES = {
    "gradcam": "Grad-CAM", "grad-cam": "Grad-CAM", "gradcam++": "Grad-CAM++",
    "gradcampp": "Grad-CAM++", "layercam": "LayerCAM", "scorecam": "Score-CAM",
    "saliency": "Saliency", "occlusion": "Occlusion", "smoothgrad": "SmoothGrad",
    "integrated_gradients": "Integrated gradients", "gradient_x_input": "Gradient × Input",
}


class ImageBudget:
    def __init__(self, chars: int = IMAGE_BUDGET_CHARS):
        self.left = chars
        self.total = chars
        self.exhausted = False

    def fits(self, *uris: str | None) -> bool:
        need = sum(len(u) for u in uris if u)
        if self.exhausted or need > self.left:
            self.exhausted = True
            return False
        self.left -= need
        return True

    @property
    def note(self) -> str:
        mb = self.total / 1_000_000
        return (f"Images left out to keep the report small (its image budget of {mb:.0f} MB was "
                "used by the audits listed earlier). The numbers are complete; results.json "
                "holds every thumbnail.")


def _d(x: Any) -> dict:
    return x if isinstance(x, dict) else {}


def _l(x: Any) -> list:
    return x if isinstance(x, list) else []


def _s(x: Any, default: str = "") -> str:
    if x is None:
        return default
    return x if isinstance(x, str) else str(x)


def _anchor(prefix: str, key: Any) -> str:
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", _s(key)).strip("-")[:64]
    return f"{prefix}-{slug or 'x'}"


_COUNT_NAME = re.compile(r"(^|[._])(n|count|images|excluded_images|n_\w+|\w+_count)$")


def _metrics_rows(metrics: Any) -> list[tuple[str, str]]:
    """(name, value) rows; counts recorded as floats (4.0 images) are shown as integers."""
    rows = []
    for k, v in _d(metrics).items():
        if isinstance(v, float) and v.is_integer() and _COUNT_NAME.search(str(k)):
            v = int(v)
        rows.append((str(k), fmt_value(v)))
    return rows


def audit_anchor(audit: dict) -> str:
    """The card's HTML id: the audit's recorded ``id`` (failure messages link to it), else the
    same rule the plugin uses: ``audit-`` + the first 10 hex digits of sha1(nodeid)."""
    rid = audit.get("id")
    if isinstance(rid, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,80}", rid):
        return rid
    return "audit-" + hashlib.sha1(_s(audit.get("nodeid")).encode("utf-8")).hexdigest()[:10]


def _quote(name: Any) -> str:
    return f"‘{_s(name)}’" if name not in (None, "") else DASH


# --------------------------------------------------------------------------- evidence

def _heatmap_view(ev: dict, budget: ImageBudget, status: str) -> dict:
    images = _l(ev.get("images"))[:MAX_IMAGES]
    per_image = [_d(p) for p in _l(ev.get("per_image"))]
    method = _s(ev.get("method"), "heatmap")
    grid = ev.get("grid")
    size = ev.get("input_size")
    n_all = len(per_image) or len(images)
    n_deg = sum(1 for p in (per_image or images) if _d(p).get("degenerate"))

    facts = [
        ("Method", METHOD_NAMES.get(method.lower(), method)),
        ("Target class", f"{_quote(ev.get('target'))} (score: {_s(ev.get('score'), 'logit')})"),
        ("Layer", _s(ev.get("layer"), DASH)),
        ("Grid", f"{fmt_shape(grid)} input grid (maps shown on a {fmt_shape(ev.get('display_grid') or grid)} grid)"
                 if str(ev.get("layer", "")).startswith("input") else
                 f"{fmt_shape(grid)} feature map; shown {_s(ev.get('upsampling'), 'bilinear')}-upsampled to {fmt_shape(size)}"),
        ("Region", _quote(ev.get("region_name"))),
        ("Region metric", _s(ev.get("region_metric"), DASH)),
        ("Aggregate", _s(ev.get("aggregate"), DASH)),
        ("Images", f"{n_all} scored" + (f", {n_deg} degenerate (excluded from the aggregate)"
                                         if n_deg else "")),
    ]
    if _s(ev.get("resize")):
        facts.append(("Resized", _s(ev.get("resize"))))
    items = []
    omitted = False
    for raw in images:
        img = _d(raw)
        item = {
            "name": _s(img.get("name"), "image"),
            "share": fmt_num(img.get("share")),
            "lift": fmt_num(img.get("lift")),
            "thumb": None, "overlay": None, "state": "ok", "caption": "", "peak": DASH,
            "error": None, "companions": [],
        }
        try:
            overlay, state = overlays.heatmap_overlay(
                img.get("image"), img.get("heatmap"), img.get("mask"), bool(img.get("degenerate")))
            thumb = overlays.thumbnail_uri(img.get("image"))
            item.update(state=state.kind, caption=state.caption, peak=fmt_num(state.peak, 3))
            if budget.fits(thumb, overlay):
                item.update(thumb=thumb, overlay=overlay)
                item["companions"] = _companion_cells(img, method, budget)
            else:
                omitted = True
        except Exception as exc:  # one bad image never stops the report
            state, _ = overlays.heatmap_state(img.get("heatmap"), bool(img.get("degenerate")))
            item.update(state=state.kind, caption=state.caption, peak=fmt_num(state.peak, 3),
                        error=f"image could not be drawn: {exc}")
        items.append(item)
    companions = [METHOD_NAMES.get(k, k) for k in _companion_order(images, method)]
    return {
        "type": "heatmap",
        "method_label": METHOD_NAMES.get(method.lower(), method),
        "companion_labels": companions,
        "facts": facts,
        "figures": items,
        "images_omitted": budget.note if omitted else None,
        "per_image": [
            {"name": _s(p.get("name"), DASH), "share": fmt_num(p.get("share")),
             "lift": fmt_num(p.get("lift")), "degenerate": bool(p.get("degenerate"))}
            for p in per_image
        ],
        "region_name": _s(ev.get("region_name")),
        "gradient": overlays.colormap_css_gradient(),
    }


def _companion_order(images: list, method: str) -> list[str]:
    """The other methods recorded beside the audited one, in a fixed order."""
    names: list[str] = []
    for raw in images:
        for k in _d(_d(raw).get("companions")):
            if k != method and k not in names:
                names.append(k)
    return sorted(names, key=lambda k: (list(METHOD_NAMES).index(k) if k in METHOD_NAMES else 99, k))


def _companion_cells(img: dict, method: str, budget: ImageBudget) -> list[dict]:
    """Overlays of the other methods' maps of one image (region outlined), for the side-by-side grid."""
    cells = []
    grids = _d(img.get("companions"))
    for k in _companion_order([img], method):
        try:
            uri, state = overlays.heatmap_overlay(img.get("image"), grids[k], img.get("mask"))
        except Exception as exc:  # one bad map never stops the report
            cells.append({"label": METHOD_NAMES.get(k, k), "uri": None, "caption": f"not drawn: {exc}"})
            continue
        cells.append({"label": METHOD_NAMES.get(k, k), "uri": uri if budget.fits(uri) else None,
                      "caption": state.caption})
    return cells


def _ablation_view(ev: dict, budget: ImageBudget, status: str) -> dict:
    decisive = _s(ev.get("decisive_fill"))
    fills = []
    for f in _l(ev.get("fills")):
        f = _d(f)
        fills.append({
            "name": _s(f.get("name"), DASH),
            "description": _s(f.get("description")),
            "mean_logit_drop": fmt_num(f.get("mean_logit_drop")),
            "mean_prob_drop": fmt_num(f.get("mean_prob_drop")),
            "mean_region_only_prob": fmt_num(f.get("mean_region_only_prob")),
            "mean_margin_drop": fmt_num(f.get("mean_margin_drop")),
            "removal": fmt_num(f.get("removal")),
            "admissible": f.get("admissible") if isinstance(f.get("admissible"), bool) else None,
            "not_counted": _s(f.get("not_counted")),
            "decisive": _s(f.get("name")) == decisive and bool(decisive),
        })
    hinges = ev.get("hinges_on_fill")
    region_only = ev.get("scored") == "region_only"
    facts = [
        ("Target class", _quote(ev.get("target"))),
        ("Region", _quote(ev.get("region_name"))),
        ("Input size", fmt_shape(ev.get("input_size")) + (f" ({_s(ev.get('resize'))})" if _s(ev.get("resize")) else "")),
        ("Scored", "only the region kept, everything else replaced" if region_only else "the region replaced"),
        ("Decisive fill", decisive or "none: no fill removed what it replaced"),
    ]
    if ev.get("saturated") is True:
        facts.append(("Base probability", f"{fmt_num(ev.get('base_prob_mean'))}: saturated, so read the logit-margin "
                                          "drop beside the probability drop"))
    items = []
    omitted = False
    for raw in _l(ev.get("images"))[:MAX_IMAGES]:
        img = _d(raw)
        img_fills = _d(img.get("fills"))
        dec = _d(img_fills.get(decisive or (fills[0]["name"] if fills else "")))
        item = {
            "name": _s(img.get("name"), "image"),
            "base_prob": fmt_num(img.get("base_prob")),
            "base_logit": fmt_num(img.get("base_logit")),
            "prob_drop": fmt_num(dec.get("prob_drop")),
            "logit_drop": fmt_num(dec.get("logit_drop")),
            "region_only_prob": fmt_num(dec.get("region_only_prob")),
            "others": [(str(k), fmt_num(_d(v).get("region_only_prob" if region_only else "prob_drop")))
                       for k, v in img_fills.items() if k != decisive],
            "outlined": None, "ablated": None, "kept": None, "error": None,
        }
        try:
            outlined = overlays.outlined_image(img.get("image"), img.get("mask"))
            ablated = overlays.thumbnail_uri(dec.get("ablated")) if dec.get("ablated") else None
            kept = overlays.thumbnail_uri(dec.get("kept")) if dec.get("kept") else None
            if budget.fits(outlined, ablated, kept):
                item.update(outlined=outlined, ablated=ablated, kept=kept)
            else:
                omitted = True
        except Exception as exc:
            item["error"] = f"image could not be drawn: {exc}"
        items.append(item)

    per_image = [_d(p) for p in _l(ev.get("per_image"))]
    fill_names = [f["name"] for f in fills]
    for p in per_image:
        for k in _d(p.get("prob_drop")):
            if k not in fill_names:
                fill_names.append(str(k))
    return {
        "type": "ablation",
        "facts": facts,
        "fills": fills,
        "decisive_fill": decisive,
        "region_only": region_only,
        "hinges_on_fill": hinges if isinstance(hinges, bool) else None,
        "notes": [_s(n) for n in _l(ev.get("notes")) if n],
        "figures": items,
        "images_omitted": budget.note if omitted else None,
        "fill_names": fill_names,
        "per_image": [
            {"name": _s(p.get("name"), DASH), "base_prob": fmt_num(p.get("base_prob")),
             "drops": [fmt_num(_d(p.get("prob_drop")).get(n)) for n in fill_names]}
            for p in per_image
        ],
        "region_name": _s(ev.get("region_name")),
    }

CLAIM_KINDS = {
    "depends": "depends: the concept raises the target's score (TCAV above the random sets')",
    "opposes": "opposes: the concept pushes the target away (TCAV below the random sets')",
    "independent": "independent: the concept does not drive the target (TCAV shown to stay near the random sets')",
    "more_than": "more than another concept: TCAV above the other concept's",
}
OUTCOMES = {
    "depends": "depends", "opposes": "opposes (pushes away)", "independent": "independent",
    "undecided": "undecided", "more": "more", "less": "less",
}
MAX_CONCEPT_THUMBS = 6
# Per-layer metrics a TCAV check records (tcav[conv3], p_adj[conv3], ...): the layer table shows them.
_TCAV_LAYER_METRIC = re.compile(r"^(tcav|random|p_adj|cav_acc|null_mean|null_sd|grad_var|informative|contrast|"
                                r"contrast_null)\[.*\]$")
# The raw p each claim kind decides with, per pseudo-concept comparison: (key, table header).
_NULL_P = {"depends": ("p_greater", "p above"), "opposes": ("p_less", "p below"),
           "independent": ("p_equivalent", "p TOST"), "more_than": ("p_greater", "p above")}


def _count_summary(counts: list) -> str:
    ns = [int(n) for n in counts if isinstance(n, (int, float)) and not isinstance(n, bool)]
    if not ns:
        return DASH
    if min(ns) == max(ns):
        return f"{ns[0]} each" if len(ns) > 1 else str(ns[0])
    return f"{min(ns)}–{max(ns)}"


def _names_summary(names: list[str], keep: int = 3) -> str:
    if len(names) <= keep + 1:
        return ", ".join(names)
    return ", ".join(names[:keep]) + f", … {names[-1]}"


def _mean_sd(n: dict) -> str:
    """'0.50 ± 0.23 (20)': a null's mean, spread and size."""
    mean, sd = fmt_score(n.get("null_mean")), fmt_score(n.get("null_sd"))
    size = n.get("n_null")
    return f"{mean} ± {sd}" + (f" ({size})" if isinstance(size, int) and not isinstance(size, bool) else "")


def _null_cells(n: dict, kind: str) -> dict:
    """The table cells of one pseudo-concept comparison."""
    key, _ = _NULL_P.get(kind, _NULL_P["depends"])
    return {
        "concept_mean": fmt_score(n.get("concept_mean")),
        "null": _mean_sd(n),
        "effect": fmt_score(n.get("effect"), signed=True),
        "interval": fmt_interval(n.get("interval"), signed=True),
        "p_raw": fmt_p(n.get(key)),
        "p_two_sided": fmt_p(n.get("p_two_sided")),
    }


def _tcav_null_layer(L: dict, kind: str, concept: str, other: str, alpha: float | None, base: dict) -> dict:
    """A default-mode layer: informativeness, the pseudo-concept null and, when given, the contrast."""
    null = _d(L.get("null"))
    contrast = _d(L.get("contrast"))
    cstats = _d(contrast.get("stats"))
    decides = bool(L.get("represented")) and bool(L.get("informative", True)) and not L.get("reason")
    p_adj = finite_number(L.get("p_adjusted"))
    groups = [plots.Group(concept or "concept", plots.finite(L.get("concept_scores")), "concept")]
    if kind == "more_than" and isinstance(L.get("other_scores"), list):
        groups.append(plots.Group(other or "other", plots.finite(L.get("other_scores")), "other"))
    groups.append(plots.Group("null", plots.finite(L.get("null_scores")), "random"))
    if cstats:
        groups.append(plots.Group("contrast", plots.finite(contrast.get("scores")), "other"))
        groups.append(plots.Group("ctr. null", plots.finite(contrast.get("null_scores")), "random"))
    name = base["layer"]
    title = (f"TCAV at layer {name}: the concept's runs (mean: its score) against the null, each dot one random set "
             "scored as a pseudo-concept (its mean over its runs)") + (
        "; then the contrast (one run per sibling) against pseudo-contrasts" if cstats else "")
    variation = finite_number(L.get("gradient_variation"))
    informative = bool(L.get("informative", True))
    why = _s(L.get("reason"))
    short = ""
    if not L.get("represented"):
        short = base["reason_short"] or "not represented"
    elif not informative:
        short = "not informative: the gradient is the same for every image"
    elif why:
        short = "decides nothing"
    view = dict(base)
    view.update({
        "null_mode": True,
        "represented": decides,
        "acc_ok": bool(L.get("represented")),
        "reason": why,
        "reason_short": short,
        "informative": informative,
        "grad_var": (f"{variation:.2g}" if variation is not None else DASH),
        "informative_text": ("yes" if informative else "no") + f" · {f'{variation:.2g}' if variation is not None else 'zero'}",
        "outcome": OUTCOMES.get(_s(L.get("outcome")), DASH) if decides else DASH,
        "p_adjusted": fmt_p(p_adj),
        "significant": decides and p_adj is not None and alpha is not None and p_adj < alpha,
        "one_sided": fmt_score(L.get("one_sided_share")),
        "magnitude_z": (f"{finite_number(L.get('magnitude_z')):+.1f}" if finite_number(L.get("magnitude_z")) is not None
                        else DASH),
        "magnitude_z_min": fmt_value(L.get("magnitude_z_min")),
        "null_runs": str(len(plots.finite(L.get("null_scores")))),
        **_null_cells(null, kind),
        "svg": plots.strip_plot(groups, muted=not decides, title=title),
        "contrast": None,
    })
    if cstats:
        view["contrast"] = {
            **_null_cells(cstats, kind),
            "siblings": ", ".join(_quote(x) for x in _l(contrast.get("siblings"))),
            "scores": " · ".join(fmt_score(x) for x in _l(contrast.get("scores"))),
            "accuracy": fmt_score(contrast.get("accuracy_mean")),
        }
    return view


def _tcav_layer_view(raw: Any, kind: str, concept: str, other: str, alpha: float | None,
                     min_acc: float | None) -> dict:
    L = _d(raw)
    name = _s(L.get("layer"), "?")
    represented = bool(L.get("represented"))
    verdict = normalise_status(L.get("verdict")) if L.get("verdict") else "INCONCLUSIVE"
    acc = finite_number(L.get("concept_accuracy_mean"))
    p_key = "p_within" if kind == "independent" else "p_greater"
    p_raw = L.get(p_key) if L.get(p_key) is not None else L.get("p_welch")
    p_adj = finite_number(L.get("p_adjusted"))
    reason = short = ""
    if not represented:
        short = (f"not represented (CAV accuracy {fmt_score(acc)} < {fmt_score(min_acc)})"
                 if acc is not None and min_acc is not None and acc < min_acc else "not represented")
        if acc is not None and min_acc is not None and acc < min_acc:
            reason = (f"not represented: the concept's CAV accuracy {fmt_score(acc)} is below the minimum "
                      f"{fmt_score(min_acc)}, so this layer can neither pass nor fail the claim")
        elif kind == "more_than":
            reason = (f"not represented: the CAVs of ‘{other}’ are below the minimum accuracy"
                      + (f" {fmt_score(min_acc)}" if min_acc is not None else "")
                      + ", so this layer can neither pass nor fail the claim")
        else:
            reason = "not represented: CAV accuracy below the minimum; this layer does not count"
    elif L.get("informative") is False and L.get("informative_reason"):  # tcav-reference records it, never gates
        reason = f"not informative: {_s(L.get('informative_reason'))} (tcav-reference does not gate on it)"

    groups = [plots.Group(concept or "concept", plots.finite(L.get("concept_scores")), "concept")]
    if kind == "more_than" and isinstance(L.get("other_scores"), list):
        groups.append(plots.Group(other or "other", plots.finite(L.get("other_scores")), "other"))
    groups.append(plots.Group("random", plots.finite(L.get("random_scores")), "random"))
    title = f"TCAV scores at layer {name}: " + "; ".join(
        f"{g.label} {len(g.values)} run(s), mean {fmt_score(sum(g.values) / len(g.values)) if g.values else DASH}"
        for g in groups)
    dims = L.get("dims")
    base = {
        "layer": name,
        "null_mode": False,
        "dims": fmt_num(dims) if isinstance(dims, int) and not isinstance(dims, bool) else "",
        "verdict": verdict,
        "represented": represented,
        "reason": reason,
        "reason_short": short,
        "acc_concept": fmt_score(acc),
        "acc_random": fmt_score(L.get("random_accuracy_mean")),
        "concept_mean": fmt_score(L.get("concept_mean")),
        "baseline_mean": fmt_score(L.get("baseline_mean")),
        "effect": fmt_score(L.get("effect"), signed=True),
        "ci": fmt_interval(L.get("ci")),
        "p_raw": fmt_p(p_raw),
        "p_two_sided": fmt_p(L.get("p_welch")),
        "p_one_sample": fmt_p(L.get("p_one_sample")),
        "p_student": fmt_p(L.get("p_student")),
        "p_adjusted": fmt_p(p_adj),
        "significant": p_adj is not None and alpha is not None and represented and p_adj < alpha,
        "runs": fmt_num(L.get("runs")) if L.get("runs") is not None else str(len(groups[0].values)),
        "baseline_runs": (fmt_num(L.get("baseline_runs")) if L.get("baseline_runs") is not None
                          else str(len(groups[-1].values))),
        "svg": "",
    }
    if isinstance(L.get("null"), dict):
        return _tcav_null_layer(L, kind, concept, other, alpha, base)
    base["svg"] = plots.strip_plot(groups, muted=not represented, title=title)
    return base


def _tcav_notes(kind: str, alpha: float | None, null_mode: bool, contrast: bool) -> str:
    """The note under the layer table: which p decides, what is for reference only."""
    if not null_mode:
        return (("p below margin: one-sided Welch test that the concept's mean TCAV stays below the "
                 "baseline's + margin" if kind == "independent" else
                 "p Welch: one-sided Welch test of the concept's runs above the "
                 + ("other concept's" if kind == "more_than" else "random baseline's")
                 + " runs (two-sided in brackets)")
                + "; this is the p the claim decides with. p Holm adjusts it over the claim's layers "
                f"(bold: below α {fmt_num(alpha)}). p vs 0.5 (one-sample t-test of the concept's runs) and "
                "p Student (tensorflow/tcav's two-sided test against the random runs) are for reference only.")
    _, head = _NULL_P.get(kind, _NULL_P["depends"])
    what = {"p above": "one-sided, the concept above the null", "p below": "one-sided, the concept below the null",
            "p TOST": "two one-sided tests that the effect lies within ±margin"}[head]
    return ("Null: every random set scored as a pseudo-concept, exactly as the concept (its CAVs against the other "
            "random sets, its score the mean over its runs); mean ± sd (number of sets). "
            f"{head}: prediction t-test of the concept's mean among the pseudo-concepts' means ({what}; two-sided "
            f"in brackets); p Holm adjusts it over the layers that decide (bold: below α {fmt_num(alpha)}). "
            + ("The claim decides against the siblings (second table); the random-based numbers are for reference. "
               if contrast else "")
            + "A layer decides nothing when the concept is not represented (CAV accuracy), when the target's gradient "
              "points the same way for every image (gradient variation below the minimum: TCAV would only measure the "
              "sign of <class weights, CAV>) or when every directional derivative is 0. p Student (tensorflow/tcav's "
              "test) is for reference only.")


def _tcav_view(ev: dict, budget: ImageBudget, status: str) -> dict:
    kind = _s(ev.get("claim_kind"), "depends")
    concept = _s(ev.get("concept"))
    other = _s(ev.get("compare_to"))
    alpha = finite_number(ev.get("alpha"))
    min_acc = finite_number(ev.get("min_accuracy"))
    layers = [_tcav_layer_view(L, kind, concept, other, alpha, min_acc) for L in _l(ev.get("layers"))]
    null_mode = any(L["null_mode"] for L in layers)
    siblings = [_s(n) for n in _l(ev.get("contrast"))]
    has_contrast = null_mode and any(L.get("contrast") for L in layers)

    concept_text = _quote(concept)
    if kind == "more_than" and other:
        concept_text += f" compared with {_quote(other)}"
    if siblings:
        concept_text += " against its siblings " + ", ".join(_quote(x) for x in siblings)
    random_sets = [_s(n) for n in _l(ev.get("random_sets"))]
    n_random = _l(ev.get("n_random"))
    images = [f"target {fmt_num(ev.get('n_target'))}", f"concept {fmt_num(ev.get('n_concept'))}"]
    if random_sets or n_random:
        n_sets = len(random_sets) or len(n_random)
        images.append(f"random {_count_summary(n_random)} ({n_sets} set{'s' if n_sets != 1 else ''}"
                      + (f": {_names_summary(random_sets)}" if random_sets else "") + ")")
    if siblings:
        images.append(f"siblings {_count_summary(_l(ev.get('n_contrast')))}")
    runs = {(_s(L.get("runs")), _s(L.get("baseline_runs"))) for L in map(_d, _l(ev.get("layers")))}
    if len(runs) == 1:
        r, b = next(iter(runs))
        runs_text = (f"{r or DASH} concept run(s) (one CAV per random set) and {b or DASH} random-vs-random "
                     "baseline run(s) per layer")
        if null_mode:
            n_sets = len(random_sets) or len(n_random)
            runs_text = (f"{r or DASH} concept run(s) (one CAV per random set); null: {n_sets} random sets, each "
                         f"scored as a pseudo-concept against the other {max(n_sets - 1, 0)} (one pair matrix per "
                         "layer, shared by every claim of the session)")
    else:
        runs_text = "per layer, see the table"
    params = _d(ev.get("params"))
    session_p = finite_number(ev.get("p_session_holm"))
    survives = ev.get("survives_session_correction")
    if survives is False:
        session_text = f"{fmt_p(session_p)}: would not survive session-wide Holm correction"
    elif survives is True:
        session_text = f"{fmt_p(session_p)} (survives at α {fmt_num(alpha)})"
    else:
        session_text = fmt_p(session_p) if session_p is not None else "not computed"
    facts = [
        ("Target class", _quote(ev.get("target"))),
        ("Concept", concept_text),
        ("Claim", CLAIM_KINDS.get(kind, kind)),
        ("Mode", _s(ev.get("mode"), DASH)),
        ("Output used", _s(ev.get("score"), DASH)),
        ("CAV estimator", _s(ev.get("estimator"), DASH)),
        ("Pooling", _s(ev.get("pooling"), DASH)),
    ]
    if params:
        facts.append(("Parameters", fmt_value(params)))
    facts += [("Alpha", fmt_num(alpha)), ("Min CAV accuracy", fmt_score(min_acc))]
    if null_mode and finite_number(ev.get("gradient_variation_min")) is not None:
        facts.append(("Min gradient variation", fmt_value(ev.get("gradient_variation_min"))))
    facts_extra = [
        ("Images per set", " · ".join(images)),
        ("Target images from", _s(ev.get("target_source"), DASH)),
        ("Runs", runs_text),
        ("Claim p (Holm over layers)", fmt_p(ev.get("primary_p"))),
        ("Session-wide Holm p", session_text),
    ]

    thumbs = []
    omitted = False
    for uri in _l(ev.get("concept_images"))[:MAX_CONCEPT_THUMBS]:
        try:
            t = overlays.thumbnail_uri(uri)
        except Exception:  # a bad thumbnail is only left out
            t = None
        if t is None:
            continue
        if budget.fits(t):
            thumbs.append(t)
        else:
            omitted = True
    _, null_head = _NULL_P.get(kind, _NULL_P["depends"])
    return {
        "type": "tcav",
        "facts": facts,
        "facts_extra": facts_extra,
        "facts_class": "ev-facts ev-facts-half",
        "sign_convention": _s(ev.get("sign_convention")),
        "decision": _s(ev.get("decision")),
        "kind": kind,
        "concept": concept,
        "other": other,
        "figures": layers,
        "layers": layers,
        "null_mode": null_mode,
        "has_contrast": has_contrast,
        "siblings": ", ".join(_quote(x) for x in siblings),
        "null_p_head": null_head,
        "p_raw_head": "p below margin" if kind == "independent" else "p Welch",
        "p_raw_sub": "raw, one-sided" if kind == "independent" else "raw: one-sided (two-sided)",
        "p_note": _tcav_notes(kind, alpha, null_mode, has_contrast),
        "baseline_label": f"‘{other}’" if kind == "more_than" and other else "random",
        "alpha": fmt_num(alpha),
        "session_flag": (survives is False),
        "session_flag_strong": survives is False and status == "PASS",
        "session_p": fmt_p(session_p),
        "concept_images": thumbs,
        "images_omitted": budget.note if omitted else None,
    }


def _other_view(ev: dict) -> dict:
    facts = []
    for k, v in ev.items():
        if k == "type":
            continue
        if isinstance(v, str) and v.startswith("data:"):
            continue  # never dump embedded images as text
        if isinstance(v, (str, int, float, bool)) or v is None:
            facts.append((str(k), fmt_value(v)))
        elif isinstance(v, list):
            facts.append((str(k), f"{len(v)} entries (see results.json)"))
        elif isinstance(v, dict):
            facts.append((str(k), f"{len(v)} fields (see results.json)"))
    return {"type": "other", "raw_type": _s(ev.get("type"), "unknown"), "facts": facts}


def evidence_view(ev: Any, budget: ImageBudget, status: str) -> dict:
    ev = _d(ev)
    kind = _s(ev.get("type"), "none")
    try:
        if kind == "heatmap":
            return _heatmap_view(ev, budget, status)
        if kind == "ablation":
            return _ablation_view(ev, budget, status)
        if kind == "tcav" and isinstance(ev.get("layers"), list):
            return _tcav_view(ev, budget, status)
        if kind == "none" or not ev:
            return {"type": "none"}
        return _other_view(ev)
    except Exception as exc:
        return {"type": "broken", "error": f"{type(exc).__name__}: {exc}"}


# --------------------------------------------------------------------------- audits

def _deciding_check(audit: dict, checks: list[dict]) -> dict | None:
    claim = audit.get("claim")
    for c in checks:
        if claim and c.get("claim") == claim:
            return c
    status = normalise_status(audit.get("status"))
    for c in checks:
        if normalise_status(c.get("status")) == status:
            return c
    return checks[0] if checks else None


def _measured(audit: dict, deciding: dict | None) -> tuple[str, str]:
    """(metric name, measured value text) for the table."""
    threshold = _d(audit.get("threshold"))
    metric = _s(threshold.get("metric")) or _s(_d(deciding).get("metric"))
    value = None
    if deciding is not None and deciding.get("measured") is not None:
        value = deciding.get("measured")
        metric = metric or _s(deciding.get("metric"))
    elif metric:
        value = _d(audit.get("metrics")).get(metric)
    return metric, fmt_num(value)


def check_view(check: Any, n: int, models: dict, budget: ImageBudget, seen: dict) -> dict:
    c = _d(check)
    status = normalise_status(c.get("status"))
    ev = c.get("evidence")
    same_as = None
    if isinstance(ev, dict) and ev.get("type") not in (None, "none"):
        key = hashlib.sha256(json.dumps(ev, sort_keys=True, default=str).encode()).hexdigest()
        same_as = seen.get(key)
        if same_as is None:
            seen[key] = n
    model_key = _s(c.get("model"))
    model = models.get(model_key)
    evidence = {"type": "none"} if same_as else evidence_view(ev, budget, status)
    if evidence.get("type") == "heatmap":
        try:
            evidence["honesty"] = honesty_view(ev, _s(ev.get("honesty_policy"), "inconclusive"),
                                               fmt_threshold(c.get("threshold")), _d(ev.get("honesty")).get("example_mask"))
        except Exception as exc:  # the checks are evidence about the evidence: never lose the card to them
            evidence["honesty"] = {"problem": f"honesty checks could not be shown: {type(exc).__name__}: {exc}",
                                   "rows": [], "images": None, "policy": "", "examples": [], "curves": None}
    metrics = _metrics_rows(c.get("metrics"))
    if evidence.get("type") == "tcav":  # the layer table shows every per-layer metric
        metrics = [(k, v) for k, v in metrics if not _TCAV_LAYER_METRIC.match(k)]
    return {
        "n": n,
        "kind": _s(c.get("kind")),
        "claim": _s(c.get("claim"), "(no claim recorded)"),
        "status": status,
        "metric": _s(c.get("metric")),
        "measured": fmt_num(c.get("measured")),
        "threshold": fmt_threshold(c.get("threshold")),
        "metrics": metrics,
        "message": _s(c.get("message")),
        "reason": _s(c.get("reason")),
        "detail": _s(c.get("detail")),
        "model": ({"name": model["name"], "anchor": model["anchor"]} if model else
                  ({"name": model_key, "anchor": None} if model_key else None)),
        "evidence_same_as": same_as,
        "evidence": evidence,
    }


BASELINE_STATUS = {
    "compared": "Compared with the stored baseline",
    "created": "No baseline existed; this run created it (nothing to compare yet)",
    "updated": "Baseline rewritten by this run (--model-audit-update-baselines); changes are against the old one",
    "missing": "No baseline for this test; run pytest --model-audit --model-audit-update-baselines to create it",
    "invalid": "The baseline file is unreadable; delete it or re-run with --model-audit-update-baselines",
}
MAX_DRIFT_ROWS = 60


def baseline_view(raw: Any) -> dict | None:
    """The audit's baseline block: status, file, fingerprints then and now, and per-metric drift rows."""
    b = _d(raw)
    if not b:
        return None
    try:
        status = _s(b.get("status"), "unknown")
        fp = _d(b.get("fingerprint"))
        then = ", ".join(_s(x) for x in _l(fp.get("baseline"))) or DASH
        now = ", ".join(_s(x) for x in _l(fp.get("now"))) or DASH
        versions = _d(_d(b.get("versions")).get("baseline"))
        rows = []
        for name, m in _d(b.get("metrics")).items():
            m = _d(m)
            atol, rtol = finite_number(m.get("atol")), finite_number(m.get("rtol"))
            tol = DASH if atol is None else f"±{fmt_num(atol)}" + (f" + {fmt_num(rtol)}×|baseline|" if rtol else "")
            delta = finite_number(m.get("delta"))
            rows.append({
                "name": _s(name),
                "baseline": fmt_num(m.get("baseline"), 3) if m.get("in_baseline", True) else "not in baseline",
                "now": fmt_num(m.get("now"), 3),
                "delta": DASH if delta is None else ("+" if delta > 0 else "") + fmt_num(delta, 3),
                "tolerance": tol,
                "beyond": m.get("beyond") is True,
                "within": m.get("beyond") is False,
            })
        return {
            "status": status,
            "status_text": BASELINE_STATUS.get(status, status),
            "path": _s(b.get("path"), DASH),
            "fp_then": then,
            "fp_now": now,
            "fp_changed": then != DASH and then != now,
            "written": fmt_datetime(b.get("written_at")) if b.get("written_at") else DASH,
            "written_by": ", ".join(f"{k} {v}" for k, v in versions.items() if v),
            "notes": [_s(n) for n in _l(b.get("notes")) if n],
            "error": _s(b.get("error")),
            "rows": rows[:MAX_DRIFT_ROWS],
            "rows_left_out": max(0, len(rows) - MAX_DRIFT_ROWS),
            "n_beyond": sum(r["beyond"] for r in rows),
        }
    except Exception as exc:  # a malformed block is a note, never a broken card
        return {"status": "unknown", "status_text": "", "path": DASH, "fp_then": DASH, "fp_now": DASH,
                "fp_changed": False, "written": DASH, "written_by": "", "notes": [], "rows": [],
                "rows_left_out": 0, "n_beyond": 0,
                "error": f"the baseline block could not be shown: {type(exc).__name__}: {exc}"}


def audit_view(audit: Any, index: int, models: dict, budget: ImageBudget, anchor: str) -> dict:
    a = _d(audit)
    status = normalise_status(a.get("status"))
    checks_raw = [_d(c) for c in _l(a.get("checks"))]
    deciding = _deciding_check(a, checks_raw)
    metric, measured = _measured(a, deciding)
    threshold = a.get("threshold") or _d(deciding).get("threshold")
    reason = ""
    if status == "INCONCLUSIVE":
        reason = next((_s(c.get("reason")) for c in checks_raw
                       if normalise_status(c.get("status")) == "INCONCLUSIVE" and c.get("reason")), "")
    title = _s(a.get("title")) or _s(a.get("nodeid"), "(untitled audit)")
    claim = _s(a.get("claim")) or _s(_d(deciding).get("claim"))
    if not checks_raw and claim == title:
        claim = ""  # an audit that stopped before its first check has no claim of its own
    view = {
        "index": index,
        "anchor": anchor,
        "status": status,
        "title": title,
        "nodeid": _s(a.get("nodeid"), DASH),
        "severity": _s(a.get("severity"), "major"),
        "claim": claim,
        "metric": metric,
        "measured": measured,
        "threshold": fmt_threshold(threshold),
        "message": _s(a.get("message")),
        "reason": reason,
        "duration": fmt_duration(a.get("duration_s")),
        "metrics": _metrics_rows(a.get("metrics")),
        "checks": [],
        "problem": None,
    }
    seen: dict = {}
    for n, c in enumerate(checks_raw, 1):
        try:
            view["checks"].append(check_view(c, n, models, budget, seen))
        except Exception as exc:
            view["problem"] = f"check {n} could not be shown: {type(exc).__name__}: {exc}"
    if status == "PASS" and any(c["evidence"].get("session_flag_strong") for c in view["checks"]):
        view["reason"] = "would not survive session-wide Holm correction"  # shown under the claim in the table
    # A card without pictures is short: print keeps it on one page.
    view["compact"] = not any(c["evidence"].get("figures") for c in view["checks"])
    view["baseline"] = baseline_view(a.get("baseline"))
    return view


def sort_audits(audits: list) -> list:
    return sorted((_d(a) for a in audits),
                  key=lambda a: (STATUS_ORDER[normalise_status(a.get("status"))], _s(a.get("nodeid"))))


# --------------------------------------------------------------------------- whole report

def model_views(models: Any) -> dict[str, dict]:
    out = {}
    for key, m in _d(models).items():
        m = _d(m)
        classes = [_s(c) for c in _l(m.get("classes"))]
        shown = ", ".join(classes[:MAX_CLASSES_SHOWN])
        if len(classes) > MAX_CLASSES_SHOWN:
            shown += f", … ({len(classes) - MAX_CLASSES_SHOWN} more)"
        fp = _s(m.get("fingerprint")) or _s(key)
        out[_s(key)] = {
            "key": _s(key),
            "anchor": _anchor("model", fp),
            "name": _s(m.get("name")) or fp,
            "fingerprint": fp,
            "rows": [
                ("Source", _s(m.get("source"), DASH)),
                ("Fingerprint", fp),
                ("Input shape", fmt_shape(m.get("input_shape"))),
                ("Input range", _s(m.get("input_range"), DASH)),
                (f"Classes ({len(classes)})", shown or DASH),
                ("Output", _s(m.get("output"), DASH)),
                ("Logits from", _s(m.get("logits_from"), DASH)),
                ("Parameters", fmt_num(m.get("params"))),
                ("Layers used", ", ".join(_s(x) for x in _l(m.get("layers_used"))) or DASH),
            ],
        }
    return out


def _run_rows(results: dict) -> list[tuple[str, str]]:
    run = _d(results.get("run"))
    args = run.get("pytest_args")
    if isinstance(args, list):
        args_text = shlex.join(_s(a) for a in args) or DASH
    else:
        args_text = _s(args, DASH)
    policy = _s(run.get("inconclusive"), "fail")
    return [
        ("Root seed", fmt_value(run.get("seed"))),
        ("Started", fmt_datetime(run.get("started_at"))),
        ("Finished", fmt_datetime(run.get("finished_at"))),
        ("Run time", fmt_duration(run.get("duration_s"))),
        ("Inconclusive policy", f"{policy} (an inconclusive audit never counts as a pass)"),
        ("pytest arguments", args_text),
        ("Report folder", _s(run.get("report_dir"), DASH)),
        ("Results schema", f"version {fmt_value(results.get('schema_version'))}"),
        ("Evidence cache", _cache_text(run.get("cache"))),
    ]


def _cache_text(cache: Any) -> str:
    """run.cache in words: where, and how many results came from it."""
    c = _d(cache)
    if not c:
        return DASH
    if not c.get("dir"):
        return f"off ({_s(c.get('note'), DASH)})"
    counts = {k: fmt_value(c.get(k)) for k in ("hits", "disk_hits", "misses", "discarded")}
    return (f"{_s(c.get('dir'))}: {counts['hits']} result(s) reused ({counts['disk_hits']} from disk), "
            f"{counts['misses']} computed, {counts['discarded']} corrupt entr(ies) discarded")


def build_context(results: dict, *, for_print: bool = False,
                  image_budget: int = IMAGE_BUDGET_CHARS) -> dict:
    """The view model of a whole report (images included); see the module docstring."""
    results = _d(results)
    run = _d(results.get("run"))
    tool = _d(results.get("tool"))
    models = model_views(results.get("models"))
    budget = ImageBudget(image_budget)

    audits = []
    anchors: set[str] = set()
    for i, a in enumerate(sort_audits(_l(results.get("audits"))), 1):
        anchor = audit_anchor(a)
        if anchor in anchors:  # ids must be unique in the page
            anchor = f"{anchor}-{i}"
        anchors.add(anchor)
        try:
            audits.append(audit_view(a, i, models, budget, anchor))
        except Exception as exc:  # keep the report; show what failed
            audits.append({
                "index": i, "anchor": anchor, "status": "ERROR",
                "title": _s(_d(a).get("title")) or _s(_d(a).get("nodeid"), "(unreadable audit)"),
                "nodeid": _s(_d(a).get("nodeid"), DASH), "severity": DASH, "claim": "",
                "metric": "", "measured": DASH, "threshold": DASH, "message": "",
                "reason": "", "duration": DASH, "metrics": [], "checks": [],
                "problem": f"this audit could not be shown: {type(exc).__name__}: {exc}",
                "compact": True, "baseline": None,
            })

    counts = {s: 0 for s in STATUSES}
    for a in audits:
        counts[a["status"]] += 1
    total = len(audits)
    not_passed = total - counts["PASS"]
    if total == 0:
        verdict = ("none", "No audits were recorded in this run.")
    elif not_passed == 0:
        verdict = ("pass", f"All {total} audit{'s' if total != 1 else ''} passed.")
    else:
        parts = [f"{counts[s]} {s.lower()}" for s in ("FAIL", "INCONCLUSIVE", "ERROR") if counts[s]]
        verdict = ("fail", f"{not_passed} of {total} audit{'s' if total != 1 else ''} did not pass "
                           f"({', '.join(parts)}).")
    if run.get("interrupted"):  # never let a partial run read as a clean pass
        verdict = ("fail", "Interrupted run: it was stopped before every audit finished, so this report covers only "
                           f"the audits recorded until then and is not a verdict on the suite. {verdict[1]}")

    env = _d(results.get("environment"))
    return {
        "for_print": for_print,
        "tool_name": _s(tool.get("name"), "pytest-modelaudit"),
        "tool_version": _s(tool.get("version"), DASH),
        "date": fmt_datetime(run.get("started_at") or run.get("finished_at")),
        "seed": fmt_value(run.get("seed")),
        "duration": fmt_duration(run.get("duration_s")),
        "counts": counts,
        "total": total,
        "verdict": verdict,
        "audits": audits,
        "models": sorted(models.values(), key=lambda m: (m["name"], m["fingerprint"])),
        "environment": [(str(k), fmt_value(v)) for k, v in env.items()],
        "run_rows": _run_rows(results),
        "statuses": STATUSES,
        "comparison": _comparison(results, audits),
    }


def _comparison(results: dict, audits: list[dict]) -> Any:
    """The model comparison matrix (report/comparison.py) with the cards' anchors; None when there is none."""
    from .comparison import build_matrix

    try:
        return build_matrix(results, anchors={a["nodeid"]: a["anchor"] for a in audits})
    except Exception:  # the matrix is a summary of the cards: never lose the report to it
        return None
