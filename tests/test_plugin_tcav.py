"""TCAV audits through pytester: concept root from the ini, verdicts, session-wide Holm, errors."""
import json

import pytest

CONFTEST = '''
import sys
sys.path.insert(0, {tests_dir!r})
import pytest
from concept_data import make_root, red_pixel_model

@pytest.fixture(scope="session")
def red_net():
    from pytest_modelaudit import load_model
    return load_model(red_pixel_model(), classes=["red_class", "other"], name="red_net")
'''

AUDITS = '''
import pytest

@pytest.mark.model_audit(title="red_class depends on red")
def test_depends_on_red(audit, red_net):
    audit.tcav(red_net, "red_class", "red", layers="feat").expect_depends(min_score=0.9)

def test_depends_on_green(audit, red_net):
    audit.tcav(red_net, "red_class", "green", layers=["feat"]).expect_depends()

def test_independent_of_green(audit, red_net):
    audit.tcav(red_net, "red_class", "green", layers=["feat"]).expect_independent()

def test_green_pushes_red_class_away(audit, red_net):
    audit.tcav(red_net, "red_class", "green", layers=["feat"]).expect_opposes()

def test_independent_of_green_against_blue(audit, red_net):
    audit.tcav(red_net, "red_class", "green", layers=["feat"], contrast=["blue"]).expect_independent()

def test_uninformative_layer(audit, red_net):
    audit.tcav(red_net, "red_class", "red", layers=["relu"]).expect_depends()

def test_red_more_than_blue(audit, red_net):
    audit.tcav(red_net, "red_class", "red", layers=["feat"]).expect_more_than("blue")

def test_reference_mode(audit, red_net):
    audit.tcav(red_net, "red_class", "red", layers=["feat"], mode="tcav-reference").expect_depends()

def test_typo(audit, red_net):
    audit.tcav(red_net, "red_class", "reed", layers=["feat"]).expect_depends()
'''


@pytest.fixture
def suite(pytester, request):
    from concept_data import make_root

    make_root(pytester.path / "concepts", randoms=12, red_targets=30, targets=30)  # 10-20 random sets, as advised
    pytester.makeconftest(CONFTEST.format(tests_dir=str(request.path.parent)))
    pytester.makepyfile(test_concepts=AUDITS)
    pytester.makeini("[pytest]\nmodel_audit_concepts = concepts\nfilterwarnings = ignore:Concept folder\n")
    return pytester


def test_tcav_audits_end_to_end(suite):
    result = suite.runpytest("--model-audit", "--model-audit-no-pdf")
    result.assert_outcomes(passed=3, failed=6)
    result.stdout.fnmatch_lines(["*ConceptError: Concept folder *reed* does not exist. Closest valid names: 'red'*"])
    data = json.loads((suite.path / "model-audit-report" / "results.json").read_text())
    audits = {a["nodeid"].split("::")[1]: a for a in data["audits"]}
    # green images are less red than the random ones: along green's CAVs red_class's logit falls, but no further
    # than concepts a class ignores can reach (adding green to an image leaves the logit as it is), so neither
    # opposes nor independence is shown; against its sibling blue (just as un-red) nothing is shown either way
    assert {k: a["status"] for k, a in audits.items()} == {
        "test_depends_on_red": "PASS", "test_depends_on_green": "FAIL", "test_independent_of_green": "INCONCLUSIVE",
        "test_green_pushes_red_class_away": "INCONCLUSIVE", "test_independent_of_green_against_blue": "INCONCLUSIVE",
        "test_uninformative_layer": "INCONCLUSIVE",
        "test_red_more_than_blue": "PASS", "test_reference_mode": "PASS", "test_typo": "ERROR",
    }
    assert "neither shown nor refuted" in audits["test_green_pushes_red_class_away"]["message"]
    flat = audits["test_uninformative_layer"]
    assert "is the same for every image" in flat["message"] and "use an earlier layer, e.g. 'feat'" in flat["message"]
    flat_layer = flat["checks"][0]["evidence"]["layers"][0]
    assert flat_layer["informative"] is False and flat_layer["gradient_variation"] < 1e-9
    sib = audits["test_independent_of_green_against_blue"]["checks"][0]["evidence"]
    assert sib["contrast"] == ["blue"] and sib["layers"][0]["contrast"]["siblings"] == ["blue"]
    assert sib["layers"][0]["null"]["p_less"] < 0.05  # against random, green opposes
    html = (suite.path / "model-audit-report" / "index.html").read_text()
    assert "Against siblings ‘blue’ (decides the claim)" in html and "not informative" in html
    ev = audits["test_depends_on_red"]["checks"][0]["evidence"]
    assert ev["type"] == "tcav" and ev["concept"] == "red" and ev["mode"] == "default" and ev["score"] == "logit"
    layer = ev["layers"][0]
    assert layer["layer"] == "feat" and layer["concept_scores"] == [1.0] * 12 and len(layer["random_scores"]) == 12
    assert layer["represented"] and layer["verdict"] == "PASS" and layer["p_adjusted"] < 0.05
    assert layer["informative"] and layer["outcome"] == "depends" and len(layer["null_scores"]) == 12
    assert layer["null"]["concept_mean"] == 1.0 and layer["null"]["null_sd"] > 0
    assert ev["p_session_holm"] >= ev["primary_p"] and ev["survives_session_correction"] in (True, False)
    assert ev["concept_images"][0].startswith("data:image/")
    inconclusive = audits["test_independent_of_green_against_blue"]
    assert "absence of significance is not evidence of absence" in inconclusive["message"]
    ref = audits["test_reference_mode"]["checks"][0]["evidence"]
    assert ref["mode"] == "tcav-reference" and len(ref["layers"][0]["random_scores"]) == 12 * 11
    assert audits["test_red_more_than_blue"]["checks"][0]["evidence"]["compare_to"] == "blue"


def test_missing_concept_root_is_a_clear_error(pytester, request):
    pytester.makeconftest(CONFTEST.format(tests_dir=str(request.path.parent)))
    pytester.makepyfile(AUDITS.split("def test_depends_on_green")[0])
    result = pytester.runpytest("--model-audit", "--model-audit-no-pdf")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*No concept root: pass concepts=... to audit.tcav, or set --model-audit-concepts*"])
