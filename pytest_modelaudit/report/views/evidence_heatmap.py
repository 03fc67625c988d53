"""View of heatmap evidence (evidence_heatmap.html.j2): facts, one overlay per image beside the other
methods' maps, and the per-image table."""
from __future__ import annotations

from ...schema import METHOD_KEYS, METHOD_LABELS
from ..draw import overlays
from ..formatting import DASH, fmt_num, fmt_shape
from .common import MAX_IMAGES, ImageBudget, as_dict, as_list, quote, text

# Other spellings of method keys that results may hold: (the key each is listed right after, label).
_OTHER_SPELLINGS = {"grad-cam": ("gradcam", "Grad-CAM"), "gradcampp": ("gradcam++", "Grad-CAM++"),
                    "scorecam": ("layercam", "Score-CAM")}


def method_label(key: str, default: str | None = None) -> str:
    """The label of a method key; an unknown key as ``default`` (else itself)."""
    return METHOD_LABELS.get(key) or _OTHER_SPELLINGS.get(key, ("", key if default is None else default))[1]


def _method_rank(key: str) -> tuple[int, int]:
    if key in METHOD_LABELS:
        return METHOD_KEYS.index(key), 0
    if key in _OTHER_SPELLINGS:
        return METHOD_KEYS.index(_OTHER_SPELLINGS[key][0]), 1
    return 99, 0


def heatmap_view(ev: dict, budget: ImageBudget) -> dict:
    images = as_list(ev.get("images"))[:MAX_IMAGES]
    per_image = [as_dict(p) for p in as_list(ev.get("per_image"))]
    method = text(ev.get("method"), "heatmap")
    grid = ev.get("grid")
    size = ev.get("input_size")
    n_all = len(per_image) or len(images)
    n_deg = sum(1 for p in (per_image or images) if as_dict(p).get("degenerate"))

    facts = [
        ("Method", method_label(method.lower(), method)),
        ("Target class", f"{quote(ev.get('target'))} (score: {text(ev.get('score'), 'logit')})"),
        ("Layer", text(ev.get("layer"), DASH)),
        ("Grid", f"{fmt_shape(grid)} input grid (maps shown on a {fmt_shape(ev.get('display_grid') or grid)} grid)"
                 if str(ev.get("layer", "")).startswith("input") else
                 f"{fmt_shape(grid)} feature map; shown {text(ev.get('upsampling'), 'bilinear')}-upsampled to "
                 f"{fmt_shape(size)}"),
        ("Region", quote(ev.get("region_name"))),
        ("Region metric", text(ev.get("region_metric"), DASH)),
        ("Aggregate", text(ev.get("aggregate"), DASH)),
        ("Images", f"{n_all} scored" + (f", {n_deg} degenerate (excluded from the aggregate)"
                                         if n_deg else "")),
    ]
    if text(ev.get("resize")):
        facts.append(("Resized", text(ev.get("resize"))))
    items = []
    omitted = False
    for raw in images:
        img = as_dict(raw)
        item = {
            "name": text(img.get("name"), "image"),
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
    return {
        "type": "heatmap",
        "method_label": method_label(method.lower(), method),
        "companion_labels": [method_label(k) for k in _companion_order(images, method)],
        "facts": facts,
        "figures": items,
        "images_omitted": budget.note if omitted else None,
        "per_image": [
            {"name": text(p.get("name"), DASH), "share": fmt_num(p.get("share")),
             "lift": fmt_num(p.get("lift")), "degenerate": bool(p.get("degenerate"))}
            for p in per_image
        ],
        "region_name": text(ev.get("region_name")),
        "gradient": overlays.colormap_css_gradient(),
    }


def _companion_order(images: list, method: str) -> list[str]:
    """The other methods recorded beside the audited one, in a fixed order."""
    names: list[str] = []
    for raw in images:
        for k in as_dict(as_dict(raw).get("companions")):
            if k != method and k not in names:
                names.append(k)
    return sorted(names, key=lambda k: (_method_rank(k), k))


def _companion_cells(img: dict, method: str, budget: ImageBudget) -> list[dict]:
    """Overlays of the other methods' maps of one image (region outlined), for the side-by-side grid."""
    cells = []
    grids = as_dict(img.get("companions"))
    for k in _companion_order([img], method):
        try:
            uri, state = overlays.heatmap_overlay(img.get("image"), grids[k], img.get("mask"))
        except Exception as exc:  # one bad map never stops the report
            cells.append({"label": method_label(k), "uri": None, "caption": f"not drawn: {exc}"})
            continue
        cells.append({"label": method_label(k), "uri": uri if budget.fits(uri) else None,
                      "caption": state.caption})
    return cells
