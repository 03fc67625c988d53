"""`expect_stable` and the baseline block of an audit's record (compare, create, update)."""
from __future__ import annotations

import math
import warnings
from datetime import datetime, timezone
from typing import Any

from ...errors import ModelAuditError
from ...errors import BaselineError
from ...schema import json_number
from .drift import AuditBaseline, audit_metrics, check_keys, metric_drifts
from .store import (BASELINE_VERSION, MAX_LISTED, NOT_COMPARED, STABLE_KIND, UPDATE_HINT, BaselineWarning,
                    display_path, versions, write_baseline)

# ---------------------------------------------------------------------------------------- expect_stable

def _describe(result: Any) -> str:
    method = getattr(result, "method", None)
    target = getattr(result, "target_name", "?")
    if method is not None:
        return f"the {method} evidence for '{target}'"
    if hasattr(result, "fills"):
        return f"the region ablation for '{target}'"
    if hasattr(result, "concept"):
        return f"the TCAV of concept '{result.concept}' for '{target}'"
    return f"the evidence for '{target}'"


def _candidates(audit: Any, result: Any, state: AuditBaseline) -> dict[str, float | None]:
    """The metrics of the checks recorded so far on this evidence; else the evidence's own key metrics."""
    out: dict[str, float | None] = {}
    for key, c in zip(check_keys(audit.checks), audit.checks):
        if key is not None and getattr(c.evidence, "result", None) is result:
            out.update({f"{key}.{n}": json_number(v) for n, v in c.metrics.items()})
    if out:
        return out
    kind = "ablation" if hasattr(result, "fills") else "tcav" if hasattr(result, "concept") else None
    if kind is None:
        raise ModelAuditError(
            f"expect_stable on {_describe(result)} compares the metrics of the checks made on it: call "
            "expect_share(...) or expect_lift(...) first (a heatmap alone has no region-free number to compare).")
    return state.register(result, kind)


def _select(cands: dict[str, float | None], metrics: Any, what: str) -> dict[str, float | None]:
    if metrics is None:
        return {k: v for k, v in cands.items() if not NOT_COMPARED.match(k.split(".", 1)[1])}
    wanted = [metrics] if isinstance(metrics, str) else list(metrics)
    chosen: dict[str, float | None] = {}
    for name in wanted:
        hits = {k: v for k, v in cands.items() if k == name or k.split(".", 1)[1] == name}
        if not hits:
            raise ModelAuditError(f"expect_stable(metrics=...): {what} has no metric {name!r}; its metrics are "
                                  + ", ".join(repr(k) for k in cands))
        chosen.update(hits)
    return chosen


def _tolerance(atol: Any, rtol: Any) -> tuple[float, float]:
    for label, v in (("atol", atol), ("rtol", rtol)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ModelAuditError(f"expect_stable: {label} must be a finite number >= 0, got {v!r}.")
    if atol == 0 and rtol == 0:
        raise ModelAuditError("expect_stable: atol and rtol are both 0; give a tolerance (e.g. atol=0.05).")
    return float(atol), float(rtol)


def stable_check(audit: Any, result: Any, adapter: Any, *, atol: float = 0.05, rtol: float = 0.0,
                 metrics: Any = None) -> Any:
    """Compare this evidence's metrics with the test's baseline; FAIL on drift beyond atol + rtol * |baseline|."""
    from ...core.checks.verdicts import Check, Status, Threshold

    atol, rtol = _tolerance(atol, rtol)
    state = audit.baseline()
    if state is None:
        raise BaselineError("expect_stable needs a baseline folder: pass --model-audit-baseline-dir=DIR (or set "
                            f"ini model_audit_baseline_dir), then create the baselines with {UPDATE_HINT}.")
    what = _describe(result)
    now = _select(_candidates(audit, result, state), metrics, what)
    for k in now:
        state.tolerances[k] = (atol, rtol)
    tol = f"atol {atol:g}" + (f" + rtol {rtol:g} x |baseline|" if rtol else "")
    threshold = Threshold.of("max_abs_change" if not rtol else "change_over_tolerance", atol if not rtol else 1.0, None)
    claim = f"The metrics of {what} stay within {tol} of the baseline"
    shown = display_path(state.path)
    settings = audit.settings
    loaded = state.loaded()

    def record(status: Any, reason: str = "", measured: float | None = None, detail: str = "",
               raise_: bool = False) -> Any:
        """ERROR raises BaselineError; PASS / FAIL / a raising INCONCLUSIVE go through the audit's verdict;
        a soft INCONCLUSIVE (by policy) is recorded without failing the test."""
        check = Check(STABLE_KIND, claim, status, threshold, measured, {"metrics_compared": float(len(now))},
                      reason=reason if status is Status.INCONCLUSIVE else None, detail=detail, model=adapter)
        if status is Status.ERROR:
            audit.checks.append(check)
            raise BaselineError(reason)
        if status is not Status.INCONCLUSIVE or raise_:
            return audit.conclude(check)
        audit.checks.append(check)
        return check

    def missing(reason_fail: str, reason_soft: str) -> Any:
        if settings.update_baselines:
            return record(Status.INCONCLUSIVE, f"{reason_soft}; this run (--model-audit-update-baselines) writes "
                                               "it, stability is checked from the next run")
        if settings.missing_baseline == "fail":
            return record(Status.ERROR, reason_fail)
        if settings.missing_baseline == "create" and loaded.status == "missing":
            return record(Status.INCONCLUSIVE, f"{reason_soft}; created by this run (missing-baseline policy "
                                               "'create'), stability is checked from the next run")
        message = (f"{reason_soft} (missing-baseline policy '{settings.missing_baseline}'); "
                   f"run {UPDATE_HINT} to record it")
        warnings.warn(BaselineWarning(f"{audit.nodeid}: {message}"), stacklevel=4)
        return record(Status.INCONCLUSIVE, message)

    if loaded.status == "invalid":
        if settings.update_baselines:
            return record(Status.INCONCLUSIVE, f"{loaded.error.split(';')[0]}; this run "
                                               "(--model-audit-update-baselines) rewrites it")
        return record(Status.ERROR, str(loaded.error))
    if loaded.status == "missing":
        return missing(f"no baseline at {shown}; run {UPDATE_HINT} to create it (or set "
                       "--model-audit-missing-baseline=warn|create)", f"no baseline at {shown}")
    base = loaded.data["metrics"] if loaded.data else {}
    drifts = [d for d in metric_drifts(now, base, state.tolerances) if d.name in now]
    beyond = [d for d in drifts if d.beyond]
    compared = [d for d in drifts if d.comparable]
    measured = max((abs(d.delta or 0.0) if not rtol else d.ratio() for d in compared), default=None)
    notes = _notes(loaded.data or {}, audit)
    if beyond:
        listed = "; ".join(d.words() for d in beyond[:MAX_LISTED])
        more = f"; and {len(beyond) - MAX_LISTED} more (see the report)" if len(beyond) > MAX_LISTED else ""
        detail = f"{len(beyond)} of {len(drifts)} metric(s) beyond tolerance: {listed}{more}; baseline {shown}"
        if settings.update_baselines:
            detail += "; this run rewrites the baseline with the new values: re-run to check against them"
        return record(Status.FAIL, measured=measured, detail="; ".join([detail, *notes]))
    absent = [d for d in drifts if not d.in_baseline or (d.baseline is None and d.now is not None)]
    if absent:
        names = ", ".join(d.name for d in absent)
        return missing(f"baseline {shown} has no value for {names}; run {UPDATE_HINT} to record it",
                       f"baseline {shown} has no value for {names}")
    undefined = [d for d in drifts if d.now is None and d.baseline is not None]
    if undefined or not any(d.delta is not None for d in compared):  # undefined == undefined proves nothing
        why = ("undefined now: " + ", ".join(d.name for d in undefined) if undefined else
               "no metric has a value to compare with the baseline")
        return record(Status.INCONCLUSIVE, why, raise_=True)
    worst = max(compared, key=lambda d: d.ratio())
    detail = f"{len(compared)} metric(s) compared with {shown}; largest change {worst.words()}"
    return record(Status.PASS, measured=measured, detail="; ".join([detail, *notes]))


def _notes(data: dict[str, Any], audit: Any) -> list[str]:
    """What differs between the baseline's run and now (the comparison is made anyway)."""
    notes = []
    then = sorted(_d(data.get("models")))
    now = sorted(getattr(audit, "models", {}))
    if then and now and then != now:
        notes.append(f"the model changed since the baseline (fingerprint {', '.join(then)} -> {', '.join(now)}); "
                     "compared anyway")
    written = _d(data.get("written_by"))
    current = versions()
    for k in ("pytest_modelaudit", "tensorflow", "keras"):
        if written.get(k) and current.get(k) and written[k] != current[k]:
            notes.append(f"baseline written with {k} {written[k]} (now {current[k]}); compared anyway")
    return notes


def _d(x: Any) -> dict:
    return x if isinstance(x, dict) else {}


# ------------------------------------------------------------------------------- record block + writes

def baseline_block(audit: Any, status: str) -> dict[str, Any] | None:
    """The audit's "baseline" record (see docs/results-schema.md); writes the file when update/create says so."""
    state = audit.baseline()
    if state is None:
        return None
    settings = audit.settings
    loaded = state.loaded()
    data = loaded.data or {}
    now = audit_metrics(audit)
    drifts = metric_drifts(now, data.get("metrics", {}) if loaded.status == "found" else {}, state.tolerances)
    models = {fp: getattr(a, "name", fp) for fp, a in sorted(audit.models.items())}
    block: dict[str, Any] = {
        "path": display_path(state.path),
        "status": {"found": "compared"}.get(loaded.status, loaded.status),
        "fingerprint": {"baseline": sorted(_d(data.get("models"))) if loaded.status == "found" else None,
                        "now": sorted(models)},
        "written_at": data.get("written_at"),
        "versions": {"baseline": _d(data.get("written_by")) or None, "now": versions()},
        "notes": _notes(data, audit) if loaded.status == "found" else [],
        "error": loaded.error,
        "metrics": {d.name: d.to_json() for d in drifts},
    }
    update = settings.update_baselines
    create = loaded.status == "missing" and settings.missing_baseline == "create"
    if not (update or create):
        return block
    if status == "ERROR":
        block["notes"].append("not written: the audit ended in ERROR, so its numbers are not the model's")
        return block
    if not any(v is not None for v in now.values()):
        block["notes"].append("not written: the audit recorded no number")
        return block
    payload = {
        "baseline_version": BASELINE_VERSION,
        "nodeid": audit.nodeid,
        "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "written_by": versions(),
        "audit_status": status,
        "models": models,
        "metrics": now,
    }
    if loaded.status == "found" and all(payload[k] == data.get(k) for k in ("written_by", "models", "metrics")):
        block["notes"].append("unchanged: the file was left as it was")
        return block
    try:
        write_baseline(state.path, payload)
    except OSError as exc:
        block["error"] = f"could not write baseline {block['path']}: {exc}"
        return block
    block["status"] = "created" if loaded.status == "missing" else "updated"
    return block
