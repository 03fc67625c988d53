"""``summary.md``: a short Markdown summary of a run for a pull-request comment, from results.json alone.

Counts, the audits that did not pass (claim, measured, threshold), the model comparison matrix
and where the full report is. User text is escaped so it cannot break the tables or inject markup.
"""
from __future__ import annotations

import re
from types import EllipsisType
from typing import Any

from ..schema import STATUS_ORDER, STATUSES, audit_anchor, inconclusive_reason, normalise_status
from .comparison import Matrix, build_matrix, deciding_measurement
from .formatting import DASH, fmt_datetime, fmt_duration, fmt_threshold

MAX_ROWS = 30
MAX_CELL = 240  # characters of user text per table cell; the full text is in the report
_SPECIAL = re.compile(r"([\\|`*_\[\]<>#~])")


def md(text: Any) -> str:
    """User text safe inside a Markdown table cell: one line, markup characters escaped (``|`` as ``\\|``)."""
    one_line = " ".join(str(text if text is not None else "").split())
    if len(one_line) > MAX_CELL:
        one_line = one_line[: MAX_CELL - 1] + "…"
    return _SPECIAL.sub(r"\\\1", one_line) or DASH


def code(text: Any) -> str:
    """Text as an inline code span (not in a table): backticks fenced, nothing else escaped."""
    one_line = " ".join(str(text).split())
    longest = max((len(r) for r in re.findall(r"`+", one_line)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if one_line.startswith("`") or one_line.endswith("`") else ""
    return f"{fence}{pad}{one_line}{pad}{fence}"


def _measured(audit: dict[str, Any]) -> str:
    metric, value = deciding_measurement(audit)
    return f"{md(metric)} = {value}" if metric and value != DASH else value


def _cell_text(cell: list[Any], html_name: str) -> str:
    if not cell:
        return "not run"
    parts = []
    for c in cell:
        status = f"**{c.status}**" if c.status != "PASS" else c.status
        value = f" {md(c.metric)} {c.measured}" if c.metric and c.measured != DASH else ""
        label = f" \\[{md(c.param)}\\]" if len(cell) > 1 else ""
        intent = {True: " (as intended)", False: f" (**unexpected**: {c.intended} intended)"}.get(c.as_intended, "")
        parts.append(f"[{status}{value}]({html_name}#{c.anchor}){label}{intent}")
    return "<br>".join(parts)


def summary_markdown(results: dict[str, Any], *, html_name: str = "index.html", pdf_name: str | None = None,
                     json_name: str = "results.json", matrix: Matrix | None | EllipsisType = ...) -> str:
    """The Markdown text of ``summary.md`` (links relative to the report folder). ``matrix``: the
    comparison matrix of ``results`` when the caller has built it already; built here when not given."""
    audits = [a for a in results.get("audits") or [] if isinstance(a, dict)]
    run = results.get("run") if isinstance(results.get("run"), dict) else {}
    counts = {s: 0 for s in STATUSES}
    for a in audits:
        counts[normalise_status(a.get("status"))] += 1
    failing = sorted((a for a in audits if normalise_status(a.get("status")) != "PASS"),
                     key=lambda a: (STATUS_ORDER[normalise_status(a.get("status"))], str(a.get("nodeid"))))
    total = len(audits)
    if run.get("interrupted"):
        head = f"INTERRUPTED: the run was stopped before every audit finished; {total} recorded"
    elif not total:
        head = "no audits recorded"
    elif failing:
        head = f"{len(failing)} of {total} audits did not pass"
    else:
        head = f"all {total} audits passed"
    lines = [f"## Model audit: {head}", ""]
    lines.append(" · ".join(f"**{counts[s]} {s}**" if counts[s] and s != "PASS" else f"{counts[s]} {s}"
                            for s in STATUSES))
    lines.append("")
    if run.get("interrupted"):
        lines += ["> **This run was interrupted.** Audits that had not finished are missing or shown as ERROR; "
                  "this is not a verdict on the whole suite.", ""]
    models = results.get("models") if isinstance(results.get("models"), dict) else {}
    if models:
        names = sorted(f"{md(m.get('name') or fp)} {code(fp)}" for fp, m in models.items() if isinstance(m, dict))
        lines += [("Models: " if len(names) != 1 else "Model: ") + ", ".join(names), ""]
    lines += [f"Run: {fmt_datetime(run.get('started_at'))}, {fmt_duration(run.get('duration_s'))}, "
              f"seed {md(run.get('seed'))}", ""]

    if failing:
        lines += ["### Audits that did not pass", "",
                  "| Status | Audit | Claim | Measured | Threshold |", "|---|---|---|---|---|"]
        for a in failing[:MAX_ROWS]:
            status = normalise_status(a.get("status"))
            claim = a.get("claim") if a.get("checks") else (a.get("message") or "").split("\n")[0]
            reason = inconclusive_reason(a)
            if status == "INCONCLUSIVE" and reason:
                claim = f"{claim} (why: {reason})"
            lines.append(f"| **{status}** | [{md(a.get('title') or a.get('nodeid'))}]({html_name}#{audit_anchor(a)}) "
                         f"| {md(claim)} | {_measured(a)} | {md(fmt_threshold(a.get('threshold')))} |")
        if len(failing) > MAX_ROWS:
            lines.append(f"| | … and {len(failing) - MAX_ROWS} more in the full report | | | |")
        lines.append("")

    if matrix is ...:
        matrix = build_matrix(results)
    if matrix is not None:
        lines += ["### Model comparison", "",
                  "| Audit | " + " | ".join(md(c.label) for c in matrix.columns) + " |",
                  "|---|" + "---|" * len(matrix.columns)]
        for row in matrix.rows[:MAX_ROWS]:
            lines.append(f"| {md(row.title)} | " + " | ".join(_cell_text(cell, html_name) for cell in row.cells) + " |")
        if len(matrix.rows) > MAX_ROWS:
            lines.append(f"| … and {len(matrix.rows) - MAX_ROWS} more in the full report |" + " |" * len(matrix.columns))
        lines.append("| **passed** | " + " | ".join(f"{c.passed} of {c.total}" for c in matrix.columns) + " |")
        if any(c.as_intended or c.unexpected for c in matrix.columns):
            lines.append("| **as intended** | " + " | ".join(
                f"{c.as_intended} of {c.as_intended + c.unexpected}" + (f", **{c.unexpected} unexpected**"
                                                                         if c.unexpected else "")
                for c in matrix.columns) + " |")
        lines.append("")
        for x in matrix.across:
            status = f"**{x.status}**" if x.status != "PASS" else x.status
            value = f" {md(x.metric)} {x.measured}" if x.metric and x.measured != DASH else ""
            intent = {True: " (as intended)", False: f" (**unexpected**: {x.intended} intended)"}.get(x.as_intended, "")
            lines.append(f"- Where the models differ: [{status}{value}]({html_name}#{x.anchor}) {md(x.title)} "
                         f"({md(', '.join(x.models))}){intent}")
        if matrix.across:
            lines.append("")

    files = [f"[{html_name}]({html_name})"] + ([f"[{pdf_name}]({pdf_name})"] if pdf_name else []) \
        + [f"[{json_name}]({json_name})"]
    where = f" in {code(run.get('report_dir'))}" if run.get("report_dir") else ""
    lines.append(f"Full report: {' · '.join(files)}{where}")
    return "\n".join(lines) + "\n"
