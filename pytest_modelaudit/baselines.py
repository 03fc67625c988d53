"""Per-test metric baselines: file per test, atomic writes, drift against them, `expect_stable`, pruning.

One JSON file per test node (so xdist workers never write the same file), written by the process that
ran the test with write-then-rename. Pruning runs once, on the controller, and only deletes files of
tests that were in this session's collection scope and no longer exist.
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
import tempfile
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from .core.errors import ModelAuditError

BASELINE_VERSION = 1
STABLE_KIND = "stable"
UPDATE_HINT = "pytest --model-audit --model-audit-update-baselines"
FIX_HINT = f"delete it or re-run with {UPDATE_HINT} to regenerate it"
# Compared by default by expect_stable: everything but counts and p-values (shown, not compared).
_NOT_COMPARED = re.compile(r"^(images|excluded_images|p_.*)$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.,=+@\[\]-]")
MAX_NAME = 100
MAX_SUMMARY_PATHS = 10
MAX_LISTED = 6  # drifted metrics named in a failure message


class BaselineError(ModelAuditError):
    """A baseline that expect_stable needs is missing or unreadable (the message says how to fix it)."""


class BaselineWarning(pytest.PytestWarning):
    """A baseline problem that, by the configured policy, does not fail the test."""


# ----------------------------------------------------------------------------------------------- files

def _safe(part: str) -> str:
    cleaned = _UNSAFE.sub("_", part)
    if not cleaned.strip("."):
        cleaned = cleaned.replace(".", "_") or "_"
    if cleaned != part or len(cleaned) > MAX_NAME:
        cleaned = f"{cleaned[:MAX_NAME]}-{hashlib.sha1(part.encode()).hexdigest()[:8]}"
    return cleaned


def baseline_path(root: Path, nodeid: str) -> Path:
    """`<root>/<test file path without .py>/<test name[params]>.json`; unsafe characters replaced, plus a
    short hash of the original whenever anything was replaced or shortened, so paths stay unique."""
    file, _, rest = nodeid.partition("::")
    parts = [p for p in file.split("/") if p] or ["_"]
    if parts[-1].endswith(".py"):
        parts[-1] = parts[-1][:-3]
    name = rest.replace("::", ".") or "_module"
    return Path(root).joinpath(*[_safe(p) for p in parts], _safe(name) + ".json")


@dataclass
class Loaded:
    """A baseline file as read: status found | missing | invalid, its data, or what is wrong with it."""

    path: Path
    status: str
    data: dict[str, Any] | None = None
    error: str | None = None


def _problem(data: Any, nodeid: str | None) -> str | None:
    """What makes `data` not a baseline of `nodeid`, or None."""
    if not isinstance(data, dict):
        return "does not hold a JSON object"
    version = data.get("baseline_version")
    if isinstance(version, bool) or not isinstance(version, int):
        return "has no integer 'baseline_version'"
    if version > BASELINE_VERSION:
        return (f"was written by a newer pytest-modelaudit (baseline_version {version}; this one reads "
                f"{BASELINE_VERSION})")
    if not isinstance(data.get("nodeid"), str):
        return "has no 'nodeid'"
    if nodeid is not None and data["nodeid"] != nodeid:
        return f"belongs to test {data['nodeid']!r}, not {nodeid!r}"
    metrics = data.get("metrics")
    if not isinstance(metrics, dict) or not all(
            isinstance(k, str) and (v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)))
            for k, v in metrics.items()):
        return "has no 'metrics' object mapping names to numbers"
    if not isinstance(data.get("models", {}), dict):
        return "has a 'models' field that is not an object"
    return None


def load_baseline(path: Path, nodeid: str | None) -> Loaded:
    """Read and validate one baseline file; never raises (problems come back as status 'invalid')."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return Loaded(path, "missing")
    except (OSError, UnicodeDecodeError) as exc:
        return Loaded(path, "invalid", error=f"baseline file {path} cannot be read ({exc}); {FIX_HINT}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return Loaded(path, "invalid", error=(f"baseline file {path} is not valid JSON ({exc.msg} at line "
                                              f"{exc.lineno} column {exc.colno}); {FIX_HINT}"))
    problem = _problem(data, nodeid)
    if problem:
        return Loaded(path, "invalid", error=f"baseline file {path} {problem}; {FIX_HINT}")
    return Loaded(path, "found", data)


def write_baseline(path: Path, payload: dict[str, Any]) -> None:
    """Write atomically: a temporary file in the same folder, then os.replace (readers never see half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(payload, indent=2, allow_nan=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _versions() -> dict[str, str | None]:
    """The versions a baseline records (read from package metadata once per process)."""
    return dict(_versions_cached())


@functools.lru_cache(maxsize=1)
def _versions_cached() -> tuple[tuple[str, str | None], ...]:
    from .environment import environment

    env = environment()
    return tuple((k, env.get(k)) for k in ("pytest_modelaudit", "tensorflow", "keras", "numpy", "python"))


# --------------------------------------------------------------------------------------------- metrics

def _finite(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def check_keys(checks: list[Any]) -> list[str | None]:
    """A stable key per check: its kind, `kind#2` for the second check of that kind (None for stable checks)."""
    seen: Counter[str] = Counter()
    keys: list[str | None] = []
    for c in checks:
        if c.kind == STABLE_KIND:
            keys.append(None)
            continue
        seen[c.kind] += 1
        keys.append(c.kind if seen[c.kind] == 1 else f"{c.kind}#{seen[c.kind]}")
    return keys


def evidence_metrics(result: Any) -> dict[str, float | None]:
    """Key numbers of an evidence result with no check on it: per-fill means (ablation), per-layer TCAV."""
    import numpy as np

    from .core.ablation import AblationResult
    from .core.tcav import TCAVResult

    out: dict[str, float | None] = {}
    if isinstance(result, AblationResult):
        valid = result.valid
        if valid.any():
            out["base_prob"] = _finite(result.base_prob[valid].mean())
            for j, f in enumerate(result.fills):
                out[f"prob_drop[{f.name}]"] = _finite(result.prob_drop[j][valid].mean())
                out[f"logit_drop[{f.name}]"] = _finite(result.logit_drop[j][valid].mean())
                out[f"region_only_prob[{f.name}]"] = _finite(result.region_only_prob[j][valid].mean())
    elif isinstance(result, TCAVResult):
        for layer in result.layers:
            out[f"tcav[{layer.layer}]"] = _finite(np.mean(layer.concept_scores))
            out[f"random[{layer.layer}]"] = _finite(np.mean(layer.random_scores))
            out[f"cav_acc[{layer.layer}]"] = _finite(np.mean(layer.concept_accuracies))
    return out


@dataclass
class AuditBaseline:
    """One test's baseline: its file (read once), metrics registered by expect_stable, tolerances asked for."""

    root: Path
    nodeid: str
    extra: dict[str, float | None] = field(default_factory=dict)
    tolerances: dict[str, tuple[float, float]] = field(default_factory=dict)
    _loaded: Loaded | None = None
    _evidence_keys: dict[int, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return baseline_path(self.root, self.nodeid)

    def loaded(self) -> Loaded:
        if self._loaded is None:
            self._loaded = load_baseline(self.path, self.nodeid)
        return self._loaded

    def register(self, result: Any, kind: str) -> dict[str, float | None]:
        """Record an evidence's own key metrics (once per evidence) under `kind` / `kind#n`; return them keyed."""
        key = self._evidence_keys.get(id(result))
        if key is None:
            n = sum(1 for k in self._evidence_keys.values() if k.split("#")[0] == kind) + 1
            key = self._evidence_keys[id(result)] = kind if n == 1 else f"{kind}#{n}"
            for name, v in evidence_metrics(result).items():
                self.extra[f"{key}.{name}"] = v
        return {k: v for k, v in self.extra.items() if k.split(".", 1)[0] == key}


def audit_metrics(audit: Any) -> dict[str, float | None]:
    """Every metric of the audit's checks as `<check key>.<metric>`, plus registered evidence metrics."""
    out: dict[str, float | None] = {}
    for key, c in zip(check_keys(audit.checks), audit.checks):
        if key is not None:
            for name, v in c.metrics.items():
                out[f"{key}.{name}"] = _finite(v)
    state = audit.baseline()
    if state is not None:
        out.update(state.extra)
    return out


@dataclass
class Drift:
    """One metric against the baseline; beyond is None when it cannot be compared."""

    name: str
    baseline: float | None
    now: float | None
    in_baseline: bool
    atol: float | None = None
    rtol: float | None = None

    @property
    def delta(self) -> float | None:
        return None if self.baseline is None or self.now is None else self.now - self.baseline

    @property
    def comparable(self) -> bool:
        return self.in_baseline and (self.baseline is not None) == (self.now is not None)

    @property
    def beyond(self) -> bool | None:
        if self.atol is None or not self.comparable:
            return None
        if self.delta is None:  # undefined then and now: no change
            return False
        return abs(self.delta) > self.atol + (self.rtol or 0.0) * abs(self.baseline) + 1e-12

    def ratio(self) -> float:
        """|change| over the allowed change (1 = at tolerance)."""
        allowed = (self.atol or 0.0) + (self.rtol or 0.0) * abs(self.baseline or 0.0)
        d = abs(self.delta or 0.0)
        return d / allowed if allowed > 0 else (math.inf if d > 0 else 0.0)

    def words(self) -> str:
        def f(v: float | None) -> str:
            return "undefined" if v is None else f"{v:.4g}"

        if not self.in_baseline:
            return f"{self.name}: not in the baseline (now {f(self.now)})"
        text = f"{self.name}: {f(self.baseline)} -> {f(self.now)}"
        return text + (f" (change {self.delta:+.4g})" if self.delta is not None else "")

    def to_json(self) -> dict[str, Any]:
        return {"baseline": self.baseline, "now": self.now, "delta": self.delta, "atol": self.atol,
                "rtol": self.rtol, "beyond": self.beyond, "in_baseline": self.in_baseline}


def _drifts(now: dict[str, float | None], base: dict[str, Any],
            tolerances: dict[str, tuple[float, float]]) -> list[Drift]:
    """Each metric now, then those only the baseline has, against the tolerance expect_stable asked for."""
    out = []
    for name in list(now) + [k for k in base if k not in now]:
        atol, rtol = tolerances.get(name, (None, None))
        out.append(Drift(name, _finite(base.get(name)), now.get(name), name in base, atol, rtol))
    return out


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
            out.update({f"{key}.{n}": _finite(v) for n, v in c.metrics.items()})
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
        return {k: v for k, v in cands.items() if not _NOT_COMPARED.match(k.split(".", 1)[1])}
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
    from .core.verdicts import Check, Status, Threshold

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
    shown = _display(state.path)
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
    drifts = [d for d in _drifts(now, base, state.tolerances) if d.name in now]
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
    current = _versions()
    for k in ("pytest_modelaudit", "tensorflow", "keras"):
        if written.get(k) and current.get(k) and written[k] != current[k]:
            notes.append(f"baseline written with {k} {written[k]} (now {current[k]}); compared anyway")
    return notes


def _d(x: Any) -> dict:
    return x if isinstance(x, dict) else {}


def _display(path: Path) -> str:
    """A path relative to the working folder when it is inside it (shorter messages), else absolute."""
    try:
        return Path(path).relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


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
    drifts = _drifts(now, data.get("metrics", {}) if loaded.status == "found" else {}, state.tolerances)
    models = {fp: getattr(a, "name", fp) for fp, a in sorted(audit.models.items())}
    block: dict[str, Any] = {
        "path": _display(state.path),
        "status": {"found": "compared"}.get(loaded.status, loaded.status),
        "fingerprint": {"baseline": sorted(_d(data.get("models"))) if loaded.status == "found" else None,
                        "now": sorted(models)},
        "written_at": data.get("written_at"),
        "versions": {"baseline": _d(data.get("written_by")) or None, "now": _versions()},
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
        "written_by": _versions(),
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


# --------------------------------------------------------------------------------------------- pruning

@dataclass
class PruneResult:
    deleted: list[str] = field(default_factory=list)
    skipped: str | None = None  # why nothing was pruned
    unreadable: list[str] = field(default_factory=list)


def _scopes(config: pytest.Config) -> list[tuple[str, str | None]] | None:
    """(rootdir-relative path, node part or None) per collection argument; None when it cannot be told."""
    if config.getoption("pyargs", False):
        return None
    root = Path(config.rootpath)
    out = []
    for arg in config.args:
        path, sep, node = str(arg).partition("::")
        full = (Path(config.invocation_params.dir) / path).resolve()
        rel = Path(os.path.relpath(full, root)).as_posix()
        out.append((rel, node if sep else None))
    return out


def _in_scope(nodeid: str, scopes: list[tuple[str, str | None]]) -> bool:
    file = nodeid.split("::", 1)[0]
    for rel, node in scopes:
        if node is not None:
            prefix = f"{rel}::{node}"
            if nodeid == prefix or nodeid.startswith((prefix + "[", prefix + "::")):
                return True
        elif rel == "." or file == rel or file.startswith(rel.rstrip("/") + "/"):
            return True
    return False


def find_orphans(root: Path, rootpath: Path, scopes: list[tuple[str, str | None]],
                 collected: set[str]) -> tuple[list[Path], list[Path]]:
    """Baseline files of tests in scope that no longer exist: their module is gone from disk, or it was
    collected and the test is not among its items. Returns (orphans, unreadable files left alone)."""
    modules = {n.split("::", 1)[0] for n in collected}
    orphans, unreadable = [], []
    for path in sorted(Path(root).rglob("*.json")):
        loaded = load_baseline(path, None)
        if loaded.status != "found":
            unreadable.append(path)
            continue
        nodeid = loaded.data["nodeid"]
        if nodeid in collected or baseline_path(root, nodeid) != path or not _in_scope(nodeid, scopes):
            continue
        module = nodeid.split("::", 1)[0]
        if module in modules or not (Path(rootpath) / module).exists():
            orphans.append(path)
    return orphans, unreadable


class PruneTracker:
    """Knows what this session collected (items plus deselected ones) and prunes once, on the controller."""

    def __init__(self, config: pytest.Config, root: Path):
        self.config, self.root = config, Path(root)
        self.collected: set[str] = set()
        self.errors: list[str] = []
        self.workers: list[dict[str, Any]] = []
        self.worker_problem: str | None = None
        self.result: PruneResult | None = None

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.collected.update(i.nodeid for i in items)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.errors.append(report.nodeid or "(session)")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.collected.update(i.nodeid for i in session.items)
        workeroutput = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput["model_audit_collected"] = {"nodeids": sorted(self.collected), "errors": self.errors}

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        out = getattr(node, "workeroutput", {}).get("model_audit_collected")
        if error or out is None:
            self.worker_problem = f"worker {getattr(node, 'gateway', node)!s} did not report what it collected"
            return
        self.workers.append(out)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if hasattr(self.config, "workerinput"):
            return
        self.result = self.prune(exitstatus)

    def prune(self, exitstatus: int) -> PruneResult:
        for w in self.workers:
            self.collected.update(w.get("nodeids", []))
            self.errors.extend(w.get("errors", []))
        xdist = self.config.pluginmanager.getplugin("dsession") is not None
        why = None
        if self.errors:
            why = "collection errors in " + ", ".join(sorted(set(self.errors)))
        elif exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
            why = "the session did not finish collecting"
        elif self.worker_problem or (xdist and not self.workers):
            why = self.worker_problem or "no xdist worker reported what it collected"
        scopes = _scopes(self.config)
        if why is None and scopes is None:
            why = "--pyargs collection arguments cannot be mapped to baseline files"
        if why is not None:
            return PruneResult(skipped=f"nothing pruned: {why}")
        if not self.root.is_dir():
            return PruneResult()
        orphans, unreadable = find_orphans(self.root, self.config.rootpath, scopes, self.collected)
        result = PruneResult(unreadable=[_display(p) for p in unreadable])
        for path in orphans:
            path.unlink()
            result.deleted.append(_display(path))
            parent = path.parent
            while parent != self.root and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
        return result


# --------------------------------------------------------------------------------------------- summary

def summary_lines(audits: list[dict[str, Any]], prune: PruneResult | None) -> list[tuple[str, dict[str, bool]]]:
    """Terminal lines: counts per baseline status, drifted audits, invalid files, what was pruned."""
    blocks = [(a, a["baseline"]) for a in audits if isinstance(a.get("baseline"), dict)]
    lines: list[tuple[str, dict[str, bool]]] = []
    if blocks:
        counts = Counter(b["status"] for _, b in blocks)
        drifted = [a["nodeid"] for a, b in blocks if any(m.get("beyond") for m in b["metrics"].values())]
        parts = [f"{counts[s]} {s}" for s in ("compared", "created", "updated", "missing", "invalid") if counts[s]]
        text = "baselines: " + ", ".join(parts)
        lines.append((text + (f"; {len(drifted)} beyond tolerance" if drifted else ""), {"red": bool(drifted)}))
        for nodeid in drifted[:MAX_SUMMARY_PATHS]:
            lines.append((f"  drifted: {nodeid}", {"red": True}))
        for _, b in blocks:
            if b.get("error"):
                lines.append((f"  {b['error']}", {"red": True}))
        if counts["missing"]:
            lines.append((f"  {counts['missing']} audit(s) have no baseline; run {UPDATE_HINT} to create them",
                          {"yellow": True}))
        written_failing = [a["nodeid"] for a, b in blocks if b["status"] in ("created", "updated") and (
            a.get("status") == "ERROR" or any(c.get("kind") != STABLE_KIND and c.get("status") != "PASS"
                                              for c in a.get("checks", [])))]
        if written_failing:
            lines.append((f"  written from audits that did not pass: {', '.join(written_failing[:MAX_SUMMARY_PATHS])}",
                          {"yellow": True}))
    if prune is not None:
        if prune.skipped:
            lines.append((f"baseline prune: {prune.skipped}", {"yellow": True}))
        else:
            lines.append((f"baseline prune: deleted {len(prune.deleted)} orphaned baseline(s)", {}))
            lines.extend((f"  deleted {p}", {}) for p in prune.deleted)
            if prune.unreadable:
                lines.append((f"  left alone (unreadable): {', '.join(prune.unreadable[:MAX_SUMMARY_PATHS])}",
                              {"yellow": True}))
    return lines
