"""Plugin behaviour through pytester: skipping, verdicts, exit codes, report files, errors, options."""
import json

import pytest

CONFTEST = '''
import sys
sys.path.insert(0, {tests_dir!r})
import pytest
from known_models import square_images, square_model

@pytest.fixture(scope="session")
def square_net():
    from pytest_modelaudit import load_model
    return load_model(square_model(), classes=["square", "none"], name="square_net")

@pytest.fixture
def squares():
    from pytest_modelaudit import ImageSet
    imgs, masks = square_images()
    return ImageSet.from_arrays(imgs, masks)
'''

AUDITS = '''
import pytest

@pytest.mark.model_audit(title="The square drives 'square'", severity="critical")
def test_square_drives(audit, square_net, squares):
    audit.gradcam(square_net, squares, "square").expect_share(squares.masks, at_least=0.9, region_name="square")
    audit.ablation(square_net, squares, "square", squares.masks, region_name="square").expect_drop(at_least=0.5)

def test_background_drives(audit, square_net, squares):
    audit.gradcam(square_net, squares, "square").expect_share(1 - squares.masks, at_least=0.5, region_name="background")

def test_typo_in_class(audit, square_net, squares):
    audit.gradcam(square_net, squares, "sqare").expect_share(squares.masks, at_least=0.9)

def test_no_evidence(audit, square_net, squares):
    audit.gradcam(square_net, squares, "none").expect_share(squares.masks, at_most=0.5)

def test_ordinary_unit_test():
    assert True
'''


@pytest.fixture
def suite(pytester, request):
    pytester.makeconftest(CONFTEST.format(tests_dir=str(request.path.parent)))
    pytester.makepyfile(test_audits=AUDITS)
    return pytester


def _results(pytester, folder="model-audit-report"):
    return json.loads((pytester.path / folder / "results.json").read_text())


def test_audits_are_skipped_without_the_flag(suite):
    result = suite.runpytest("-rs")
    result.assert_outcomes(passed=1, skipped=4)
    result.stdout.fnmatch_lines(["model-audit: off*", "*model audits are off; run pytest --model-audit*"])
    assert not (suite.path / "model-audit-report").exists()


def test_verdicts_exit_code_and_report(suite):
    result = suite.runpytest("--model-audit", "--model-audit-no-pdf")
    result.assert_outcomes(passed=2, failed=3)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([
        "model-audit: on, report=*model-audit-report, pdf=off, seed=0, inconclusive=fail, honesty=inconclusive*",
        "*AuditFailure: FAIL: Grad-CAM mass share on region 'background' for 'square' is at least 0.50",
        "*measured: share = 0.000*",
        "*threshold: share ≥ 0.5",
        "*evidence: *model-audit-report/index.html#audit-*",
        "*ClassNotFoundError: Model 'square_net' has no class 'sqare'. Closest valid names: 'square'.",
        "*AuditInconclusive: INCONCLUSIVE*",
        "*why: every Grad-CAM map is all zero*",
        "*- model audit -*",
        "1 PASS, 1 FAIL, 1 INCONCLUSIVE, 1 ERROR (4 audits)",
        "report: file://*index.html",
    ])
    data = _results(suite)
    assert data["schema_version"] == 1 and data["summary"] == {"total": 4, "PASS": 1, "FAIL": 1, "INCONCLUSIVE": 1, "ERROR": 1}
    by_name = {a["nodeid"].split("::")[1]: a for a in data["audits"]}
    passed = by_name["test_square_drives"]
    assert passed["title"] == "The square drives 'square'" and passed["severity"] == "critical"
    assert passed["status"] == "PASS" and passed["metrics"]["share"] == pytest.approx(1.0)
    assert [c["kind"] for c in passed["checks"]] == ["share", "drop"]
    ev = passed["checks"][0]["evidence"]
    assert ev["type"] == "heatmap" and ev["layer"] == "pool" and ev["grid"] == [8, 8]
    assert ev["images"][0]["image"].startswith("data:image/") and len(ev["images"][0]["heatmap"]) == 8
    assert passed["checks"][1]["evidence"]["decisive_fill"] in ("mean", "blur", "shuffle")
    failed = by_name["test_background_drives"]
    assert failed["status"] == "FAIL" and failed["threshold"] == {"metric": "share", "op": ">=", "value": 0.5}
    assert failed["claim"].startswith("Grad-CAM mass share on region 'background'") and failed["title"] == "Background drives"
    errored = by_name["test_typo_in_class"]
    assert errored["status"] == "ERROR" and "no class 'sqare'" in errored["message"] and errored["checks"] == []
    assert by_name["test_no_evidence"]["status"] == "INCONCLUSIVE"
    model = next(iter(data["models"].values()))
    assert model["name"] == "square_net" and model["input_shape"] == [16, 16, 3] and model["layers_used"] == ["pool"]
    assert model["output"] == "softmax" and "head" in model["logits_from"]
    assert (suite.path / "model-audit-report" / "index.html").exists()
    assert not (suite.path / "model-audit-report" / "report.pdf").exists()


def test_ini_twins(suite):
    suite.makeini("[pytest]\nmodel_audit = true\nmodel_audit_report = out/audit\nmodel_audit_pdf = false\nmodel_audit_seed = 7\n")
    result = suite.runpytest("-k", "square_drives")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["model-audit: on, report=*out/audit, pdf=off, seed=7*"])
    assert _results(suite, "out/audit")["run"]["seed"] == 7


def test_pdf_is_written_by_default(suite):
    result = suite.runpytest("--model-audit", "-k", "square_drives")
    result.assert_outcomes(passed=1)
    assert (suite.path / "model-audit-report" / "report.pdf").read_bytes()[:4] == b"%PDF"


def test_inconclusive_policy_skip_is_never_a_pass(suite):
    result = suite.runpytest("--model-audit", "--model-audit-no-pdf", "--model-audit-inconclusive=skip", "-k", "no_evidence", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*INCONCLUSIVE test_audits.py::test_no_evidence*(why: every Grad-CAM map is all zero*",
                                 "SKIPPED ?1? test_audits.py:15: INCONCLUSIVE*"])
    assert _results(suite)["audits"][0]["status"] == "INCONCLUSIVE"


def test_audit_without_expectation_fails(pytester, request):
    pytester.makeconftest(CONFTEST.format(tests_dir=str(request.path.parent)))
    pytester.makepyfile("def test_nothing_checked(audit, square_net, squares):\n    audit.gradcam(square_net, squares, 'square')\n")
    result = pytester.runpytest("--model-audit", "--model-audit-no-pdf")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*made no expectation*"])
    assert _results(pytester)["audits"][0]["status"] == "INCONCLUSIVE"


def test_setup_error_is_an_error_audit_and_others_still_run(pytester, request):
    pytester.makeconftest(CONFTEST.format(tests_dir=str(request.path.parent)) + '''
@pytest.fixture
def broken_model(tmp_path):
    from pytest_modelaudit import load_model
    return load_model(tmp_path / "missing.keras")
''')
    pytester.makepyfile('''
def test_broken(audit, broken_model, squares):
    audit.gradcam(broken_model, squares, "square").expect_share(squares.masks, at_least=0.5)

def test_fine(audit, square_net, squares):
    audit.gradcam(square_net, squares, "square").expect_share(squares.masks, at_least=0.5)
''')
    result = pytester.runpytest("--model-audit", "--model-audit-no-pdf")
    result.assert_outcomes(passed=1, errors=1)
    audits = {a["nodeid"].split("::")[1]: a for a in _results(pytester)["audits"]}
    assert audits["test_broken"]["status"] == "ERROR" and "missing.keras" in audits["test_broken"]["message"]
    assert "while setting up" in audits["test_broken"]["message"]
    assert audits["test_fine"]["status"] == "PASS"


@pytest.mark.parametrize("args,match", [
    (["--model-audit-seed=abc"], "*--model-audit-seed / model_audit_seed must be a non-negative integer, got 'abc'*"),
    (["--model-audit-inconclusive=pass"], "*invalid choice: 'pass'*"),
])
def test_bad_options_are_usage_errors(suite, args, match):
    result = suite.runpytest("--model-audit", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([match])


def test_a_bad_severity_is_an_error_of_that_test_only(pytester):
    pytester.makepyfile('''
import pytest
@pytest.mark.model_audit(title="bad", severity="high")
def test_bad(audit):
    pass

@pytest.mark.model_audit(title="fine")
def test_fine():
    pass
''')
    result = pytester.runpytest("--model-audit", "--model-audit-no-pdf", "--model-audit-report=rep")
    result.assert_outcomes(errors=1, passed=1)
    result.stdout.fnmatch_lines(["*model_audit severity must be one of critical, major, minor, info, got 'high'*"])
    import json

    data = json.loads((pytester.path / "rep" / "results.json").read_text())
    statuses = {a["nodeid"].split("::")[-1]: a["status"] for a in data["audits"]}
    assert statuses["test_bad"] == "ERROR" and "got 'high'" in next(
        a["message"] for a in data["audits"] if a["nodeid"].endswith("test_bad"))
    assert pytester.runpytest().ret == 0  # without --model-audit nothing breaks the ordinary run


def test_marker_is_registered_and_validated(pytester):
    pytester.makepyfile('''
import pytest
@pytest.mark.model_audit(title="t", owner="me")
def test_x():
    pass
''')
    result = pytester.runpytest("--strict-markers", "--model-audit", "--model-audit-no-pdf")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*model_audit takes only title=..., severity=... and expect=...; got 'owner'*"])
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.model_audit(title=None, severity='major'):*"])


def test_unwritable_report_folder_warns_and_keeps_outcomes(suite):
    (suite.path / "blocked").write_text("a file where the report folder should be")
    result = suite.runpytest("--model-audit", "--model-audit-no-pdf", "--model-audit-report=blocked", "-k", "square_drives")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*report NOT written*blocked*"])


def test_each_audit_records_the_passes_it_ran_and_a_warm_run_none(suite):
    args = ("--model-audit", "--model-audit-no-pdf", "-p", "no:randomly", "-k", "square_drives or background_drives")
    suite.runpytest(*args)
    cold = {a["nodeid"].split("::")[1]: a for a in _results(suite)["audits"]}
    suite.runpytest(*args)
    warm = {a["nodeid"].split("::")[1]: a for a in _results(suite)["audits"]}
    first = cold["test_square_drives"]
    p = first["passes"]
    assert list(p["by_model"]) == first["models"]  # booked to the audit's own model
    assert p["forward"] == sum(m["forward"] for m in p["by_model"].values()) > 0  # curves, companions
    assert p["forward_backward"] == sum(m["forward_backward"] for m in p["by_model"].values()) > 0  # the maps
    none = {"forward": 0, "forward_backward": 0, "by_model": {}}
    assert cold["test_background_drives"]["passes"] == none  # the same maps, another region: all reused
    assert warm["test_square_drives"]["passes"] == warm["test_background_drives"]["passes"] == none  # from disk


def test_same_seed_same_results(suite):
    suite.runpytest("--model-audit", "--model-audit-no-pdf", "-k", "square_drives")
    first = _results(suite)["audits"]
    suite.runpytest("--model-audit", "--model-audit-no-pdf", "-k", "square_drives")
    second = _results(suite)["audits"]
    for a in first + second:  # what a run cost is no result: the second run reads the first one's cache
        a.pop("duration_s")
        a.pop("passes")
    assert first == second
