"""View of features evidence (evidence_features.html.j2): per unit its top-activating images with the peak crop,
then the activation-maximisation images, marked illustrative."""
from __future__ import annotations

from ..formatting import DASH, fmt_num, fmt_shape
from .common import ImageBudget, as_dict, as_list, quote, text

MAX_UNITS = 8
MAX_TOP = 8
ILLUSTRATIVE = "illustrative: synthetic input, not evidence"


def _uri(x: object) -> str | None:
    s = text(x)
    return s if s.startswith("data:image/") else None


def view(ev: dict, budget: ImageBudget) -> dict:
    """Facts, one row per unit (top images + crops, names, values, labels), the maximisation strip."""
    ev = as_dict(ev)
    omitted = False
    units = []
    for raw in as_list(ev.get("units"))[:MAX_UNITS]:
        u = as_dict(raw)
        tops = []
        for t in as_list(u.get("top"))[:MAX_TOP]:
            t = as_dict(t)
            image, crop = _uri(t.get("image")), _uri(t.get("crop"))
            if (image or crop) and not budget.fits(image, crop):
                image = crop = None
                omitted = True
            tops.append({"name": text(t.get("name"), "image"), "value": fmt_num(t.get("value")),
                         "label": text(t.get("label")), "image": image, "crop": crop})
        rng = [fmt_num(v) for v in as_list(u.get("score_range"))]
        units.append({"label": text(u.get("label"), DASH), "top": tops,
                      "share": fmt_num(u.get("share")) if u.get("share") is not None else "",
                      "range": " to ".join(rng) if len(rng) == 2 else DASH, "constant": u.get("constant") is True})
    m = as_dict(ev.get("maximised"))
    maxi = []
    for raw in as_list(m.get("images"))[:MAX_UNITS]:
        r = as_dict(raw)
        image = _uri(r.get("image"))
        if image and not budget.fits(image):
            image, omitted = None, True
        if image:
            maxi.append({"label": text(r.get("label"), DASH), "image": image, "objective": fmt_num(r.get("objective"))})
    facts = [
        ("Layer", text(ev.get("layer"), DASH)),
        ("Scored by", text(ev.get("scored"), DASH)),
        ("Images", text(ev.get("n_images"), DASH) + (" (labelled)" if ev.get("labelled") is True else "")),
        ("Layer grid", fmt_shape(ev.get("grid"))),
    ]
    if ev.get("of"):
        facts.append(("Claimed class", quote(ev.get("of"))))
    return {"type": "features", "template": "evidence_features.html.j2", "facts": facts, "units": units,
            "maximised": maxi, "maximise_how": text(m.get("how")),
            "illustrative": text(m.get("illustrative")) or ILLUSTRATIVE,
            "notes": [text(n) for n in as_list(ev.get("notes"))], "omitted": budget.note if omitted else ""}
