"""The audits in report order, one view per card (audit_card.html.j2; audit_card_broken.html.j2 when one
cannot be built): headline, checks, baseline. Cards are built worst first, so they get images first."""
from __future__ import annotations

from typing import Any

from ...schema import STATUS_ORDER, audit_anchor, normalise_status
from ..formatting import DASH, fmt_duration
from .audit_table import headline, session_note
from .baseline import baseline_view
from .check import check_view
from .common import ImageBudget, as_dict, as_list, metrics_rows, text


def sort_audits(audits: list) -> list[dict]:
    """FAIL, INCONCLUSIVE, ERROR, PASS, then by node id."""
    return sorted((as_dict(a) for a in audits),
                  key=lambda a: (STATUS_ORDER[normalise_status(a.get("status"))], text(a.get("nodeid"))))


def audit_view(audit: Any, index: int, models: dict, budget: ImageBudget, anchor: str) -> dict:
    a = as_dict(audit)
    status = normalise_status(a.get("status"))
    title = text(a.get("title")) or text(a.get("nodeid"), "(untitled audit)")
    view = {
        "index": index,
        "anchor": anchor,
        "status": status,
        "title": title,
        "nodeid": text(a.get("nodeid"), DASH),
        "severity": text(a.get("severity"), "major"),
        **headline(a, status, title),
        "message": text(a.get("message")),
        "duration": fmt_duration(a.get("duration_s")),
        "metrics": metrics_rows(a.get("metrics")),
        "checks": [],
        "problem": None,
    }
    seen: dict = {}
    for n, c in enumerate(as_list(a.get("checks")), 1):
        try:
            view["checks"].append(check_view(c, n, models, budget, seen))
        except Exception as exc:
            view["problem"] = f"check {n} could not be shown: {type(exc).__name__}: {exc}"
    view["reason"] = session_note(status, view["checks"]) or view["reason"]
    # A card without pictures is short: print keeps it on one page.
    view["compact"] = not any(c["evidence"].get("figures") for c in view["checks"])
    view["baseline"] = baseline_view(a.get("baseline"))
    return view


def broken_audit_view(audit: dict, index: int, anchor: str, exc: Exception) -> dict:
    """The card of an audit whose view could not be built: what failed, as an ERROR."""
    return {
        "index": index, "anchor": anchor, "status": "ERROR",
        "title": text(audit.get("title")) or text(audit.get("nodeid"), "(unreadable audit)"),
        "nodeid": text(audit.get("nodeid"), DASH), "severity": DASH, "claim": "",
        "metric": "", "measured": DASH, "threshold": DASH, "message": "",
        "reason": "", "duration": DASH, "metrics": [], "checks": [],
        "problem": f"this audit could not be shown: {type(exc).__name__}: {exc}",
        "compact": True, "baseline": None,
    }


def audit_views(audits: Any, models: dict, budget: ImageBudget) -> list[dict]:
    """Every audit's card view in report order; card ids are unique in the page."""
    views = []
    anchors: set[str] = set()
    for i, a in enumerate(sort_audits(as_list(audits)), 1):
        anchor = audit_anchor(a)
        if anchor in anchors:  # ids must be unique in the page
            anchor = f"{anchor}-{i}"
        anchors.add(anchor)
        try:
            views.append(audit_view(a, i, models, budget, anchor))
        except Exception as exc:  # keep the report; show what failed
            views.append(broken_audit_view(a, i, anchor, exc))
    return views
