"""View of "performance" evidence (evidence_performance.html.j2): the confusion matrix figure, the per-class
table (precision, recall, support), the most confused pairs and a few misclassified thumbnails."""
from __future__ import annotations

from typing import Any

from ..draw.overlays import safe_image_uri
from ..formatting import fmt_num
from .common import ImageBudget, as_dict, as_list, text


def _int(x: Any) -> int | None:
    return int(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else None


def view(ev: dict, budget: ImageBudget) -> dict:
    """The performance evidence as the template wants it; malformed fields show as dashes, never crash."""
    classes = [text(c) for c in as_list(ev.get("classes"))]
    counts = [as_list(r) for r in as_list(ev.get("confusion"))]
    shares = [as_list(r) for r in as_list(ev.get("confusion_normalised"))]
    focus = as_dict(ev.get("focus"))
    cell = None
    if focus.get("kind") == "confusion" and focus.get("true") in classes and focus.get("predicted") in classes:
        cell = (classes.index(focus["true"]), classes.index(focus["predicted"]))
    figure, omitted = None, ""
    if classes and len(counts) == len(classes):
        from ..draw.insight_plots import confusion_png

        uri = confusion_png(counts, shares, classes, cell)
        if budget.fits(uri):
            figure = uri
        else:
            omitted = budget.note
    worst = text(focus.get("worst"))
    rows = []
    for r in as_list(ev.get("per_class")):
        r = as_dict(r)
        name = text(r.get("class"))
        support = _int(r.get("support"))
        rows.append({"name": name, "support": "—" if support is None else str(support),
                     "precision": fmt_num(r.get("precision")), "recall": fmt_num(r.get("recall")),
                     "absent": support == 0, "few": support is not None and 0 < support < (_int(ev.get("min_per_class")) or 3),
                     "worst": bool(worst) and name == worst})
    pairs = []
    for p in as_list(ev.get("pairs")):
        p = as_dict(p)
        pairs.append({"true": text(p.get("true")), "predicted": text(p.get("predicted")),
                      "count": text(_int(p.get("count")), "—"), "share": fmt_num(p.get("share"))})
    mistakes = []
    for m in as_list(ev.get("misclassified")):
        m = as_dict(m)
        uri = safe_image_uri(m.get("image"))
        if uri and not omitted and not budget.fits(uri):
            omitted = budget.note
        mistakes.append({"name": text(m.get("name")), "true": text(m.get("true")), "predicted": text(m.get("predicted")),
                         "image": uri if uri and not omitted else None})
    n = _int(ev.get("n"))
    total = _int(ev.get("classes_total"))
    facts = [("labelled images", "—" if n is None else str(n)), ("source", text(ev.get("source"), "—")),
             ("accuracy", fmt_num(ev.get("accuracy"), 3))]
    if total is not None and total > len(classes):
        facts.append(("classes shown", f"{len(classes)} of {total} (those with images or predictions)"))
    wrong = _int(ev.get("misclassified_total"))
    if wrong is not None:
        facts.append(("misclassified", str(wrong)))
    return {"type": "performance", "template": "evidence_performance.html.j2", "facts": facts, "figure": figure,
            "classes": rows, "pairs": pairs, "mistakes": mistakes, "images_omitted": omitted,
            "min_per_class": _int(ev.get("min_per_class")) or 3}
