"""Baselines: file paths, atomic writes, bad files, expect_stable verdicts, policies, CI refusal, prune, report."""
import json
import os
from dataclasses import replace

import numpy as np
import pytest

from pytest_modelaudit.plugin.baselines import (BaselineError, Drift, baseline_block, baseline_path, load_baseline,
                                         write_baseline)
from pytest_modelaudit.plugin.options import Settings

# ------------------------------------------------------------------------------------------------ store


def test_baseline_paths_are_readable_and_unique(tmp_path):
    assert baseline_path(tmp_path, "tests/audits/test_leopard.py::test_snow[shortcut]") == \
        tmp_path / "tests" / "audits" / "test_leopard" / "test_snow[shortcut].json"
    assert baseline_path(tmp_path, "test_a.py::TestX::test_y") == tmp_path / "test_a" / "TestX.test_y.json"
    odd = baseline_path(tmp_path, "test_a.py::test_y[a/b c]")
    assert odd.parent == tmp_path / "test_a" and odd.name.startswith("test_y[a_b_c]-") and odd.suffix == ".json"
    # replaced characters never make two tests share a file; '..' never climbs out of the folder
    assert odd != baseline_path(tmp_path, "test_a.py::test_y[a_b_c]")
    assert tmp_path in baseline_path(tmp_path, "../up/test_b.py::test_z").parents
    long = baseline_path(tmp_path, "test_a.py::test_y[" + "x" * 300 + "]")
    assert len(long.name) < 120 and long != baseline_path(tmp_path, "test_a.py::test_y[" + "x" * 301 + "]")


def _payload(nodeid, metrics=None):
    return {"baseline_version": 1, "nodeid": nodeid, "written_at": "2026-01-01T00:00:00+00:00",
            "written_by": {}, "models": {"abc": "net"}, "metrics": metrics or {"share.share": 0.5}}


def test_bad_files_are_named_with_the_fix(tmp_path):
    path = tmp_path / "t.json"
    assert load_baseline(path, "t.py::t").status == "missing"
    cases = {
        '{"baseline_version": 1, "nodeid": ': "is not valid JSON (Expecting value at line 1 column 35)",
        "[1, 2]": "does not hold a JSON object",
        json.dumps({**_payload("t.py::t"), "baseline_version": 9}): "newer pytest-modelaudit (baseline_version 9",
        json.dumps(_payload("t.py::other")): "belongs to test 't.py::other', not 't.py::t'",
        json.dumps({**_payload("t.py::t"), "metrics": {"share": "high"}}): "no 'metrics' object mapping names to numbers",
    }
    for text, problem in cases.items():
        path.write_text(text)
        loaded = load_baseline(path, "t.py::t")
        assert loaded.status == "invalid" and problem in loaded.error, loaded.error
        assert str(path) in loaded.error
        assert "delete it or re-run with pytest --model-audit --model-audit-update-baselines" in loaded.error


def test_write_is_atomic_and_round_trips(tmp_path, monkeypatch):
    path = tmp_path / "deep" / "t.json"
    write_baseline(path, _payload("t.py::t"))
    loaded = load_baseline(path, "t.py::t")
    assert loaded.status == "found" and loaded.data["metrics"] == {"share.share": 0.5}

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_baseline(path, _payload("t.py::t", {"share.share": 0.9}))
    assert load_baseline(path, "t.py::t").data["metrics"] == {"share.share": 0.5}  # the old file is intact
    assert [p.name for p in path.parent.iterdir()] == ["t.json"]  # no temporary left behind


def test_drift_against_tolerance():
    assert Drift("m", 0.50, 0.54, True, 0.05).beyond is False
    assert Drift("m", 0.50, 0.56, True, 0.05).beyond is True
    assert Drift("m", 10.0, 10.9, True, 0.05, 0.1).beyond is False  # 0.9 <= 0.05 + 0.1 * 10
    assert Drift("m", None, 0.5, False, 0.05).beyond is None  # not in the baseline: cannot be compared
    assert Drift("m", 0.5, None, True, 0.05).beyond is None  # undefined now
    assert Drift("m", None, None, True, 0.05).beyond is False  # undefined then and now
    assert Drift("m", 0.5, 0.9, True).beyond is None  # no tolerance asked: shown, not judged
    assert Drift("m", 0.5, 0.9, True).delta == pytest.approx(0.4)


# ------------------------------------------------------------------------------------ expect_stable in-process


def _settings(tmp_path, **kw):
    return replace(Settings(True, tmp_path / "report", False, 0, "fail"), baseline_dir=tmp_path / "bl", **kw)


def _audit(settings, nodeid="test_t.py::test_t"):
    from pytest_modelaudit.plugin.audit import Audit

    return Audit(nodeid, settings)


def test_expect_stable_usage_errors(tmp_path, square_net, squares):
    from pytest_modelaudit import ModelAuditError

    imgs, masks = squares
    no_dir = replace(_settings(tmp_path), baseline_dir=None)
    cam = _audit(no_dir).gradcam(square_net, imgs, "square")
    cam.expect_share(masks, at_least=0.5)
    with pytest.raises(BaselineError, match="expect_stable needs a baseline folder: pass --model-audit-baseline-dir"):
        cam.expect_stable()
    audit = _audit(_settings(tmp_path))
    cam = audit.gradcam(square_net, imgs, "square")
    with pytest.raises(ModelAuditError, match=r"call expect_share\(...\) or expect_lift\(...\) first"):
        cam.expect_stable()
    cam.expect_share(masks, at_least=0.5)
    with pytest.raises(ModelAuditError, match="has no metric 'sahre'; its metrics are 'share.share', 'share.lift'"):
        cam.expect_stable(metrics=["sahre"])
    with pytest.raises(ModelAuditError, match="atol must be a finite number >= 0"):
        cam.expect_stable(atol=-1)


def test_expect_stable_create_compare_and_drift(tmp_path, square_net, squares):
    from pytest_modelaudit import AuditFailure, Status

    imgs, masks = squares
    update = _settings(tmp_path, update_baselines=True)
    audit = _audit(update)
    cam = audit.gradcam(square_net, imgs, "square")
    cam.expect_share(masks, at_least=0.5)
    abl = audit.ablation(square_net, imgs, "square", masks)
    for ev in (cam, abl):
        check = ev.expect_stable()
        assert check.status is Status.INCONCLUSIVE and "this run (--model-audit-update-baselines) writes it" in check.reason
    block = baseline_block(audit, "INCONCLUSIVE")
    assert block["status"] == "created" and block["fingerprint"] == {"baseline": None, "now": [square_net.fingerprint]}
    stored = json.loads(baseline_path(tmp_path / "bl", "test_t.py::test_t").read_text())
    assert stored["nodeid"] == "test_t.py::test_t" and stored["models"] == {square_net.fingerprint: square_net.name}
    assert stored["metrics"]["share.share"] == pytest.approx(1.0)
    # an ablation without checks is compared on its own numbers: every fill's mean drop, logit drop and region-only P
    assert stored["metrics"]["ablation.prob_drop[mean]"] == pytest.approx(0.98, abs=0.01)
    assert {"ablation.logit_drop[blur]", "ablation.region_only_prob[shuffle]"} <= set(stored["metrics"])

    audit = _audit(_settings(tmp_path))
    cam = audit.gradcam(square_net, imgs, "square")
    cam.expect_share(masks, at_least=0.5)
    check = cam.expect_stable(atol=0.01)
    assert check.status is Status.PASS and check.measured == pytest.approx(0.0, abs=1e-6)
    assert "metric(s) compared with" in check.detail
    compared = [k for k in audit.checks[0].metrics if k not in ("images", "excluded_images")]  # counts: shown only
    assert audit.checks[-1].metrics == {"metrics_compared": float(len(compared))} and "share" in compared
    assert audit.ablation(square_net, imgs, "square", masks).expect_stable().status is Status.PASS
    block = baseline_block(audit, "PASS")
    assert block["status"] == "compared" and block["metrics"]["share.share"]["delta"] == pytest.approx(0.0)
    assert block["metrics"]["share.share"]["atol"] == 0.01 and block["metrics"]["share.share"]["beyond"] is False
    assert block["metrics"]["share.images"]["beyond"] is None  # recorded and shown, not compared

    # a metric the baseline has no value for is a missing baseline, never a silent pass
    file = baseline_path(tmp_path / "bl", "test_t.py::test_t")
    data = json.loads(file.read_text())
    file.write_text(json.dumps({**data, "metrics": {**data["metrics"], "share.lift": None}}))
    cam = _audit(_settings(tmp_path)).gradcam(square_net, imgs, "square")
    cam.expect_share(masks, at_least=0.5)
    with pytest.raises(BaselineError, match=r"has no value for share.lift; run pytest --model-audit "
                                            r"--model-audit-update-baselines to record it"):
        cam.expect_stable()
    file.write_text(json.dumps(data))

    # the same claim on a region shifted by one feature cell: the share halves
    shifted = np.roll(masks, 2, axis=2)
    audit = _audit(_settings(tmp_path))
    cam = audit.gradcam(square_net, imgs, "square")
    cam.expect_share(shifted, at_least=0.1)
    assert cam.expect_stable(metrics="share", atol=0.6).status is Status.PASS  # only 'share', within 0.6
    with pytest.raises(AuditFailure) as err:
        cam.expect_stable(atol=0.05)
    text = str(err.value)
    assert "beyond tolerance: share.share: 1 -> 0.5 (change -0.5)" in text and "threshold: max_abs_change ≤ 0.05" in text
    block = baseline_block(audit, "FAIL")
    assert block["metrics"]["share.share"]["beyond"] is True and block["metrics"]["share.share"]["delta"] == pytest.approx(-0.5)


@pytest.mark.filterwarnings("ignore:Concept folder")
def test_tcav_is_compared_on_its_checks_or_its_own_scores(tmp_path):
    from concept_data import make_root, red_pixel_model

    from pytest_modelaudit import Status, load_model

    root = make_root(tmp_path / "concepts")
    net = load_model(red_pixel_model(), classes=["red_class", "other"])
    settings = replace(_settings(tmp_path, missing_baseline="create"), concepts=root)
    audit = _audit(settings)
    depends = audit.tcav(net, "red_class", "red", layers="feat")
    depends.expect_depends()
    assert depends.expect_stable().status is Status.INCONCLUSIVE  # created by policy: nothing compared yet
    audit.tcav(net, "red_class", "blue", layers="feat").expect_stable()
    assert baseline_block(audit, "PASS")["status"] == "created"
    stored = json.loads(baseline_path(tmp_path / "bl", "test_t.py::test_t").read_text())["metrics"]
    assert stored["tcav_depends.tcav[feat]"] == pytest.approx(0.4, abs=0.01)  # 12 of 30 targets have red pixels
    assert "tcav.tcav[feat]" in stored and "tcav.random[feat]" in stored and "tcav.cav_acc[feat]" in stored

    audit = _audit(settings)
    depends = audit.tcav(net, "red_class", "red", layers="feat")
    depends.expect_depends()
    check = depends.expect_stable(atol=1e-9)
    assert check.status is Status.PASS  # same seed, same numbers
    assert audit.checks[-1].metrics["metrics_compared"] == len([k for k in stored if k.startswith("tcav_depends.")
                                                                and ".p_adj[" not in k])


# ------------------------------------------------------------------------------------------------ pytester

CONFTEST = '''
import sys
sys.path.insert(0, {tests_dir!r})
from pathlib import Path
import numpy as np
import pytest
from known_models import square_images, square_model

@pytest.fixture
def setup():
    """The square detector; bias.txt, when present, replaces the detector's bias (a new model version)."""
    from pytest_modelaudit import ImageSet, load_model
    model = square_model()
    bias = Path(__file__).with_name("bias.txt")
    if bias.exists():
        detect = model.get_layer("detect")
        detect.set_weights([detect.get_weights()[0], np.array([float(bias.read_text())], np.float32)])
    imgs, masks = square_images()
    return load_model(model, classes=["square", "none"], name="square"), ImageSet.from_arrays(imgs, masks)
'''

AUDITS = '''
def test_cam(audit, setup):
    net, sq = setup
    cam = audit.gradcam(net, sq, "square")
    cam.expect_share(sq.masks, at_least=0.5, region_name="square")
    cam.expect_stable(atol=0.05)

def test_ablation(audit, setup):
    net, sq = setup
    audit.ablation(net, sq, "square", sq.masks, region_name="square").expect_stable(atol=0.05)

def test_recorded_only(audit, setup):
    net, sq = setup
    audit.gradcam(net, sq, "square").expect_lift(sq.masks, at_least=1.0, region_name="square")
'''


@pytest.fixture
def suite(pytester, request, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    pytester.makeconftest(CONFTEST.format(tests_dir=str(request.path.parent)))
    return pytester


def _run(pytester, *args):
    return pytester.runpytest("-p", "no:cacheprovider", "--model-audit", "--model-audit-no-pdf", *args)


def _audits(pytester):
    data = json.loads((pytester.path / "model-audit-report" / "results.json").read_text())
    return {a["nodeid"].split("::")[1]: a for a in data["audits"]}


def test_create_compare_drift_and_update(suite):
    suite.makepyfile(test_audits=AUDITS)
    bl = ["--model-audit-baseline-dir=bl"]
    result = _run(suite, *bl, "--model-audit-update-baselines")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["model-audit: on, *baselines=*bl (missing=fail, update)*", "baselines: 3 created"])
    files = sorted(p.relative_to(suite.path).as_posix() for p in (suite.path / "bl").rglob("*.json"))
    assert files == ["bl/test_audits/test_ablation.json", "bl/test_audits/test_cam.json",
                     "bl/test_audits/test_recorded_only.json"]
    audits = _audits(suite)
    assert audits["test_cam"]["checks"][-1]["kind"] == "stable"
    assert audits["test_cam"]["checks"][-1]["status"] == "INCONCLUSIVE"  # created: stability was not checked

    result = _run(suite, *bl)
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["baselines: 3 compared"])
    audits = _audits(suite)
    assert {a["status"] for a in audits.values()} == {"PASS"}
    cam = audits["test_cam"]["baseline"]
    assert cam["status"] == "compared" and cam["path"] == "bl/test_audits/test_cam.json"
    assert cam["metrics"]["share.share"] == {"baseline": 1.0, "now": 1.0, "delta": 0.0, "atol": 0.05, "rtol": 0.0,
                                             "beyond": False, "in_baseline": True}

    (suite.path / "bias.txt").write_text("-0.5")  # the detector now fires on the background too
    result = _run(suite, *bl)
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines([
        "*AuditFailure: FAIL: The metrics of the Grad-CAM evidence for 'square' stay within atol 0.05 of the baseline",
        "*beyond tolerance: share.share: 1 -> 0.625 (change -0.375)*the model changed since the baseline*",
        "baselines: 3 compared; 2 beyond tolerance",
    ])
    audits = _audits(suite)
    cam = audits["test_cam"]["baseline"]
    assert cam["metrics"]["share.share"]["delta"] == pytest.approx(-0.375) and cam["metrics"]["share.share"]["beyond"]
    assert cam["fingerprint"]["baseline"] != cam["fingerprint"]["now"]
    assert audits["test_ablation"]["status"] == "FAIL"
    assert audits["test_ablation"]["baseline"]["metrics"]["ablation.prob_drop[mean]"]["now"] == pytest.approx(0.0, abs=0.01)
    only = audits["test_recorded_only"]  # no expect_stable: passes, and the report still shows the drift
    assert only["status"] == "PASS" and only["baseline"]["metrics"]["lift.lift"]["delta"] == pytest.approx(-6.0)
    assert only["baseline"]["metrics"]["lift.lift"]["beyond"] is None
    html = (suite.path / "model-audit-report" / "index.html").read_text()
    assert "beyond tolerance" in html and cam["fingerprint"]["baseline"][0] in html and "(changed)" in html

    result = _run(suite, *bl, "--model-audit-update-baselines")  # accept the new model: drift still fails once
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*this run rewrites the baseline with the new values: re-run to check against them*",
                                 "baselines: 3 updated; 2 beyond tolerance"])
    result = _run(suite, *bl)
    result.assert_outcomes(passed=3)
    assert _audits(suite)["test_cam"]["baseline"]["metrics"]["share.share"]["baseline"] == pytest.approx(0.625)


POLICY_AUDITS = '''
def test_new(audit, setup):
    net, sq = setup
    audit.ablation(net, sq, "square", sq.masks).expect_stable()

def test_corrupt(audit, setup):
    net, sq = setup
    audit.ablation(net, sq, "square", sq.masks).expect_stable()

def test_fine(audit, setup):
    net, sq = setup
    audit.ablation(net, sq, "square", sq.masks).expect_drop(at_least=0.5)
'''


def test_missing_policies_and_a_corrupt_file(suite):
    suite.makepyfile(test_pol=POLICY_AUDITS)
    corrupt = suite.path / "bl" / "test_pol" / "test_corrupt.json"
    corrupt.parent.mkdir(parents=True)
    corrupt.write_text('{"baseline_version": 1,\n "metrics": {"drop": 0.5,}}')
    new = suite.path / "bl" / "test_pol" / "test_new.json"

    result = _run(suite, "--model-audit-baseline-dir=bl")  # default policy: fail
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines([
        "*BaselineError: no baseline at bl/test_pol/test_new.json; run pytest --model-audit "
        "--model-audit-update-baselines to create it (or set --model-audit-missing-baseline=warn|create)",
        "*BaselineError: baseline file */bl/test_pol/test_corrupt.json is not valid JSON (Expecting property name "
        "enclosed in double quotes at line 2 column 26); delete it or re-run with pytest --model-audit "
        "--model-audit-update-baselines to regenerate it",
        "baselines: 2 missing, 1 invalid",
    ])
    audits = _audits(suite)  # the report is written, the other audit is unaffected
    assert audits["test_fine"]["status"] == "PASS" and audits["test_fine"]["baseline"]["status"] == "missing"
    assert audits["test_new"]["status"] == "ERROR" and audits["test_new"]["baseline"]["status"] == "missing"
    assert audits["test_corrupt"]["baseline"]["status"] == "invalid"
    assert "not valid JSON" in audits["test_corrupt"]["baseline"]["error"]

    suite.makeini("[pytest]\nmodel_audit_baseline_dir = bl\nmodel_audit_missing_baseline = warn\n")
    result = _run(suite)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*BaselineWarning: test_pol.py::test_new: no baseline at bl/test_pol/test_new.json "
                                 "(missing-baseline policy 'warn'); run pytest --model-audit "
                                 "--model-audit-update-baselines to record it"])
    audits = _audits(suite)
    assert audits["test_new"]["status"] == "INCONCLUSIVE"  # warn never turns into a PASS of the stability claim
    assert not new.exists()

    result = _run(suite, "--model-audit-missing-baseline=create")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["baselines: 2 created, 1 invalid"])
    assert new.exists() and corrupt.read_text().startswith('{"baseline_version": 1,\n')  # create never overwrites
    assert "created by this run" in _audits(suite)["test_new"]["checks"][-1]["reason"]

    result = _run(suite, "--model-audit-missing-baseline=fail", "-k", "new")
    result.assert_outcomes(passed=1, deselected=2)


def test_update_is_refused_on_ci_unless_allowed(pytester, monkeypatch):
    pytester.makepyfile("def test_plain():\n    pass\n")
    monkeypatch.setenv("CI", "true")
    result = _run(pytester, "--model-audit-baseline-dir=bl", "--model-audit-update-baselines")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--model-audit-update-baselines is refused on CI (CI=true)*Update them locally and "
                                 "commit the files, or pass --model-audit-allow-ci-update*"])
    _run(pytester, "--model-audit-baseline-dir=bl", "--model-audit-update-baselines",
         "--model-audit-allow-ci-update").assert_outcomes(passed=1)
    pytester.makeini("[pytest]\nmodel_audit_baseline_dir = bl\nmodel_audit_update_baselines = true\n"
                     "model_audit_allow_ci_update = true\n")
    result = _run(pytester)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["model-audit: on, *baselines=*bl (missing=fail, update)*"])
    monkeypatch.delenv("CI")
    pytester.makeini("[pytest]\nmodel_audit_missing_baseline = maybe\n")
    result = _run(pytester)
    result.stderr.fnmatch_lines(["*model_audit_missing_baseline must be one of fail, warn, create, got 'maybe'"])
    result = _run(pytester, "--model-audit-prune-baselines", "--model-audit-missing-baseline=warn")
    result.stderr.fnmatch_lines(["*--model-audit-prune-baselines needs a baseline folder: pass "
                                 "--model-audit-baseline-dir=DIR*"])


PRUNE_A = '''
import pytest

def test_keep():
    pass

@pytest.mark.parametrize("p", [1])
def test_p(p):
    pass
'''


def _store(root, *nodeids):
    for nodeid in nodeids:
        write_baseline(baseline_path(root, nodeid), _payload(nodeid))


def _left(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_prune_deletes_only_orphans_of_the_collected_scope(pytester):
    pytester.makepyfile(test_a=PRUNE_A, test_b="def test_x():\n    pass\n")
    root = pytester.path / "bl"
    _store(root, "test_a.py::test_keep", "test_a.py::test_gone", "test_a.py::test_p[1]", "test_a.py::test_p[2]",
           "test_b.py::test_x", "test_b.py::test_old", "test_deleted.py::test_y")
    (root / "notes.txt").write_text("not a baseline")
    (root / "test_a" / "broken.json").write_text("{")
    prune = ["--model-audit-baseline-dir=bl", "--model-audit-prune-baselines"]

    result = _run(pytester, *prune, "test_a.py", "-k", "keep")  # a subset: test_b and test_deleted are out of scope
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(["baseline prune: deleted 2 orphaned baseline(s)", "  deleted bl/test_a/test_gone.json",
                                 "  deleted bl/test_a/test_p[2].json", "  left alone (unreadable): bl/test_a/broken.json"])
    assert _left(root) == ["notes.txt", "test_a/broken.json", "test_a/test_keep.json", "test_a/test_p[1].json",
                           "test_b/test_old.json", "test_b/test_x.json", "test_deleted/test_y.json"]

    _run(pytester, "--model-audit-baseline-dir=bl", "test_b.py::test_x").assert_outcomes(passed=1)  # no flag: no pruning
    assert (root / "test_b" / "test_old.json").exists()
    _run(pytester, *prune, "test_b.py::test_x").assert_outcomes(passed=1)  # a node id: only that test is in scope
    assert (root / "test_b" / "test_old.json").exists()

    pytester.makepyfile(test_c="def test_broken(:\n")
    result = _run(pytester, *prune)
    result.stdout.fnmatch_lines(["baseline prune: nothing pruned: collection errors in test_c.py"])
    assert (root / "test_deleted" / "test_y.json").exists()
    (pytester.path / "test_c.py").unlink()

    result = _run(pytester, *prune)  # the whole folder: the deleted module's baseline goes too
    result.assert_outcomes(passed=3)
    assert _left(root) == ["notes.txt", "test_a/broken.json", "test_a/test_keep.json", "test_a/test_p[1].json",
                           "test_b/test_x.json"]


XDIST_AUDITS = '''
import pytest

@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_drop(audit, setup, n):
    net, sq = setup
    audit.ablation(net, sq, "square", sq.masks).expect_drop(at_least=0.5)
'''


@pytest.mark.slow
def test_xdist_workers_write_their_own_files_and_prune_sees_their_collection(suite):
    pytest.importorskip("xdist")
    suite.makepyfile(test_par=XDIST_AUDITS)
    root = suite.path / "bl"
    _store(root, "test_par.py::test_drop[5]", "test_par.py::test_drop[1]")
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", "--model-audit", "--model-audit-no-pdf", "-n", "2",
                                        "--model-audit-baseline-dir=bl", "--model-audit-update-baselines",
                                        "--model-audit-prune-baselines")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["baselines: 3 created, 1 updated", "baseline prune: deleted 1 orphaned baseline(s)",
                                 "  deleted bl/test_par/test_drop[5].json"])
    assert _left(root) == [f"test_par/test_drop[{n}].json" for n in (1, 2, 3, 4)]
    for n in (1, 2, 3, 4):
        data = load_baseline(root / "test_par" / f"test_drop[{n}].json", f"test_par.py::test_drop[{n}]")
        assert data.status == "found" and data.data["metrics"]["drop.prob_drop"] == pytest.approx(0.98, abs=0.01)


# ------------------------------------------------------------------------------------------------ report


def test_report_shows_drift_fingerprints_and_problems():
    from report_samples import sample_results

    from pytest_modelaudit.report.render import render_html

    results = sample_results()
    first, second, third = results["audits"][:3]
    first["baseline"] = {
        "path": "bl/test_leopard/test_snow.json", "status": "compared", "written_at": "2026-01-02T03:04:05+00:00",
        "fingerprint": {"baseline": ["aaaa1111bbbb2222"], "now": ["cccc3333dddd4444"]},
        "versions": {"baseline": {"pytest_modelaudit": "0.0.9"}, "now": {}},
        "notes": ["the model changed since the baseline; compared anyway"], "error": None,
        "metrics": {
            "share.share": {"baseline": 0.30, "now": 0.71, "delta": 0.41, "atol": 0.05, "rtol": 0.0, "beyond": True,
                            "in_baseline": True},
            "share.lift": {"baseline": 1.2, "now": 1.21, "delta": 0.01, "atol": 0.05, "rtol": 0.0, "beyond": False,
                           "in_baseline": True},
            "share.<b>new</b>": {"baseline": None, "now": 0.5, "delta": None, "atol": None, "rtol": None,
                                 "beyond": None, "in_baseline": False},
        },
    }
    second["baseline"] = {"path": "bl/x.json", "status": "invalid", "error": "baseline file bl/x.json is not valid JSON",
                          "metrics": {}, "fingerprint": {}}
    third["baseline"] = "garbage"
    html = render_html(results)
    assert "could not be shown" not in html and "Traceback" not in html
    part = html[html.index("bl/test_leopard/test_snow.json") - 2000:]
    assert "1 beyond tolerance" in part and "+0.410" in part and "0.710" in part and "±0.05" in part
    assert "aaaa1111bbbb2222" in part and "cccc3333dddd4444" in part and "(changed)" in part
    assert "pytest_modelaudit 0.0.9" in part and "not in baseline" in part and "not checked" in part
    assert "&lt;b&gt;new&lt;/b&gt;" in part and "<b>new</b>" not in html
    assert "baseline file bl/x.json is not valid JSON" in html
