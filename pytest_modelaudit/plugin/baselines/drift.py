"""The metrics a baseline holds and their drift against the metrics of this run."""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...schema import json_number
from .store import STABLE_KIND, Loaded, baseline_path, load_baseline

# --------------------------------------------------------------------------------------------- metrics

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

    from ...core.ablation import AblationResult
    from ...core.tcav.scores import TCAVResult

    out: dict[str, float | None] = {}
    if isinstance(result, AblationResult):
        valid = result.valid
        if valid.any():
            out["base_prob"] = json_number(result.base_prob[valid].mean())
            for j, f in enumerate(result.fills):
                out[f"prob_drop[{f.name}]"] = json_number(result.prob_drop[j][valid].mean())
                out[f"logit_drop[{f.name}]"] = json_number(result.logit_drop[j][valid].mean())
                out[f"region_only_prob[{f.name}]"] = json_number(result.region_only_prob[j][valid].mean())
    elif isinstance(result, TCAVResult):
        for layer in result.layers:
            out[f"tcav[{layer.layer}]"] = json_number(np.mean(layer.concept_scores))
            out[f"random[{layer.layer}]"] = json_number(np.mean(layer.random_scores))
            out[f"cav_acc[{layer.layer}]"] = json_number(np.mean(layer.concept_accuracies))
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
                out[f"{key}.{name}"] = json_number(v)
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


def metric_drifts(now: dict[str, float | None], base: dict[str, Any],
            tolerances: dict[str, tuple[float, float]]) -> list[Drift]:
    """Each metric now, then those only the baseline has, against the tolerance expect_stable asked for."""
    out = []
    for name in list(now) + [k for k in base if k not in now]:
        atol, rtol = tolerances.get(name, (None, None))
        out.append(Drift(name, json_number(base.get(name)), now.get(name), name in base, atol, rtol))
    return out
