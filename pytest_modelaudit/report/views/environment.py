"""View of the run settings and environment (environment.html.j2)."""
from __future__ import annotations

import shlex
from typing import Any

from ..formatting import DASH, fmt_datetime, fmt_duration, fmt_value
from .common import as_dict, text


def run_rows(results: dict) -> list[tuple[str, str]]:
    run = as_dict(results.get("run"))
    args = run.get("pytest_args")
    if isinstance(args, list):
        args_text = shlex.join(text(a) for a in args) or DASH
    else:
        args_text = text(args, DASH)
    policy = text(run.get("inconclusive"), "fail")
    return [
        ("Root seed", fmt_value(run.get("seed")) if "seed" not in run or run.get("seed") is not None
         or not run.get("merged_from") else "differs between the merged runs (below)"),
        ("Started", fmt_datetime(run.get("started_at"))),
        ("Finished", fmt_datetime(run.get("finished_at"))),
        ("Run time", fmt_duration(run.get("duration_s"))),
        ("Inconclusive policy", f"{policy} (an inconclusive audit never counts as a pass)"),
        ("pytest arguments", args_text),
        ("Report folder", text(run.get("report_dir"), DASH)),
        ("Results schema", f"version {fmt_value(results.get('schema_version'))}"),
        ("Evidence cache", _cache_text(run.get("cache"))),
        *_merged_rows(run.get("merged_from")),
    ]


def _merged_rows(merged: Any) -> list[tuple[str, str]]:
    """One row per run of a merged report: its file, audits, seed, start and platform."""
    rows = []
    for i, m in enumerate(merged if isinstance(merged, list) else [], 1):
        m = as_dict(m)
        run, env = as_dict(m.get("run")), as_dict(m.get("environment"))
        where = ", ".join(f"{k} {text(env.get(k))}" for k in ("platform", "python", "tensorflow") if env.get(k))
        rows.append((f"Merged run {i}", f"{text(m.get('source'), DASH)}: {fmt_value(m.get('audits'))} audits, seed "
                                        f"{fmt_value(run.get('seed'))}, started {fmt_datetime(run.get('started_at'))}"
                                        + (f"; {where}" if where else "")))
    return rows


def _cache_text(cache: Any) -> str:
    """run.cache in words: where, and how many results came from it."""
    c = as_dict(cache)
    if not c:
        return DASH
    if not c.get("dir"):
        return f"off ({text(c.get('note'), DASH)})"
    counts = {k: fmt_value(c.get(k)) for k in ("hits", "disk_hits", "misses", "discarded")}
    return (f"{text(c.get('dir'))}: {counts['hits']} result(s) reused ({counts['disk_hits']} from disk), "
            f"{counts['misses']} computed, {counts['discarded']} corrupt entr(ies) discarded")


def environment_view(results: dict) -> dict:
    """The section's two tables: run settings and the recorded environment."""
    env = as_dict(results.get("environment"))
    return {
        "environment": [(str(k), fmt_value(v)) for k, v in env.items()],
        "run_rows": run_rows(results),
    }
