"""An audit record as JUnit XML properties (``item.user_properties``), so CI dashboards show verdicts and metrics.

Keys are prefixed ``model_audit.``; values are strings. The ``time`` attribute is never touched.
"""
from __future__ import annotations

from typing import Any

from ..schema import deciding_check


def _num(v: Any) -> str | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return format(v, ".6g")


def _threshold(th: Any) -> str | None:
    if not isinstance(th, dict) or th.get("op") is None:
        return None
    value = th.get("value")
    if isinstance(value, (list, tuple)):
        return f"{th['op']} [{', '.join(_num(v) or str(v) for v in value)}]"
    return f"{th['op']} {_num(value) or value}"


def junit_properties(record: dict[str, Any], models: dict[str, dict[str, Any]], report_link: str) -> list[tuple[str, str]]:
    """(name, value) pairs: status, title, severity, claim, the deciding measurement, every metric, model, report link."""
    props = [("model_audit.status", record["status"]), ("model_audit.title", record["title"]),
             ("model_audit.severity", record["severity"])]
    if record.get("claim"):
        props.append(("model_audit.claim", record["claim"]))
    deciding = deciding_check(record)
    if deciding is not None:
        props.append(("model_audit.metric", str(deciding.get("metric"))))
        if _num(deciding.get("measured")) is not None:
            props.append(("model_audit.measured", _num(deciding["measured"])))
    if _threshold(record.get("threshold")):
        props.append(("model_audit.threshold", _threshold(record["threshold"])))
    for name, value in (record.get("metrics") or {}).items():
        if _num(value) is not None:
            props.append((f"model_audit.metrics.{name}", _num(value)))
    fps = record.get("models") or []
    if fps:
        props.append(("model_audit.model", ", ".join(str(models.get(fp, {}).get("name") or fp) for fp in fps)))
        props.append(("model_audit.model_fingerprint", ", ".join(fps)))
    props.append(("model_audit.report", report_link))
    return props
