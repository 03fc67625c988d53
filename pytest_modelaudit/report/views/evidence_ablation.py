"""View of region-ablation evidence (evidence_ablation.html.j2): facts, the fills table, one row of pictures
per image (region outlined, ablated, region kept) and the per-image drops."""
from __future__ import annotations

from ..draw import overlays
from ..formatting import DASH, fmt_num, fmt_shape
from .common import MAX_IMAGES, ImageBudget, as_dict, as_list, quote, text


def ablation_view(ev: dict, budget: ImageBudget) -> dict:
    decisive = text(ev.get("decisive_fill"))
    fills = []
    for f in as_list(ev.get("fills")):
        f = as_dict(f)
        fills.append({
            "name": text(f.get("name"), DASH),
            "description": text(f.get("description")),
            "mean_logit_drop": fmt_num(f.get("mean_logit_drop")),
            "mean_prob_drop": fmt_num(f.get("mean_prob_drop")),
            "mean_region_only_prob": fmt_num(f.get("mean_region_only_prob")),
            "mean_margin_drop": fmt_num(f.get("mean_margin_drop")),
            "removal": fmt_num(f.get("removal")),
            "admissible": f.get("admissible") if isinstance(f.get("admissible"), bool) else None,
            "not_counted": text(f.get("not_counted")),
            "decisive": text(f.get("name")) == decisive and bool(decisive),
        })
    hinges = ev.get("hinges_on_fill")
    region_only = ev.get("scored") == "region_only"
    facts = [
        ("Target class", quote(ev.get("target"))),
        ("Region", quote(ev.get("region_name"))),
        ("Input size", fmt_shape(ev.get("input_size")) + (f" ({text(ev.get('resize'))})" if text(ev.get("resize")) else "")),
        ("Scored", "only the region kept, everything else replaced" if region_only else "the region replaced"),
        ("Decisive fill", decisive or "none: no fill removed what it replaced"),
    ]
    if ev.get("saturated") is True:
        facts.append(("Base probability", f"{fmt_num(ev.get('base_prob_mean'))}: saturated, so read the logit-margin "
                                          "drop beside the probability drop"))
    items = []
    omitted = False
    for raw in as_list(ev.get("images"))[:MAX_IMAGES]:
        img = as_dict(raw)
        img_fills = as_dict(img.get("fills"))
        dec = as_dict(img_fills.get(decisive or (fills[0]["name"] if fills else "")))
        item = {
            "name": text(img.get("name"), "image"),
            "base_prob": fmt_num(img.get("base_prob")),
            "base_logit": fmt_num(img.get("base_logit")),
            "prob_drop": fmt_num(dec.get("prob_drop")),
            "logit_drop": fmt_num(dec.get("logit_drop")),
            "region_only_prob": fmt_num(dec.get("region_only_prob")),
            "others": [(str(k), fmt_num(as_dict(v).get("region_only_prob" if region_only else "prob_drop")))
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

    per_image = [as_dict(p) for p in as_list(ev.get("per_image"))]
    fill_names = [f["name"] for f in fills]
    for p in per_image:
        for k in as_dict(p.get("prob_drop")):
            if k not in fill_names:
                fill_names.append(str(k))
    return {
        "type": "ablation",
        "facts": facts,
        "fills": fills,
        "decisive_fill": decisive,
        "region_only": region_only,
        "hinges_on_fill": hinges if isinstance(hinges, bool) else None,
        "notes": [text(n) for n in as_list(ev.get("notes")) if n],
        "figures": items,
        "images_omitted": budget.note if omitted else None,
        "fill_names": fill_names,
        "per_image": [
            {"name": text(p.get("name"), DASH), "base_prob": fmt_num(p.get("base_prob")),
             "drops": [fmt_num(as_dict(p.get("prob_drop")).get(n)) for n in fill_names]}
            for p in per_image
        ],
        "region_name": text(ev.get("region_name")),
    }
