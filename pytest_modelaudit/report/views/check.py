"""View of one check (check.html.j2): claim, verdict, measured against threshold, metrics, and its evidence
through the evidence views (evidence_other.html.j2's plain facts live here)."""
from __future__ import annotations

import hashlib
import json
from typing import Any

from ...schema import normalise_status
from ..formatting import fmt_num, fmt_threshold, fmt_value
from .common import ImageBudget, as_dict, metrics_rows, text
from .evidence_ablation import ablation_view
from .evidence_heatmap import heatmap_view
from .evidence_honesty import honesty_section
from .evidence_tcav import TCAV_LAYER_METRIC, tcav_view

# Evidence types drawn by a view module of their own: views/<module>.py holds `view(ev, budget) -> dict`,
# whose result names its template under "template" (check.html.j2 includes it).
OWN_VIEWS = {
    "performance": "evidence_performance",
    "embedding": "evidence_embedding",
    "disagreement": "evidence_disagreement",
    "features": "evidence_features",
    "robustness": "evidence_robustness",
    "robustness": "evidence_robustness",
}


def other_view(ev: dict) -> dict:
    """Evidence of a type this report does not draw: its scalar fields, never embedded images."""
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
    return {"type": "other", "raw_type": text(ev.get("type"), "unknown"), "facts": facts}


def evidence_view(ev: Any, budget: ImageBudget, status: str) -> dict:
    """The view of one check's evidence by its type; a broken one becomes ``{"type": "broken"}``."""
    ev = as_dict(ev)
    kind = text(ev.get("type"), "none")
    try:
        if kind == "heatmap":
            return heatmap_view(ev, budget)
        if kind == "ablation":
            return ablation_view(ev, budget)
        if kind == "tcav" and isinstance(ev.get("layers"), list):
            return tcav_view(ev, budget, status)
        if kind in OWN_VIEWS:
            import importlib

            return importlib.import_module(f"{__package__}.{OWN_VIEWS[kind]}").view(ev, budget)
        if kind == "none" or not ev:
            return {"type": "none"}
        return other_view(ev)
    except Exception as exc:
        return {"type": "broken", "error": f"{type(exc).__name__}: {exc}"}


def check_view(check: Any, n: int, models: dict, budget: ImageBudget, seen: dict) -> dict:
    """Check ``n`` of a card; ``seen`` maps evidence already shown in the card to its check number."""
    c = as_dict(check)
    status = normalise_status(c.get("status"))
    ev = c.get("evidence")
    same_as = None
    if isinstance(ev, dict) and ev.get("type") not in (None, "none"):
        key = hashlib.sha256(json.dumps(ev, sort_keys=True, default=str).encode()).hexdigest()
        same_as = seen.get(key)
        if same_as is None:
            seen[key] = n
    model_key = text(c.get("model"))
    model = models.get(model_key)
    evidence = {"type": "none"} if same_as else evidence_view(ev, budget, status)
    if evidence.get("type") == "heatmap":
        evidence["honesty"] = honesty_section(ev, fmt_threshold(c.get("threshold")))
    metrics = metrics_rows(c.get("metrics"))
    if evidence.get("type") == "tcav":  # the layer table shows every per-layer metric
        metrics = [(k, v) for k, v in metrics if not TCAV_LAYER_METRIC.match(k)]
    return {
        "n": n,
        "kind": text(c.get("kind")),
        "claim": text(c.get("claim"), "(no claim recorded)"),
        "status": status,
        "metric": text(c.get("metric")),
        "measured": fmt_num(c.get("measured")),
        "threshold": fmt_threshold(c.get("threshold")),
        "metrics": metrics,
        "message": text(c.get("message")),
        "reason": text(c.get("reason")),
        "detail": text(c.get("detail")),
        "model": ({"name": model["name"], "anchor": model["anchor"]} if model else
                  ({"name": model_key, "anchor": None} if model_key else None)),
        "evidence_same_as": same_as,
        "evidence": evidence,
    }
