"""Intended verdicts per model (@pytest.mark.model_audit(expect={model: verdict})): the verdict is recorded as
measured; the test passes when it is the intended one and fails when not; the matrix marks each cell."""
from __future__ import annotations

import json

import model_suites

AUDITS = '''
import pytest

INTENDED = {"square_clean": "PASS", "square_shortcut": "FAIL"}


@pytest.mark.model_audit(title="The square drives 'square'", expect=INTENDED)
def test_square_drives(audit, detector, squares):
    audit.gradcam(detector, squares, "square").expect_share(squares.masks, at_least=0.9, region_name="square")


@pytest.mark.model_audit(expect={"square_clean": "FAIL", "square_shortcut": "FAIL"})
def test_meant_to_fail_on_both(audit, detector, squares):
    audit.ablation(detector, squares, "square", squares.masks).expect_drop(at_least=0.5)


@pytest.mark.model_audit(expect={"square_clean": "PAS"})
def test_bad_intent(audit, detector, squares):
    audit.ablation(detector, squares, "square", squares.masks).expect_drop(at_least=0.5)
'''


def test_intended_verdicts_decide_the_test_outcome_not_the_record(pytester, request):
    pytester.makeconftest(model_suites.conftest(request.path.parent))
    pytester.makepyfile(test_intent=AUDITS)
    result = pytester.runpytest("--model-audit", "--model-audit-no-pdf", "-p", "no:randomly", "--junitxml=j.xml")
    data = json.loads((pytester.path / "model-audit-report" / "results.json").read_text())
    audits = {a["nodeid"].split("::")[1]: a for a in data["audits"]}
    got = {k: (a["status"], a.get("intended"), a.get("as_intended")) for k, a in audits.items()}
    assert got == {
        "test_square_drives[clean]": ("PASS", "PASS", True),
        "test_square_drives[shortcut]": ("FAIL", "FAIL", True),  # recorded as measured: FAIL
        "test_meant_to_fail_on_both[clean]": ("PASS", "FAIL", False),
        "test_meant_to_fail_on_both[shortcut]": ("FAIL", "FAIL", True),
        "test_bad_intent[clean]": ("ERROR", None, None),
        "test_bad_intent[shortcut]": ("ERROR", None, None),
    }
    # the shortcut FAILs as intended: its test passes; the clean model's unintended PASS fails its test
    result.assert_outcomes(passed=3, failed=1, errors=2)
    result.stdout.fnmatch_lines(["*model-audit: verdict PASS, but FAIL is intended on square_clean*",
                                 "*model_audit(expect=...) verdicts must be one of FAIL, INCONCLUSIVE, ERROR, PASS; "
                                 "got 'PAS'*"])
    html = (pytester.path / "model-audit-report" / "index.html").read_text()
    assert html.count('cmp-intent cmp-as-intended') == 3 and "unexpected: FAIL intended" in html
    assert "As intended" in html and "1 unexpected" in html
    assert "1 of 4 audits with an intended verdict did not give it: Meant to fail on both [clean]." in html
    summary = (pytester.path / "model-audit-report" / "summary.md").read_text()
    assert "| **as intended** |" in summary and "(**unexpected**: FAIL intended)" in summary
    junit = (pytester.path / "j.xml").read_text()
    assert 'name="model_audit.intended" value="FAIL"' in junit and 'name="model_audit.as_intended" value="true"' in junit
