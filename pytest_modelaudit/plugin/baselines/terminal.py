"""The baseline lines of the terminal summary."""
from __future__ import annotations

from collections import Counter
from typing import Any

from .prune import PruneResult
from .store import MAX_SUMMARY_PATHS, STABLE_KIND, UPDATE_HINT

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
