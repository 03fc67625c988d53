"""Merge the results.json of several runs (sharded CI jobs, one job per model) into one results dict:
one report, one comparison matrix, each run's seed and environment kept. Stdlib only."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from ..schema import STATUSES, normalise_status


class MergeError(ValueError):
    """Runs that cannot be merged: unreadable, of other schema versions, or holding the same audit twice."""


def audit_models(audit: dict[str, Any]) -> tuple[str, ...]:
    """The fingerprints of the models an audit used (its record's, else its checks')."""
    models = audit.get("models")
    if isinstance(models, list) and models:
        return tuple(sorted(str(m) for m in models))
    return tuple(sorted({str(c.get("model")) for c in audit.get("checks") or [] if isinstance(c, dict)
                         and c.get("model")}))


def load_run(path: str | Path) -> dict[str, Any]:
    """One run's results.json; a clear error naming the file when it is not one."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MergeError(f"cannot read {p}: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise MergeError(f"{p} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("audits"), list):
        raise MergeError(f"{p} is not a model-audit results file (no 'audits' list)")
    return data


def merge_results(runs: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """One results dict from (name, results) pairs, in the given order.

    Refuses runs of different schema versions, and names every audit that two runs hold (same node id and
    model fingerprints) instead of silently picking one.
    """
    if len(runs) < 2:
        raise MergeError("give at least two results.json files to merge")
    versions = {name: r.get("schema_version") for name, r in runs}
    if len(set(map(repr, versions.values()))) > 1:
        listed = ", ".join(f"{name}: {v!r}" for name, v in versions.items())
        raise MergeError(f"the runs have different results schema versions ({listed}); re-run them with one "
                         "version of pytest-modelaudit")
    seen: dict[tuple[str, tuple[str, ...]], str] = {}
    duplicates = []
    for name, r in runs:
        for a in r["audits"]:
            key = (str(a.get("nodeid")), audit_models(a))
            if key in seen:
                duplicates.append(f"{key[0]} (model {', '.join(key[1]) or 'none recorded'}) in {seen[key]} and {name}")
            else:
                seen[key] = name
    if duplicates:
        raise MergeError("the same audit is in more than one run, so the merge would have to pick one: "
                         + "; ".join(duplicates) + ". Merge runs of disjoint shards or models.")
    audits = [a for _, r in runs for a in r["audits"]]
    counts = Counter(normalise_status(a.get("status")) for a in audits)
    models: dict[str, Any] = {}
    for _, r in runs:
        for k, m in (r.get("models") or {}).items():
            models.setdefault(k, m)
    first = runs[0][1]
    started = [r.get("run", {}).get("started_at") for _, r in runs if r.get("run", {}).get("started_at")]
    finished = [r.get("run", {}).get("finished_at") for _, r in runs if r.get("run", {}).get("finished_at")]
    seeds = {r.get("run", {}).get("seed") for _, r in runs}
    return {
        "schema_version": first.get("schema_version"),
        "tool": first.get("tool"),
        "run": {
            **(first.get("run") or {}),
            "started_at": min(started) if started else None,
            "finished_at": max(finished) if finished else None,
            "duration_s": round(sum(float(r.get("run", {}).get("duration_s") or 0) for _, r in runs), 2),
            "seed": seeds.pop() if len(seeds) == 1 else None,
            "merged_from": [{"source": name, "run": r.get("run"), "environment": r.get("environment"),
                             "audits": len(r["audits"])} for name, r in runs],
        },
        "summary": {"total": len(audits), **{s: counts.get(s, 0) for s in STATUSES}},
        "models": dict(sorted(models.items())),
        "environment": first.get("environment"),
        "audits": audits,
    }
