"""Merging sharded runs into one report (`python -m pytest_modelaudit.report merge ... OUT`)."""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

import model_suites
import report_samples as rs
from pytest_modelaudit.report.merge import MergeError, merge_results

REPO = Path(__file__).resolve().parents[1]


def _shards():
    full = rs.sample_results()
    a, b = copy.deepcopy(full), copy.deepcopy(full)
    a["audits"], b["audits"] = full["audits"][:3], full["audits"][3:]
    b["run"] = {**b["run"], "seed": 7, "started_at": "2026-11-22T07:00:00+00:00"}
    return full, a, b


def test_merge_keeps_every_audit_and_each_runs_seed():
    full, a, b = _shards()
    merged = merge_results([("a/results.json", a), ("b/results.json", b)])
    assert [x["nodeid"] for x in merged["audits"]] == [x["nodeid"] for x in full["audits"]]
    assert merged["summary"] == full["summary"]
    assert [m["source"] for m in merged["run"]["merged_from"]] == ["a/results.json", "b/results.json"]
    assert [m["run"]["seed"] for m in merged["run"]["merged_from"]] == [full["run"]["seed"], 7]
    assert merged["run"]["seed"] is None  # the runs' seeds differ: no one root seed is claimed


def test_merge_refuses_other_schema_versions_naming_them():
    _, a, b = _shards()
    b["schema_version"] = 2
    with pytest.raises(MergeError, match=r"different results schema versions \(a: 1, b: 2\)"):
        merge_results([("a", a), ("b", b)])


def test_merge_names_an_audit_two_runs_hold():
    _, a, _ = _shards()
    with pytest.raises(MergeError, match=r"the same audit is in more than one run.*in a and again"):
        merge_results([("a", a), ("again", copy.deepcopy(a))])


def test_merge_of_one_run_is_refused():
    _, a, _ = _shards()
    with pytest.raises(MergeError, match="at least two"):
        merge_results([("a", a)])


def test_two_ci_shards_one_per_model_merge_into_one_report(pytester, request):
    """A CI matrix: one job per model (here -k per parameter), then a merge job; one comparison matrix."""
    pytester.makeconftest(model_suites.conftest(request.path.parent))
    pytester.makepyfile(test_audits=model_suites.AUDITS)
    for shard in ("clean", "shortcut"):
        pytester.runpytest("--model-audit", "--model-audit-no-pdf", f"--model-audit-report=job-{shard}",
                           "-k", f"{shard} or ordinary", "-p", "no:randomly")
    cmd = [sys.executable, "-m", "pytest_modelaudit.report", "merge", "job-clean/results.json",
           "job-shortcut/results.json", "merged", "--no-pdf"]
    done = subprocess.run(cmd, cwd=pytester.path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    merged = json.loads((pytester.path / "merged" / "results.json").read_text())
    assert len(merged["audits"]) == 8 and len(merged["models"]) == 2
    html = (pytester.path / "merged" / "index.html").read_text()
    assert 'id="comparison"' in html and "Merged run 2" in html and "job-shortcut/results.json" in html
    summary = (pytester.path / "merged" / "summary.md").read_text()
    assert "square\\_clean" in summary and "square\\_shortcut" in summary and "in `merged`" in summary
    again = subprocess.run(cmd[:-2] + ["job-clean/results.json", "twice", "--no-pdf"], cwd=pytester.path,
                           capture_output=True, text=True)
    assert again.returncode == 2 and "the same audit is in more than one run" in again.stderr
    missing = subprocess.run(cmd[:4] + ["nope.json", "job-clean/results.json", "x"], cwd=pytester.path,
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "cannot read nope.json" in missing.stderr
