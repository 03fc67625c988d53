"""The demo (``make demo``): run the leopard audits and check the verdicts are the intended ones.

    .venv/bin/python example_audits/run_demo.py

Runs ``python -m pytest example_audits --model-audit --model-audit-report=model-audit-report``
with this interpreter from the repository root, reads ``model-audit-report/results.json`` and
checks that every audit gave its intended verdict, declared on the audits themselves with
``@pytest.mark.model_audit(expect={model: verdict})`` (an audit without one must pass). The shortcut
model is SUPPOSED to fail (that is the point of the example): those tests pass when they fail as intended.
The PDF pytest writes is the stakeholder's summary; the demo also renders the one with every card into
``model-audit-report/full/`` from results.json (``python -m pytest_modelaudit.report ... --pdf full``).

Exit status 0: pytest exited 0 or 1, the report was written by this run, and every audit has
its expected status. Anything else (an ERROR audit, an unexpected verdict, a missing or stale
report, pytest exiting 2+ for a usage/internal error) exits 1 with a message saying what.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT_DIR = ROOT / "model-audit-report"



def _split(nodeid: str) -> tuple[str, str]:
    """'example_audits/test_x.py::test_name[param]' -> ('test_name', 'param')."""
    name = nodeid.split("::")[-1]
    if "[" in name:
        base, param = name[:-1].split("[", 1)
        return base, param
    return name, ""


def _measured(audit: dict) -> str:
    th = audit.get("threshold") or {}
    metric = th.get("metric")
    value = (audit.get("metrics") or {}).get(metric)
    if metric is None or not isinstance(value, (int, float)):
        return ""
    return f"{metric} = {value:.3f} (threshold {th.get('op')} {th.get('value')})"


def _print_comparison(results: dict, html_path: Path, problems: list[str]) -> None:
    """Where the report's model comparison matrix is, and the matrix itself in short."""
    from pytest_modelaudit.report.comparison import build_matrix

    matrix = build_matrix(results)
    if matrix is None:
        problems.append("the report has no model comparison matrix (the leopard audits should run on both models)")
        return
    print()
    print(f"model comparison (claims x models): file://{html_path}#comparison")
    width = max(len(r.title) for r in matrix.rows)
    print(f"  {'':<{width}}  " + "  ".join(f"{c.label:<16}" for c in matrix.columns))
    for row in matrix.rows:
        cells = ["/".join(e.status for e in cell) or "not run" for cell in row.cells]
        print(f"  {row.title:<{width}}  " + "  ".join(f"{c:<16}" for c in cells))
        for cell in row.cells:
            for e in cell:
                if e.as_intended is not True:
                    problems.append(f"comparison matrix: {e.nodeid} is {e.status}, not marked as intended")
    print(f"  {'as intended':<{width}}  " + "  ".join(f"{f'{c.as_intended} of {c.total}':<16}" for c in matrix.columns))


def _full_pdf(results_path: Path) -> Path | None:
    """The PDF with every card, rendered from results.json as any user can (python -m pytest_modelaudit.report)."""
    out = REPORT_DIR / "full"
    cmd = [sys.executable, "-m", "pytest_modelaudit.report", str(results_path), str(out), "--pdf", "full"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0 or not (out / "report.pdf").is_file():
        print(done.stdout + done.stderr)
        return None
    return out / "report.pdf"


def main() -> int:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # The evidence cache lives in .pytest_cache/d/model_audit: a second `make demo` reuses it.
    cmd = [sys.executable, "-m", "pytest", "example_audits", "--ignore=example_audits/claims", "--model-audit",
           "--model-audit-report=model-audit-report", "-q"]
    print("$ " + " ".join(["python"] + cmd[1:]), flush=True)
    started = time.time()
    rc = subprocess.run(cmd, cwd=ROOT, env=env).returncode
    elapsed = time.time() - started
    print()
    print("=" * 72)
    problems: list[str] = []
    if rc not in (0, 1):
        problems.append(f"pytest exited with status {rc} (0 = all passed, 1 = some audits failed; "
                        f"{rc} means a usage, collection or internal error: see the output above)")

    results_path = REPORT_DIR / "results.json"
    html_path = REPORT_DIR / "index.html"
    results = None
    for p in (results_path, html_path):
        if not p.is_file():
            problems.append(f"report file missing: {p}")
        elif p.stat().st_mtime < started - 1:
            problems.append(f"report file {p} is stale (not written by this run)")
    if results_path.is_file() and not any("stale" in x and str(results_path) in x for x in problems):
        try:
            results = json.loads(results_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            problems.append(f"cannot read {results_path}: {exc}")

    if results is not None:
        s = results.get("summary", {})
        print(f"{s.get('total', 0)} audits: {s.get('PASS', 0)} PASS, {s.get('FAIL', 0)} FAIL, "
              f"{s.get('INCONCLUSIVE', 0)} INCONCLUSIVE, {s.get('ERROR', 0)} ERROR "
              f"(audit run {results.get('run', {}).get('duration_s', float('nan')):.1f} s, pytest {elapsed:.1f} s)")
        # The intended verdicts live with the audits (@pytest.mark.model_audit(expect={model: verdict})): an
        # audit is right when it gave its intended verdict, or passed when none is declared.
        for audit in sorted(results.get("audits", []), key=lambda a: a["nodeid"]):
            status, intended = audit["status"], audit.get("intended")
            measured = _measured(audit)
            if (intended and audit.get("as_intended")) or (not intended and status == "PASS"):
                intent = f"{status}, as intended" if intended else status
                print(f"  ok  {audit['title']}: {intent}" + (f" ({measured})" if measured else ""))
                continue
            line = (f"{audit['nodeid']}: {status}" + (f", but {intended} is intended" if intended else
                                                       ", and it declares no intended verdict"))
            if measured:
                line += f" ({measured})"
            if audit.get("message"):
                line += "\n      " + audit["message"].splitlines()[0]
            problems.append(line)
        if not results.get("audits"):
            problems.append(f"no audit ran (no records in {results_path})")

    print()
    if html_path.is_file():
        print(f"report: file://{html_path}")
    if results_path.is_file():
        print(f"json:   file://{results_path}")
    pdf = REPORT_DIR / "report.pdf"
    if pdf.is_file() and pdf.stat().st_mtime >= started - 1:
        print(f"pdf:    file://{pdf} (the stakeholder's summary)")
        full = _full_pdf(results_path)
        if full:
            print(f"full pdf (every card, the feature views, the model panels): file://{full}")
        else:
            problems.append("the full PDF (model-audit-report/full/report.pdf) was not written: see the output above")
    else:
        print("pdf:    not written this run (see the pytest output for why)")
    summary_md = REPORT_DIR / "summary.md"
    if summary_md.is_file() and summary_md.stat().st_mtime >= started - 1:
        print(f"summary.md (for a pull-request comment): file://{summary_md}")
    if results is not None:
        _print_comparison(results, html_path, problems)

    if problems:
        print()
        print("DEMO FAILED:")
        for p in problems:
            print(f"  - {p}")
        return 1
    print()
    print("demo OK: every audit gave its intended verdict "
          "(the shortcut model is caught relying on the snow; the clean model is not).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
