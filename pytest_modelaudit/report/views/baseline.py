"""View of an audit's baseline block (baseline.html.j2): status, file, model fingerprints then and now,
and one drift row per metric."""
from __future__ import annotations

from typing import Any

from ..formatting import DASH, finite_number, fmt_datetime, fmt_num
from .common import as_dict, as_list, text

BASELINE_STATUS = {
    "compared": "Compared with the stored baseline",
    "created": "No baseline existed; this run created it (nothing to compare yet)",
    "updated": "Baseline rewritten by this run (--model-audit-update-baselines); changes are against the old one",
    "missing": "No baseline for this test; run pytest --model-audit --model-audit-update-baselines to create it",
    "invalid": "The baseline file is unreadable; delete it or re-run with --model-audit-update-baselines",
}
MAX_DRIFT_ROWS = 60


def baseline_view(raw: Any) -> dict | None:
    """The audit's baseline block: status, file, fingerprints then and now, and per-metric drift rows."""
    b = as_dict(raw)
    if not b:
        return None
    try:
        status = text(b.get("status"), "unknown")
        fp = as_dict(b.get("fingerprint"))
        then = ", ".join(text(x) for x in as_list(fp.get("baseline"))) or DASH
        now = ", ".join(text(x) for x in as_list(fp.get("now"))) or DASH
        versions = as_dict(as_dict(b.get("versions")).get("baseline"))
        rows = []
        for name, m in as_dict(b.get("metrics")).items():
            m = as_dict(m)
            atol, rtol = finite_number(m.get("atol")), finite_number(m.get("rtol"))
            tol = DASH if atol is None else f"±{fmt_num(atol)}" + (f" + {fmt_num(rtol)}×|baseline|" if rtol else "")
            delta = finite_number(m.get("delta"))
            rows.append({
                "name": text(name),
                "baseline": fmt_num(m.get("baseline"), 3) if m.get("in_baseline", True) else "not in baseline",
                "now": fmt_num(m.get("now"), 3),
                "delta": DASH if delta is None else ("+" if delta > 0 else "") + fmt_num(delta, 3),
                "tolerance": tol,
                "beyond": m.get("beyond") is True,
                "within": m.get("beyond") is False,
            })
        return {
            "status": status,
            "status_text": BASELINE_STATUS.get(status, status),
            "path": text(b.get("path"), DASH),
            "fp_then": then,
            "fp_now": now,
            "fp_changed": then != DASH and then != now,
            "written": fmt_datetime(b.get("written_at")) if b.get("written_at") else DASH,
            "written_by": ", ".join(f"{k} {v}" for k, v in versions.items() if v),
            "notes": [text(n) for n in as_list(b.get("notes")) if n],
            "error": text(b.get("error")),
            "rows": rows[:MAX_DRIFT_ROWS],
            "rows_left_out": max(0, len(rows) - MAX_DRIFT_ROWS),
            "n_beyond": sum(r["beyond"] for r in rows),
        }
    except Exception as exc:  # a malformed block is a note, never a broken card
        return {"status": "unknown", "status_text": "", "path": DASH, "fp_then": DASH, "fp_now": DASH,
                "fp_changed": False, "written": DASH, "written_by": "", "notes": [], "rows": [],
                "rows_left_out": 0, "n_beyond": 0,
                "error": f"the baseline block could not be shown: {type(exc).__name__}: {exc}"}
