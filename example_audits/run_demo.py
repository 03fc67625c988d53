"""The demo (``make demo``): run the leopard audits and check the verdicts are the intended ones.

    .venv/bin/python example_audits/run_demo.py

Runs ``python -m pytest example_audits --model-audit --model-audit-report=model-audit-report``
with this interpreter from the repository root, reads ``model-audit-report/results.json`` and
compares every audit's status with ``EXPECTED`` below. The shortcut model is SUPPOSED to fail
(that is the point of the example), so pytest exiting 1 is normal here.

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
LEOPARD = "example_audits/test_leopard_audits.py"
STARTERS = "example_audits/starters/test_starter_audits.py"

# test function -> (short name, {model param: expected status}, file); ground truth for these is
# measured by tests/test_example_ground_truth.py and tests/test_starter_ground_truth.py.
EXPECTED = {
    "test_snow_not_driving_leopard": ("snow audit (ablation)", {"shortcut": "FAIL", "clean": "PASS"}, LEOPARD),
    "test_gradcam_not_on_snow": ("snow audit (Grad-CAM)", {"shortcut": "FAIL", "clean": "PASS"}, LEOPARD),
    "test_body_drives_leopard": ("body audit (ablation)", {"shortcut": "FAIL", "clean": "PASS"}, LEOPARD),
    "test_gradcam_on_body": ("body audit (Grad-CAM)", {"shortcut": "FAIL", "clean": "PASS"}, LEOPARD),
    "test_occlusion_not_on_snow": ("snow audit (occlusion)", {"shortcut": "FAIL", "clean": "PASS"}, LEOPARD),
    "test_integrated_gradients_not_on_snow": ("snow audit (Integrated Gradients)", {"shortcut": "FAIL", "clean": "PASS"},
                                              LEOPARD),
    "test_smoothgrad_not_on_snow": ("snow audit (SmoothGrad, rejected by the honesty checks)",
                                    {"shortcut": "INCONCLUSIVE", "clean": "INCONCLUSIVE"}, LEOPARD),
    "test_hibany_depends_on_red": ("TCAV audit 'hibany depends on red'", {"": "PASS"}, STARTERS),
    "test_sarunori_depends_on_green": ("TCAV audit 'sarunori depends on green'", {"": "PASS"}, STARTERS),
    # independence cannot be shown with 20 random sets: fixed random sets' scores spread too widely (README, TCAV)
    "test_messon_does_not_depend_on_green": ("TCAV audit 'messon does not depend on green'", {"": "INCONCLUSIVE"},
                                             STARTERS),
}
MODEL_WORDS = {"shortcut": "the shortcut model", "clean": "the clean model", "": "the starter model"}
VERB = {"PASS": "passed", "FAIL": "failed", "INCONCLUSIVE": "was inconclusive on", "ERROR": "errored on"}


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
        seen = set()
        def rank(audit: dict) -> tuple:
            base, param = _split(audit["nodeid"])
            return (list(EXPECTED).index(base) if base in EXPECTED else len(EXPECTED),
                    list(MODEL_WORDS).index(param) if param in MODEL_WORDS else len(MODEL_WORDS), audit["nodeid"])

        audits = sorted(results.get("audits", []), key=rank)
        for audit in audits:
            base, param = _split(audit["nodeid"])
            status = audit["status"]
            seen.add((base, param))
            if base not in EXPECTED or param not in EXPECTED[base][1]:
                problems.append(f"{audit['nodeid']}: {status}, but the demo declares no expected verdict for it "
                                f"(add it to EXPECTED in {Path(__file__).name})")
                continue
            what, outcomes, _ = EXPECTED[base]
            want = outcomes[param]
            who = MODEL_WORDS.get(param, param)
            measured = _measured(audit)
            if status == want:
                intent = "as intended" if status == "FAIL" else "as expected"
                print(f"  ok  {who} {VERB[status]} the {what}, {intent}" + (f": {measured}" if measured else ""))
            else:
                line = (f"{audit['nodeid']}: the audit ERRORED (expected {want})" if status == "ERROR"
                        else f"{audit['nodeid']}: expected {want}, got {status}")
                if measured:
                    line += f" ({measured})"
                if audit.get("message"):
                    line += "\n      " + audit["message"].splitlines()[0]
                problems.append(line)
        for base, (what, outcomes, test_file) in EXPECTED.items():
            for param in outcomes:
                if (base, param) not in seen:
                    node = f"{test_file}::{base}" + (f"[{param}]" if param else "")
                    problems.append(f"{node} did not run (no record in {results_path})")

    print()
    if html_path.is_file():
        print(f"report: file://{html_path}")
    if results_path.is_file():
        print(f"json:   file://{results_path}")
    pdf = REPORT_DIR / "report.pdf"
    if pdf.is_file() and pdf.stat().st_mtime >= started - 1:
        print(f"pdf:    file://{pdf}")
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
