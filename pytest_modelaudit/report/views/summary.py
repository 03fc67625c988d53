"""View of the page header and the summary section (report.html.j2, summary.html.j2): tool, date, seed,
run time, the counts per status and the verdict in words."""
from __future__ import annotations

from ...schema import STATUSES
from ..formatting import DASH, fmt_datetime, fmt_duration, fmt_value
from .common import as_dict, text


def _verdict(counts: dict[str, int], total: int, interrupted: bool) -> tuple[str, str]:
    not_passed = total - counts["PASS"]
    if total == 0:
        verdict = ("none", "No audits were recorded in this run.")
    elif not_passed == 0:
        verdict = ("pass", f"All {total} audit{'s' if total != 1 else ''} passed.")
    else:
        parts = [f"{counts[s]} {s.lower()}" for s in ("FAIL", "INCONCLUSIVE", "ERROR") if counts[s]]
        verdict = ("fail", f"{not_passed} of {total} audit{'s' if total != 1 else ''} did not pass "
                           f"({', '.join(parts)}).")
    if interrupted:  # never let a partial run read as a clean pass
        verdict = ("fail", "Interrupted run: it was stopped before every audit finished, so this report covers only "
                           f"the audits recorded until then and is not a verdict on the suite. {verdict[1]}")
    return verdict


def summary_view(results: dict, audits: list[dict]) -> dict:
    """Header and summary fields; ``audits`` are the card views (their statuses are counted)."""
    run = as_dict(results.get("run"))
    tool = as_dict(results.get("tool"))
    counts = {s: 0 for s in STATUSES}
    for a in audits:
        counts[a["status"]] += 1
    return {
        "tool_name": text(tool.get("name"), "pytest-modelaudit"),
        "tool_version": text(tool.get("version"), DASH),
        "date": fmt_datetime(run.get("started_at") or run.get("finished_at")),
        "seed": fmt_value(run.get("seed")),
        "duration": fmt_duration(run.get("duration_s")),
        "counts": counts,
        "total": len(audits),
        "verdict": _verdict(counts, len(audits), bool(run.get("interrupted"))),
        "statuses": STATUSES,
        "intended": _intended(results),
    }


def _intended(results: dict) -> str:
    """How many audits with a declared intended verdict (marker expect=) gave it, in words ("" when none has one)."""
    declared = [a for a in (as_dict(x) for x in results.get("audits") or []) if a.get("intended")]
    if not declared:
        return ""
    unexpected = [a for a in declared if a.get("as_intended") is not True]
    if not unexpected:
        return f"All {len(declared)} audits with an intended verdict gave it (intended FAILs included)."
    return (f"{len(unexpected)} of {len(declared)} audits with an intended verdict did not give it: "
            + ", ".join(text(a.get("title"), text(a.get("nodeid"))) for a in unexpected[:5])
            + (" …" if len(unexpected) > 5 else "") + ".")
