"""xdist: the same verdicts, report and JUnit properties without xdist, with -n 0 and -n 2; a crashed worker's
audits are ERROR in the report."""
import json
import xml.etree.ElementTree as ET

import pytest

import model_suites

pytest.importorskip("xdist")

REPORT = "model-audit-report"
# Run facts that legitimately differ between runs: dates, durations, the command line, cache hit counts.
RUN_SPECIFIC = ("started_at", "finished_at", "duration_s", "pytest_args", "cache")


@pytest.fixture
def suite(pytester, request):
    pytester.makeconftest(model_suites.conftest(request.path.parent))
    pytester.makepyfile(test_audits=model_suites.AUDITS)
    return pytester


def _normalised_results(pytester) -> dict:
    """results.json without what legitimately differs between runs: dates, durations, the command line."""
    data = json.loads((pytester.path / REPORT / "results.json").read_text())
    for key in RUN_SPECIFIC:
        data["run"].pop(key, None)
    for a in data["audits"]:
        a.pop("duration_s")
        a.pop("passes")  # each worker has its own session cache, so what an audit reuses differs with -n
    return data


def _summary_without_run_line(pytester) -> str:
    text = (pytester.path / REPORT / "summary.md").read_text()
    return "\n".join(line for line in text.splitlines() if not line.startswith("Run: "))


def _junit_properties(path) -> dict[str, list[tuple[str, str]]]:
    """testcase name -> its (name, value) properties; also checks that `time` stays a duration."""
    out = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        assert 0 <= float(case.get("time")) < 600
        out[case.get("name")] = [(p.get("name"), p.get("value")) for p in case.iter("property")]
    return out


def test_same_verdicts_report_and_junit_without_xdist_with_n0_and_n2(suite):
    modes = {"no xdist": ["-p", "no:xdist"], "-n 0": ["-n", "0"], "-n 2": ["-n", "2"]}
    seen = {}
    for mode, extra in modes.items():
        args = ["--model-audit", "--model-audit-no-pdf", "--junitxml=junit.xml", "-p", "no:cacheprovider", *extra]
        # -n 2 needs real worker processes; the other two run in this process (TensorFlow is already loaded).
        result = suite.runpytest_subprocess(*args) if mode == "-n 2" else suite.runpytest(*args)
        result.assert_outcomes(passed=3, failed=6)
        if mode == "-n 2":
            result.stdout.fnmatch_lines(["*2 workers*"])
        seen[mode] = (_normalised_results(suite), _summary_without_run_line(suite),
                      _junit_properties(suite.path / "junit.xml"))

    results, summary, junit = seen["no xdist"]
    verdicts = {a["nodeid"].split("::")[1]: a["status"] for a in results["audits"]}
    assert verdicts == {f"{test}[{model}]": status for test, pair in model_suites.EXPECTED.items()
                        for model, status in zip(("clean", "shortcut"), pair)}
    assert results["summary"] == {"total": 8, "PASS": 2, "FAIL": 2, "INCONCLUSIVE": 2, "ERROR": 2}
    assert "### Model comparison" in summary
    assert ("model_audit.status", "FAIL") in junit["test_square_drives[shortcut]"]  # properties are not empty
    for mode in ("-n 0", "-n 2"):
        other_results, other_summary, other_junit = seen[mode]
        assert other_results == results, mode
        assert other_summary == summary, mode
        assert other_junit == junit, mode
    # The HTML is rendered from results.json alone, so equal results mean an equal report; spot-check it.
    html = (suite.path / REPORT / "index.html").read_text()
    assert 'id="comparison"' in html and html.count('class="cmp-entry') == 8


CRASHING = '''
import os
import pytest


def test_square_drives(audit, detector, squares):
    audit.gradcam(detector, squares, "square").expect_share(squares.masks, at_least=0.9, region_name="square")


@pytest.mark.model_audit(title="Dies half-way", severity="critical")
def test_dies(audit, detector, squares):
    audit.gradcam(detector, squares, "square")
    if detector.name == "square_clean":
        os._exit(3)
    os.abort()
'''


def test_a_crashed_worker_shows_its_audits_as_error(pytester, request):
    pytester.makeconftest(model_suites.conftest(request.path.parent))
    pytester.makepyfile(test_audits=CRASHING)
    result = pytester.runpytest_subprocess("--model-audit", "--model-audit-no-pdf", "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(["*replacing crashed worker*"])
    result.stdout.fnmatch_lines(["*- model audit -*", "1 PASS, 1 FAIL, 2 ERROR (4 audits)"])
    data = json.loads((pytester.path / REPORT / "results.json").read_text())
    audits = {a["nodeid"].split("::")[1]: a for a in data["audits"]}
    assert [audits[f"test_square_drives[{m}]"]["status"] for m in ("clean", "shortcut")] == ["PASS", "FAIL"]
    for model in ("clean", "shortcut"):
        crashed = audits[f"test_dies[{model}]"]
        assert crashed["status"] == "ERROR" and crashed["checks"] == []
        assert crashed["title"] == f"Dies half-way [{model}]" and crashed["severity"] == "critical"
        assert "crashed before the audit finished" in crashed["message"]
        assert f"test_dies[{model}]" in crashed["message"]  # xdist's own line names the item
    html = (pytester.path / REPORT / "index.html").read_text()
    assert html.count("crashed before the audit finished") >= 2
