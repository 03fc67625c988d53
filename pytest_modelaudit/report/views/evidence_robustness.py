"""View of robustness evidence (evidence_robustness.html.j2): one row per change, with what flipped."""
from __future__ import annotations

from typing import Any

from ..formatting import DASH, fmt_num
from .common import as_dict, as_list, text


def _pct(v: Any) -> str:
    return f"{100 * v:.1f}%" if isinstance(v, (int, float)) and not isinstance(v, bool) else DASH


def view(ev: dict, budget: Any) -> dict:
    s = as_dict(ev.get("settings"))
    rows = []
    for r in as_list(ev.get("perturbations")):
        r = as_dict(r)
        flipped = [f"{text(f.get('name'))}: {text(f.get('from'))} → {text(f.get('to'))}"
                   for f in (as_dict(x) for x in as_list(r.get("flipped")))]
        rows.append({"name": text(r.get("perturbation"), DASH), "flip_rate": _pct(r.get("flip_rate")),
                     "accuracy": _pct(r.get("accuracy")), "flipped": flipped})
    return {
        "type": "robustness", "template": "evidence_robustness.html.j2", "rows": rows,
        "labelled": bool(ev.get("labelled")),
        "facts": [("Images", fmt_num(ev.get("images"))), ("From", text(ev.get("source"), DASH)),
                  ("Accuracy on the originals", _pct(ev.get("accuracy")) if ev.get("labelled") else "no labels"),
                  ("Changes", f"brightness ±{_pct(s.get('brightness'))}, Gaussian noise σ {fmt_num(s.get('noise_sigma'))}"
                              f" of the range, JPEG quality {fmt_num(s.get('jpeg_quality'))}")],
    }
