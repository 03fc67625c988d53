"""The model comparison matrix (report/comparison.py, comparison.html.j2, summary.md) and the ini list of
candidate models (`model_audit_models` + the `audit_model` fixture)."""
import json
import re

import pytest

import model_suites
import report_samples as rs
from pytest_modelaudit.report import render_html
from pytest_modelaudit.report.comparison import build_matrix, split_nodeid
from pytest_modelaudit.report.summary_md import summary_markdown

FILE = "audits/test_leopard.py"


def _audit(test: str, param: str, status: str, measured: float | None, model: str | None, *,
           metric: str = "prob_drop", title: str | None = None) -> dict:
    """A recorded audit of `test[param]` on `model` (a fingerprint, or None: it stopped before using one)."""
    nodeid = f"{FILE}::{test}" + (f"[{param}]" if param else "")
    claim = f"claim of {test}"
    threshold = {"metric": metric, "op": "<=", "value": 0.2}
    checks = [] if model is None else [{
        "kind": "drop", "claim": claim, "status": status, "metric": metric, "measured": measured,
        "threshold": threshold, "metrics": {metric: measured}, "message": "", "reason": None, "detail": "",
        "model": model, "evidence": {"type": "none"}}]
    return {"id": rs.anchor(nodeid), "nodeid": nodeid, "title": (title or test) + (f" [{param}]" if param else ""),
            "severity": "major", "status": status, "claim": claim if checks else "", "metrics": {metric: measured},
            "threshold": threshold if checks else None, "message": "" if checks else "ValueError: bad input",
            "duration_s": 1.0, "checks": checks, **({"models": [model]} if model else {})}


def _leopards() -> dict:
    return rs.base_results([
        _audit("test_snow", "shortcut", "FAIL", 0.98, rs.FP, title="Snow is not driving 'leopard'"),
        _audit("test_snow", "robust", "PASS", 0.01, rs.FP2, title="Snow is not driving 'leopard'"),
        _audit("test_body", "shortcut", "ERROR", None, None),          # no model recorded: found by its param id
        _audit("test_body", "robust", "PASS", 0.9, rs.FP2, metric="region_only_prob"),
        _audit("test_regions", "a", "PASS", 0.1, rs.FP),               # two params, one model: not a comparison
        _audit("test_regions", "b", "FAIL", 0.5, rs.FP),
        _audit("test_single", "", "PASS", 0.1, rs.FP),                 # not parametrised
    ])


def test_split_nodeid():
    assert split_nodeid("a/t.py::test_x[shortcut-0.5]") == ("a/t.py::test_x", "shortcut-0.5")
    assert split_nodeid("a/t.py::TestC::test_x[p[1]]") == ("a/t.py::TestC::test_x", "p[1]")
    assert split_nodeid("a/t.py::test_x") == ("a/t.py::test_x", "")


def test_matrix_groups_audits_by_test_and_model():
    m = build_matrix(_leopards())
    assert [(c.label, c.fingerprint, c.passed, c.total) for c in m.columns] == [
        ("leopard_robust", rs.FP2, 2, 2), ("leopard_shortcut", rs.FP, 0, 2)]
    assert [(r.test, r.title, r.differs) for r in m.rows] == [
        (f"{FILE}::test_body", "test_body", True), (f"{FILE}::test_snow", "Snow is not driving 'leopard'", True)]
    body, snow = m.rows
    assert [[(c.status, c.metric, c.measured, c.param) for c in cell] for cell in snow.cells] == [
        [("PASS", "prob_drop", "0.01", "robust")], [("FAIL", "prob_drop", "0.98", "shortcut")]]
    # The ERROR audit used no model, yet sits under the shortcut model: other audits show what "shortcut" is.
    assert [[(c.status, c.measured) for c in cell] for cell in body.cells] == [[("PASS", "0.90")], [("ERROR", "—")]]
    assert snow.cells[1][0].anchor == rs.anchor(f"{FILE}::test_snow[shortcut]")


def test_no_matrix_without_a_test_on_two_models():
    res = rs.base_results([_audit("test_regions", "a", "PASS", 0.1, rs.FP), _audit("test_regions", "b", "FAIL", 0.5, rs.FP),
                           _audit("test_single", "", "PASS", 0.1, rs.FP2)])
    assert build_matrix(res) is None
    html = render_html(res)
    assert 'id="comparison"' not in html and 'href="#comparison"' not in html
    assert "### Model comparison" not in summary_markdown(res)


def test_models_known_only_by_param_id_and_extra_params_share_a_cell():
    res = rs.base_results([
        _audit("test_x", "v1", "ERROR", None, None), _audit("test_x", "v2", "ERROR", None, None),
        _audit("test_y", "shortcut-a", "FAIL", 0.9, rs.FP), _audit("test_y", "shortcut-b", "PASS", 0.1, rs.FP),
        _audit("test_y", "robust-a", "PASS", 0.0, rs.FP2),
    ])
    m = build_matrix(res)
    assert [c.label for c in m.columns] == ["leopard_robust", "leopard_shortcut", "v1", "v2"]
    x, y = m.rows
    assert [[c.param for c in cell] for cell in x.cells] == [[], [], ["v1"], ["v2"]]
    assert [[c.param for c in cell] for cell in y.cells] == [["robust-a"], ["shortcut-a", "shortcut-b"], [], []]
    html = render_html(res)
    section = html.split('id="comparison"', 1)[1].split("</section>", 1)[0]
    assert "[shortcut-a]" in section and "[shortcut-b]" in section and section.count("not run") == 4
    md = summary_markdown(res)
    assert "\\[shortcut-a\\]<br>" in md


def test_matrix_in_the_report_links_every_cell_to_its_card_and_escapes_names():
    res = _leopards()
    res["models"][rs.FP]["name"] = "<script>alert('m')</script>"
    res["audits"][0]["title"] = res["audits"][1]["title"] = "<b>snow</b> | sky"
    for a in res["audits"][:2]:
        a["title"] += f" [{split_nodeid(a['nodeid'])[1]}]"
    html = render_html(res)
    assert html.index('id="audits"') < html.index('id="comparison"') < html.index('id="evidence"')
    assert '<a href="#comparison">Model comparison</a>' in html
    section = html.split('id="comparison"', 1)[1].split("</section>", 1)[0]
    hrefs = re.findall(r'class="cmp-entry cmp-\w+" href="#([^"]+)"', section)
    assert len(hrefs) == 4 and all(f'id="{h}"' in html for h in hrefs)
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;m&#39;)&lt;/script&gt;" in section
    assert "&lt;b&gt;snow&lt;/b&gt; | sky" in section
    assert "2 of 2" in section and "0 of 2" in section and section.count("cmp-differs") == 2
    md = summary_markdown(res)
    assert "| Audit | \\<script\\>alert('m')\\</script\\> | leopard\\_robust |" in md  # columns sorted by name
    assert "| \\<b\\>snow\\</b\\> \\| sky | [**FAIL** prob\\_drop 0.98]" in md


def test_an_audit_comparing_the_models_is_linked_under_the_matrix():
    res = _leopards()
    html = render_html(res)
    section = html.split('id="comparison"', 1)[1].split("</section>", 1)[0]
    assert "Where the models differ" not in section and "audit.disagreement(models, data)" in section  # a hint
    both = _audit("test_agree", "", "FAIL", 0.667, rs.FP, metric="agreement", title="The models agree")
    both["models"], both["intended"] = [rs.FP, rs.FP2], "PASS"
    res["audits"].append(both)
    m = build_matrix(res)
    assert [(x.title, x.status, x.metric, x.measured, x.models, x.as_intended) for x in m.across] == [
        ("The models agree", "FAIL", "agreement", "0.67", ("leopard_shortcut", "leopard_robust"), False)]
    assert [r.function for r in m.rows] == ["test_body", "test_snow"]  # not a row of its own
    section = render_html(res).split('id="comparison"', 1)[1].split("</section>", 1)[0]
    across = section.split("Where the models differ", 1)[1]
    href = re.findall(r'class="cmp-entry cmp-fail" href="#([^"]+)"', across)
    assert href == [rs.anchor(both["nodeid"])] and "compares leopard_shortcut, leopard_robust" in across
    assert "unexpected: PASS intended" in across
    md = summary_markdown(res)
    assert (f"- Where the models differ: [**FAIL** agreement 0.67](index.html#{href[0]}) The models agree "
            "(leopard\\_shortcut, leopard\\_robust) (**unexpected**: PASS intended)") in md


def test_write_report_builds_the_matrix_once_for_the_page_and_the_summary(tmp_path, monkeypatch):
    from pytest_modelaudit.report import write

    built = []
    monkeypatch.setattr(write, "build_matrix", lambda results: built.append(build_matrix(results)) or built[-1])
    files = write.write_report(_leopards(), tmp_path, pdf=False)
    assert len(built) == 1 and files.comparison == (2, 2)
    assert (tmp_path / "summary.md").read_text() == summary_markdown(_leopards(), pdf_name=None)
    assert 'id="comparison"' in (tmp_path / "index.html").read_text()
    one_model = rs.base_results([_audit("test_single", "", "PASS", 0.1, rs.FP)])
    assert write.write_report(one_model, tmp_path / "one", pdf=False).comparison is None


def test_an_interrupted_run_never_reads_as_a_clean_pass():
    res = rs.base_results([_audit("test_snow", "robust", "PASS", 0.01, rs.FP2)])
    res["run"]["interrupted"] = True
    html = render_html(res)
    assert "Interrupted run: it was stopped before every audit finished" in html and "verdict-fail" in html
    assert summary_markdown(res).startswith("## Model audit: INTERRUPTED")


# --------------------------------------------------------------------------- ini list of model files

CANDIDATES = '''
import pytest


@pytest.mark.model_audit(title="The square drives 'square'")
def test_square_drives(audit, audit_model, squares):
    audit.gradcam(audit_model, squares, "square").expect_share(squares.masks, at_least=0.9, region_name="square")
'''

CANDIDATE_CONFTEST = '''
import sys
sys.path.insert(0, {tests_dir!r})
import pytest
from known_models import square_images


@pytest.fixture(scope="session")
def audit_model_options():
    return {{"classes": ["square", "none"]}}


@pytest.fixture
def squares():
    from pytest_modelaudit import ImageSet
    imgs, masks = square_images()
    return ImageSet.from_arrays(imgs, masks)
'''


@pytest.fixture
def candidates(pytester, request):
    (pytester.path / "models").mkdir()
    for kind in ("clean", "shortcut"):
        model_suites.detector(kind).save(pytester.path / "models" / f"square_{kind}.keras")
    pytester.makeconftest(CANDIDATE_CONFTEST.format(tests_dir=str(request.path.parent)))
    pytester.makepyfile(test_candidates=CANDIDATES)
    return pytester


def test_ini_model_list_parametrises_audit_model_and_gives_the_matrix(candidates):
    candidates.makeini("[pytest]\nmodel_audit_models =\n    models/square_clean.keras\n    models/square_shortcut.keras\n")
    result = candidates.runpytest("--model-audit", "--model-audit-no-pdf", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_square_drives?square_clean? PASSED*", "*test_square_drives?square_shortcut? FAILED*"])
    data = json.loads((candidates.path / "model-audit-report" / "results.json").read_text())
    assert sorted(m["name"] for m in data["models"].values()) == ["square_clean", "square_shortcut"]
    assert all(m["source"].endswith(f"models/{m['name']}.keras") for m in data["models"].values())
    m = build_matrix(data)
    assert [c.label for c in m.columns] == ["square_clean", "square_shortcut"]
    assert [[c.status for c in cell] for cell in m.rows[0].cells] == [["PASS"], ["FAIL"]]
    assert 'id="comparison"' in (candidates.path / "model-audit-report" / "index.html").read_text()


def test_ini_model_list_with_a_missing_file(candidates):
    candidates.makeini("[pytest]\nmodel_audit_models =\n    models/square_clean.keras\n    models/nope.keras\n")
    result = candidates.runpytest("--model-audit", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*model_audit_models: model file 'models/nope.keras' does not exist (looked for "
                                 f"{candidates.path}/models/nope.keras; relative paths are taken from the rootdir*"])
    # Audits off (the plain unit-test run): nothing is loaded, so a model fetched only for audits is not needed.
    result = candidates.runpytest("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*test_square_drives?nope? SKIPPED*"])


def test_audit_model_without_a_model_list_is_an_error_audit(candidates):
    result = candidates.runpytest("--model-audit", "--model-audit-no-pdf", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    (audit,) = json.loads((candidates.path / "model-audit-report" / "results.json").read_text())["audits"]
    assert audit["status"] == "ERROR" and "list them in ini model_audit_models" in audit["message"]
