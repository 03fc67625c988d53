"""The results.json contract that the plugin (which writes it) and the report (which reads it) share.

Stdlib only: importing it must stay cheap for the plugin and free of the report's dependencies.
docs/results-schema.md describes the file itself.
"""
from __future__ import annotations

import hashlib
import math
import re
from typing import Any

SCHEMA_VERSION = 1

# Audit statuses, worst first: the order audits are listed and sorted in.
STATUSES = ("FAIL", "INCONCLUSIVE", "ERROR", "PASS")
STATUS_ORDER = {s: i for i, s in enumerate(STATUSES)}

# Heatmap method keys (evidence "method", companion and curve keys) and their labels, in display order.
METHOD_LABELS = {
    "gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++", "layercam": "LayerCAM", "saliency": "Saliency",
    "occlusion": "Occlusion", "smoothgrad": "SmoothGrad", "integrated_gradients": "Integrated Gradients",
    "gradient_x_input": "Gradient × Input",
}
METHOD_KEYS = tuple(METHOD_LABELS)

_RECORDED_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,80}")


def json_number(v: Any) -> float | None:
    """A number as results.json stores it: a finite float, or null (NaN, infinities, what is not a number)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def normalise_status(status: object) -> str:
    """One of :data:`STATUSES`; anything unknown or missing counts as ERROR."""
    s = str(status or "").strip().upper()
    return s if s in STATUS_ORDER else "ERROR"


def anchor_for_nodeid(nodeid: str) -> str:
    """The HTML id of an audit's card: ``audit-`` + the first 10 hex digits of sha1(nodeid)."""
    return "audit-" + hashlib.sha1(nodeid.encode("utf-8")).hexdigest()[:10]


def audit_anchor(audit: dict[str, Any]) -> str:
    """The card id of one recorded audit: its ``id`` (failure messages link to it), else the nodeid rule."""
    rid = audit.get("id")
    if isinstance(rid, str) and _RECORDED_ID.fullmatch(rid):
        return rid
    nodeid = audit.get("nodeid")
    return anchor_for_nodeid("" if nodeid is None else str(nodeid))


def inconclusive_reason(audit: dict[str, Any]) -> str | None:
    """Why an audit is INCONCLUSIVE: the reason of its first INCONCLUSIVE check that gives one (None if none)."""
    raw = audit.get("checks")
    checks = [c for c in raw if isinstance(c, dict)] if isinstance(raw, list) else []
    return next((str(c["reason"]) for c in checks
                 if normalise_status(c.get("status")) == "INCONCLUSIVE" and c.get("reason")), None)


def deciding_check(audit: dict[str, Any]) -> dict[str, Any] | None:
    """The check that decides ``audit``: the one carrying the audit's claim, else the first with the audit's
    status, else the last check; None when it has no checks. Entries that are not objects count as empty."""
    raw = audit.get("checks")
    checks = [c if isinstance(c, dict) else {} for c in raw] if isinstance(raw, list) else []
    claim = audit.get("claim")
    if claim:
        for c in checks:
            if c.get("claim") == claim:
                return c
    status = normalise_status(audit.get("status"))
    for c in checks:
        if normalise_status(c.get("status")) == status:
            return c
    return checks[-1] if checks else None
