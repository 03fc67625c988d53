"""The audit's headline, one row of audit_table.html.j2 (the card repeats it): claim, the deciding check's
measurement against the threshold, and why it is not a plain verdict."""
from __future__ import annotations

from ...schema import deciding_check, normalise_status
from ..formatting import fmt_num, fmt_threshold
from .common import as_dict, as_list, text

SESSION_NOTE = "would not survive session-wide Holm correction"


def measurement(audit: dict, deciding: dict | None) -> tuple[str, str]:
    """(metric name, measured value text): the deciding check's, else the audit's metric of that name."""
    threshold = as_dict(audit.get("threshold"))
    metric = text(threshold.get("metric")) or text(as_dict(deciding).get("metric"))
    value = None
    if deciding is not None and deciding.get("measured") is not None:
        value = deciding.get("measured")
        metric = metric or text(deciding.get("metric"))
    elif metric:
        value = as_dict(audit.get("metrics")).get(metric)
    return metric, fmt_num(value)


def headline(audit: dict, status: str, title: str) -> dict:
    """The table columns of one audit (its status and title aside)."""
    checks = [as_dict(c) for c in as_list(audit.get("checks"))]
    deciding = deciding_check(audit)
    metric, measured = measurement(audit, deciding)
    reason = ""
    if status == "INCONCLUSIVE":
        reason = next((text(c.get("reason")) for c in checks
                       if normalise_status(c.get("status")) == "INCONCLUSIVE" and c.get("reason")), "")
    claim = text(audit.get("claim")) or text(as_dict(deciding).get("claim"))
    if not checks and claim == title:
        claim = ""  # an audit that stopped before its first check has no claim of its own
    return {
        "claim": claim,
        "metric": metric,
        "measured": measured,
        "threshold": fmt_threshold(audit.get("threshold") or as_dict(deciding).get("threshold")),
        "reason": reason,
    }


def session_note(status: str, check_views: list[dict]) -> str | None:
    """A passing audit whose TCAV claim would not survive the session-wide correction says so under its claim."""
    if status == "PASS" and any(c["evidence"].get("session_flag_strong") for c in check_views):
        return SESSION_NOTE
    return None
