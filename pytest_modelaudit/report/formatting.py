"""Formatting of numbers, thresholds, dates and durations for the report (jinja2 filters)."""
from __future__ import annotations

import math
from datetime import datetime, timezone

OPS = {
    "<=": "≤", "le": "≤", "≤": "≤",
    ">=": "≥", "ge": "≥", "≥": "≥",
    "<": "<", "lt": "<",
    ">": ">", "gt": ">",
    "==": "=", "eq": "=", "=": "=",
    "!=": "≠", "ne": "≠",
}

DASH = "—"


def fmt_num(x: object, digits: int = 2) -> str:
    """A number as people read it: 0.71, 4.10, 0.0032, 123,456; None as a dash."""
    if x is None:
        return DASH
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}" if abs(x) >= 10_000 else str(x)
    if isinstance(x, float):
        if math.isnan(x):
            return "NaN"
        if math.isinf(x):
            return "∞" if x > 0 else "−∞"
        if x == 0:
            return "0"
        ax = abs(x)
        if ax >= 10_000:
            return f"{x:,.0f}"
        if ax >= 100:
            return f"{x:.1f}"
        if ax >= 0.1:
            return f"{x:.{digits}f}"
        if ax >= 0.0001:
            return f"{x:.{digits}g}"
        return f"{x:.{max(digits - 1, 0)}e}"
    return str(x)


def fmt_threshold(threshold: object, with_metric: bool = False) -> str:
    """``{"metric": "share", "op": "<=", "value": 0.3}`` as "≤ 0.30" (or "share ≤ 0.30")."""
    if not threshold:
        return DASH
    if not isinstance(threshold, dict):
        return str(threshold)
    op = str(threshold.get("op", ""))
    value = threshold.get("value")
    metric = threshold.get("metric")
    if op in ("between", "in") and isinstance(value, (list, tuple)) and len(value) == 2:
        text = f"in [{fmt_num(value[0])}, {fmt_num(value[1])}]"
    elif op in ("outside", "not in") and isinstance(value, (list, tuple)) and len(value) == 2:
        text = f"outside [{fmt_num(value[0])}, {fmt_num(value[1])}]"
    else:
        text = f"{OPS.get(op, op)} {fmt_num(value)}".strip()
    if with_metric and metric:
        return f"{metric} {text}"
    return text


def fmt_duration(seconds: object) -> str:
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not math.isfinite(seconds):
        return DASH
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def fmt_datetime(value: object) -> str:
    """ISO 8601 timestamp as "2026-11-22 06:00:00 UTC"; unparsable values as they are."""
    if not value:
        return DASH
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc)
        return dt.strftime("%Y-%m-%d %H:%M:%S UTC")
    return dt.strftime("%Y-%m-%d %H:%M:%S")


def fmt_value(x: object) -> str:
    """Any JSON value, short: numbers formatted, lists joined, dicts as k=v."""
    if x is None or isinstance(x, (int, float)):
        return fmt_num(x)
    if isinstance(x, (list, tuple)):
        if len(x) <= 4 and all(isinstance(v, (int, float)) for v in x):
            return "×".join(fmt_num(v) for v in x) if all(isinstance(v, int) for v in x) \
                else "[" + ", ".join(fmt_num(v) for v in x) + "]"
        return ", ".join(fmt_value(v) for v in x) if x else DASH
    if isinstance(x, dict):
        return ", ".join(f"{k}={fmt_value(v)}" for k, v in x.items()) or DASH
    return str(x)


def fmt_shape(shape: object) -> str:
    if isinstance(shape, (list, tuple)) and shape:
        return " × ".join("?" if v is None else str(v) for v in shape)
    return DASH if shape in (None, "", []) else str(shape)


def finite_number(x: object) -> float | None:
    """A finite float, or None for booleans, non-numbers, NaN and infinities."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def fmt_p(p: object) -> str:
    """A p-value: 3.2e-06 below 0.001, else three significant digits (0.0496, 0.05, 0.34, 1)."""
    v = finite_number(p)
    if v is None:
        return DASH
    if v == 0:
        return "0"
    if v < 0.001:
        return f"{v:.1e}"
    return f"{v:.3g}"


def fmt_score(x: object, signed: bool = False) -> str:
    """A score, an accuracy or a difference of them: two decimals (+0.45 when ``signed``)."""
    v = finite_number(x)
    if v is None:
        return DASH
    if round(v, 2) == 0:
        return "±0.00" if signed else "0.00"
    return (f"{v:+.2f}" if signed else f"{v:.2f}").replace("-", "−")


def fmt_interval(ci: object, signed: bool = False) -> str:
    """``[lo, hi]`` as "[0.38, 0.52]"; a dash when missing."""
    if not isinstance(ci, (list, tuple)) or len(ci) != 2:
        return DASH
    lo, hi = fmt_score(ci[0], signed), fmt_score(ci[1], signed)
    if lo == DASH and hi == DASH:
        return DASH
    return f"[{lo}, {hi}]"
