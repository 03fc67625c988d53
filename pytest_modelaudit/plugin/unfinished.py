"""Audits that started but never reported a verdict: a crashed xdist worker or an interrupted run.

Every audit's setup report carries a small "pending" payload (node id, anchor, title, severity),
so the controller knows which running item was an audit even when its process dies before the
call report is made (xdist then sends a failed report with ``when="???"``).
"""
from __future__ import annotations

from typing import Any

PENDING_ATTR = "model_audit_pending"


def pending_payload(nodeid: str, anchor: str, title: str, severity: str) -> dict[str, str]:
    """What the controller needs to list an audit whose outcome never arrives."""
    return {"nodeid": nodeid, "anchor": anchor, "title": title, "severity": severity}


def is_crash_report(report: Any) -> bool:
    """xdist's report for the item a worker was running when it died."""
    return getattr(report, "when", None) == "???" and bool(getattr(report, "failed", False))


def _error_record(pending: dict[str, str], message: str) -> dict[str, Any]:
    from ..core.checks.verdicts import Status
    from .records import audit_json

    return audit_json(nodeid=pending["nodeid"], anchor=pending["anchor"], title=pending["title"],
                      severity=pending["severity"], status=Status.ERROR, message=message, checks=[], duration=0.0)


def crashed_record(pending: dict[str, str], longrepr: Any) -> dict[str, Any]:
    """An ERROR audit for a test whose process died (os._exit, abort, segfault, out of memory) before its verdict."""
    text = str(longrepr or "").strip() or "the test process died"
    return _error_record(pending, f"the test process crashed before the audit finished ({text}); no verdict. "
                                  "Typical causes: out of memory, a segfault in a native library, os._exit or abort.")


def unfinished_record(pending: dict[str, str], interrupted: bool) -> dict[str, Any]:
    """An ERROR audit for a test that started but reported no outcome by the end of the session."""
    why = ("the run was interrupted (KeyboardInterrupt) while this audit ran" if interrupted
           else "the test started but reported no outcome")
    return _error_record(pending, f"{why}; no verdict.")
