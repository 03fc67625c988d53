"""View of disagreement evidence (evidence_disagreement.html.j2): per-class accuracy of each model side by side,
the models' predictions against each other, and the images they differ on with each model's Grad-CAM."""
from __future__ import annotations

from typing import Any

from ..formatting import DASH, fmt_num
from .common import as_dict, as_list, text


def _pct(v: Any) -> str:
    return f"{100 * v:.0f}%" if isinstance(v, (int, float)) and not isinstance(v, bool) else DASH


def view(ev: dict, budget: Any) -> dict:
    from ..draw.overlays import heatmap_overlay

    models = [text(m) for m in as_list(ev.get("models"))]
    classes = [text(c) for c in as_list(ev.get("classes"))]
    acc = [as_dict(r) for r in as_list(ev.get("per_class_accuracy"))]
    accuracy_rows = [{"cls": c, "by_model": [_pct(a.get(c)) for a in acc]} for c in classes] if acc else []
    between = as_dict(ev.get("between"))
    counts = [[fmt_num(v) for v in as_list(row)] for row in as_list(between.get("counts"))]
    shown = []
    for s in (as_dict(x) for x in as_list(ev.get("shown"))):
        cells = []
        for m in (as_dict(x) for x in as_list(s.get("models"))):
            overlay = None
            if m.get("gradcam") is not None and s.get("image"):
                try:
                    overlay = heatmap_overlay(s.get("image"), m.get("gradcam"))[0]
                except Exception:
                    overlay = None
            right = m.get("right")
            cells.append({"model": text(m.get("model")), "predicted": text(m.get("predicted"), DASH),
                          "prob": fmt_num(m.get("prob")), "overlay": overlay,
                          "right": "right" if right is True else "wrong" if right is False else ""})
        shown.append({"name": text(s.get("name")), "label": text(s.get("label")), "distance": fmt_num(s.get("distance")),
                      "cells": cells})
    return {
        "type": "disagreement", "template": "evidence_disagreement.html.j2", "models": models,
        "accuracy_rows": accuracy_rows, "classes": classes, "counts": counts if len(counts) == len(classes) else [],
        "rows_model": text(between.get("rows")), "columns_model": text(between.get("columns")), "shown": shown,
        "facts": [("Images", fmt_num(ev.get("images"))), ("From", text(ev.get("source"), DASH)),
                  ("Agreement", _pct(ev.get("agreement"))), ("Predicted differently", fmt_num(ev.get("disagreements")))],
    }
