"""audit.features: top-activating images, peak crops and activation maximisation on a hand-set conv model."""
from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

S = 16


def _model():
    """Conv2D with 2 hand-set 3x3 filters + ReLU, GAP, Dense head: channel 0 = redness (R - (G+B)/2),
    channel 1 = a dark-to-bright vertical edge (right column minus left column of the grey value)."""
    import keras

    inp = keras.Input((S, S, 3))
    conv = keras.layers.Conv2D(2, 3, padding="valid", activation="relu", name="conv")
    x = conv(inp)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    head = keras.layers.Dense(2, name="head")
    out = head(x)
    m = keras.Model(inp, out, name="handset")
    k = np.zeros((3, 3, 3, 2), np.float32)
    k[:, :, 0, 0] = 1 / 9
    k[:, :, 1, 0] = -0.5 / 9
    k[:, :, 2, 0] = -0.5 / 9
    k[:, 0, :, 1] = -1 / 9
    k[:, 2, :, 1] = 1 / 9
    conv.set_weights([k, np.zeros(2, np.float32)])
    head.set_weights([np.array([[4.0, 0.0], [0.0, 4.0]], np.float32), np.zeros(2, np.float32)])
    return m


def _images():
    """Red patches at known places, vertical edges at known columns, and grey images."""
    imgs, labels, names = [], [], []
    for i, (y, x) in enumerate([(2, 2), (8, 9), (3, 10)]):
        a = np.full((S, S, 3), 0.5, np.float32)
        a[y:y + 4, x:x + 4] = [1.0, 0.0, 0.0]
        imgs.append(a), labels.append("red"), names.append(f"red_{i}")
    for i, col in enumerate([5, 10]):
        a = np.zeros((S, S, 3), np.float32)
        a[:, col:] = 1.0
        imgs.append(a), labels.append("edge"), names.append(f"edge_{i}")
    for i in range(3):
        imgs.append(np.full((S, S, 3), 0.2 + 0.2 * i, np.float32)), labels.append("grey"), names.append(f"grey_{i}")
    return np.stack(imgs), labels, names


@pytest.fixture(scope="module")
def adapter():
    from pytest_modelaudit.core.model.adapter import ModelAdapter

    return ModelAdapter(_model(), classes=["red", "edge"], name="handset")


@pytest.fixture(scope="module")
def labelled():
    from pytest_modelaudit.core.data.images import ImageSet
    from pytest_modelaudit.core.data.labelled import LabelledSet

    x, labels, names = _images()
    return LabelledSet(ImageSet(x, names), labels)


def test_channel_top_images_and_peaks_known(adapter, labelled):
    from pytest_modelaudit.core.insight.features import top_features

    r = top_features(adapter, labelled, layer="conv", channels=[0, 1], top=3)
    red, edge = r.units
    assert [labelled.labels[t.index] for t in red.top] == ["red"] * 3
    assert [labelled.labels[t.index] for t in edge.top[:2]] == ["edge", "edge"]
    # the peak of the red channel lies inside the red patch of each top image
    patches = {"red_0": (2, 2), "red_1": (8, 9), "red_2": (3, 10)}
    for t in red.top:
        y, x = patches[t.name]
        assert y - 1 <= t.peak[0] <= y + 4 and x - 1 <= t.peak[1] <= x + 4, (t.name, t.peak)
        y0, x0, y1, x1 = t.box
        assert y0 < y + 4 and y < y1 and x0 < x + 4 and x < x1  # the crop overlaps the red patch
    # the edge channel peaks at the edge column
    cols = {"edge_0": 5, "edge_1": 10}
    for t in edge.top[:2]:
        assert abs(t.peak[1] - cols[t.name]) <= 2, (t.name, t.peak)
    assert r.grid == (S - 2, S - 2)


def test_class_target_uses_logit_and_gradcam_peak(adapter, labelled):
    from pytest_modelaudit.core.insight.features import top_features

    r = top_features(adapter, labelled, layer="conv", target=adapter.target("edge"), top=2)
    (u,) = r.units
    assert {labelled.labels[t.index] for t in u.top} == {"edge"}
    for t in u.top:
        assert abs(t.peak[1] - {"edge_0": 5, "edge_1": 10}[t.name]) <= 2


def test_errors(adapter, labelled):
    from pytest_modelaudit.core.insight.features import top_features
    from pytest_modelaudit.errors import ModelAuditError

    with pytest.raises(ModelAuditError, match="exactly one"):
        top_features(adapter, labelled, layer="conv")
    with pytest.raises(ModelAuditError, match="out of range"):
        top_features(adapter, labelled, layer="conv", channels=[5])


def test_maximisation_redder_and_deterministic(adapter):
    from pytest_modelaudit.core.insight.maximise import maximise

    a = maximise(adapter, [0, 1], layer="conv", seed=7)
    redness = lambda im: float(im[..., 0].mean() - im[..., 1:].mean())  # noqa: E731
    assert redness(a.images[0]) > redness(a.start[0]) + 0.1
    assert redness(a.images[0]) > redness(a.images[1])
    import pytest_modelaudit.core.insight.maximise as mx

    real_cached = mx.cached
    try:
        mx.cached = lambda kind, parts, compute: compute()  # recompute, not a cache hit
        b = mx.maximise(adapter, [0, 1], layer="conv", seed=7)
        c = mx.maximise(adapter, [0, 1], layer="conv", seed=8)
    finally:
        mx.cached = real_cached
    np.testing.assert_array_equal(a.images, b.images)
    assert not np.array_equal(a.images, c.images)


def _audit():
    from pytest_modelaudit.plugin.audit import Audit
    from pytest_modelaudit.plugin.options import Settings

    return Audit("tests/test_features.py::x", Settings(enabled=True, report_dir=Path("/tmp/features-x"), pdf=False,
                                                           seed=0, inconclusive="fail"))


def test_expect_top_images_pass_fail_inconclusive(adapter, labelled):
    from pytest_modelaudit.core.checks.verdicts import Status
    from pytest_modelaudit.errors import AuditFailure, AuditInconclusive, ModelAuditError

    audit = _audit()
    fa = audit.features(adapter, labelled, layer="conv", channels=[0], top=3, maximise=False)
    assert fa.expect_top_images(of="red", at_least=0.9).status is Status.PASS
    with pytest.raises(AuditFailure):
        fa.expect_top_images(of="edge", at_least=0.5)
    only_red = type(labelled)(type(labelled.images)(labelled.images.images[:3], labelled.images.names[:3]), ["red"] * 3)
    fb = audit.features(adapter, only_red, layer="conv", channels=[0], top=2, maximise=False)
    with pytest.raises(AuditInconclusive):
        fb.expect_top_images(of="red", at_least=0.5)
    fc = audit.features(adapter, labelled.images, layer="conv", channels=[0], maximise=False)
    with pytest.raises(ModelAuditError, match="labelled"):
        fc.expect_top_images(of="red", at_least=0.5)


def test_record_json_has_thumbnails_and_illustrative(adapter, labelled):
    audit = _audit()
    fa = audit.features(adapter, labelled, layer="conv", channels=[0, 1], top=3)
    fa.expect_top_images(of="red", at_least=0.0)
    ev = audit.checks[-1].evidence.to_json()
    json.dumps(ev)
    assert ev["type"] == "features" and len(ev["units"]) == 2
    assert ev["units"][0]["top"][0]["image"].startswith("data:image/")
    assert ev["units"][0]["top"][0]["crop"].startswith("data:image/")
    assert ev["maximised"]["illustrative"] == "illustrative: synthetic input, not evidence"
    assert len(ev["maximised"]["images"]) == 2


def test_report_renders_features_and_survives_malformed(adapter, labelled):
    from pytest_modelaudit.report.views.common import ImageBudget
    from pytest_modelaudit.report.views.evidence_features import view

    audit = _audit()
    fa = audit.features(adapter, labelled, layer="conv", channels=[0], top=3)
    fa.expect_top_images(of="red", at_least=0.5)
    ev = json.loads(json.dumps(audit.checks[-1].evidence.to_json()))
    v = view(ev, ImageBudget())
    assert v["template"] == "evidence_features.html.j2" and v["units"][0]["top"]
    for bad in ({"type": "features"}, {"type": "features", "units": "x", "maximised": 3},
                {"type": "features", "units": [{"top": [None, {"image": 5}]}]}):
        view(bad, ImageBudget())


CONFTEST = '''
import sys
sys.path.insert(0, {tests_dir!r})
import pytest
from test_features import _model, _images

@pytest.fixture(scope="session")
def handset():
    from pytest_modelaudit import load_model
    return load_model(_model(), classes=["red", "edge"], name="handset")

@pytest.fixture
def coloured():
    from pytest_modelaudit.core.data.images import ImageSet
    from pytest_modelaudit.core.data.labelled import LabelledSet
    x, labels, names = _images()
    return LabelledSet(ImageSet(x, names), labels)
'''

AUDITS = '''
import pytest

@pytest.mark.model_audit(title="Channel 0 looks for red", severity="major")
def test_red_channel(audit, handset, coloured):
    audit.features(handset, coloured, layer="conv", channels=[0], top=3).expect_top_images(of="red", at_least=0.9)

@pytest.mark.model_audit(title="Channel 0 looks for edges", severity="minor")
def test_red_channel_is_edge(audit, handset, coloured):
    audit.features(handset, coloured, layer="conv", channels=[0], top=3).expect_top_images(of="edge", at_least=0.5)
'''


def test_plugin_records_features_and_feature_maps_and_report_renders(pytester, request):
    from pytest_modelaudit.report import render_html

    pytester.makeconftest(CONFTEST.format(tests_dir=str(request.path.parent)))
    pytester.makepyfile(test_audits=AUDITS)
    result = pytester.runpytest("--model-audit", "-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    res = json.loads((pytester.path / "model-audit-report" / "results.json").read_text())
    by = {a["nodeid"].split("::")[-1]: a for a in res["audits"]}
    assert by["test_red_channel"]["status"] == "PASS" and by["test_red_channel_is_edge"]["status"] == "FAIL"
    ev = by["test_red_channel"]["checks"][0]["evidence"]
    assert ev["type"] == "features" and ev["units"][0]["share"] == 1.0
    assert ev["maximised"]["illustrative"].startswith("illustrative")
    (model,) = res["models"].values()
    fm = model["feature_maps"]
    assert [s["path"] for s in fm["stages"]] == ["conv"] and len(fm["stages"][0]["channels"]) == 2
    html = render_html(res)
    assert "illustrative: synthetic input, not evidence" in html
    assert "Feature maps (1 stages)" in html and "red_0" in html
    # malformed evidence and panel do not crash the report
    bad = copy.deepcopy(res)
    bad["audits"][0]["checks"][0]["evidence"] = {"type": "features", "units": [{"top": "x"}], "maximised": [1]}
    next(iter(bad["models"].values()))["feature_maps"] = {"stages": [None, {"channels": "x"}]}
    render_html(bad)
