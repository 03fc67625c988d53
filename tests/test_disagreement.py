"""audit.disagreement on two hand-set models: one decides by the left half's redness, the other by the right
half's, so the images they disagree on, the agreement rate and where each Grad-CAM lies are known."""
from __future__ import annotations

import json

import numpy as np
import pytest

from pytest_modelaudit.core.checks.verdicts import Status
from pytest_modelaudit.core.insight.disagreement import agreement_check, disagreement
from pytest_modelaudit.errors import ModelAuditError
from pytest_modelaudit.report import render_html

import report_samples as rs

SIZE = 8


def half_model(side: str, name: str):
    """'red' (class 0) when the mean red of the `side` half is above 0.5; 'plain' otherwise."""
    import keras

    from pytest_modelaudit import load_model

    mask = np.zeros((1, SIZE, SIZE, 1), np.float32)
    if side == "left":
        mask[:, :, : SIZE // 2] = 1
    else:
        mask[:, :, SIZE // 2:] = 1

    class Half(keras.layers.Layer):
        """Keeps one half: the mask is a (non-trainable) weight, so it is part of the model's fingerprint."""

        def build(self, shape):
            self.mask = self.add_weight(shape=mask.shape[1:], initializer="zeros", trainable=False)

        def call(self, x):
            return x * self.mask

    inp = keras.Input((SIZE, SIZE, 3))
    red = keras.layers.Conv2D(1, 1, name="redness")(inp)
    pooled = keras.layers.GlobalAveragePooling2D()(Half()(red))
    out = keras.layers.Dense(2, name="head")(pooled)
    model = keras.Model(inp, out, name=name)
    model.layers[2].set_weights([mask[0]])
    model.get_layer("redness").set_weights([np.array([1, 0, 0], np.float32).reshape(1, 1, 3, 1), np.zeros(1, np.float32)])
    # pooled = meanR(half) / 2: logit_red - logit_plain = 8 * pooled - 2, positive when meanR(half) > 0.5
    model.get_layer("head").set_weights([np.array([[4, -4]], np.float32), np.array([-1, 1], np.float32)])
    return load_model(model, classes=["red", "plain"], name=name)


def scenes():
    """12 images: (left red, right red) in each of the 4 combinations, 3 times."""
    images, combos = [], []
    for lr in (0.8, 0.2):
        for rr in (0.8, 0.2):
            for _ in range(3):
                im = np.full((SIZE, SIZE, 3), 0.1, np.float32)
                im[:, : SIZE // 2, 0], im[:, SIZE // 2:, 0] = lr, rr
                images.append(im)
                combos.append((lr, rr))
    return np.stack(images), combos


@pytest.fixture(scope="module")
def pair():
    return half_model("left", "left_eye"), half_model("right", "right_eye")


def test_agreement_ranking_and_where_each_model_looks(pair):
    images, combos = scenes()
    labels = np.array([0 if lr > 0.5 else 1 for lr, _ in combos])  # the left model is the right one
    r = disagreement(list(pair), images, labels)
    differ = {i for i, (lr, rr) in enumerate(combos) if (lr > 0.5) != (rr > 0.5)}
    assert set(np.flatnonzero(~r.agree)) == differ and float(np.mean(r.agree)) == 0.5
    assert set(r.ranked()[:6]) == differ and set(r.maps) == differ
    for i in differ:
        for m, side in enumerate(("left", "right")):
            cam = r.maps[i][m]
            if r.predicted[m, i] == 0:  # evidence for 'red': on the model's own half only
                own = cam[:, : SIZE // 2] if side == "left" else cam[:, SIZE // 2:]
                assert cam.sum() > 0 and own.sum() == pytest.approx(cam.sum())
    assert r.per_class_accuracy()[0] == {"red": 1.0, "plain": 1.0}
    assert r.per_class_accuracy()[1] == {"red": 0.5, "plain": 0.5}
    check = agreement_check(r, at_least=0.9)
    assert check.status is Status.FAIL and check.measured == 0.5 and "6 of 12 images" in check.detail
    assert agreement_check(r, at_least=0.4).status is Status.PASS


def test_what_cannot_be_compared_is_a_clear_error(pair):
    import keras

    from pytest_modelaudit import load_model

    images, _ = scenes()
    with pytest.raises(ModelAuditError, match="The same model is given twice"):
        disagreement([pair[0], pair[0]], images, None)
    other = load_model(keras.Sequential([keras.Input((SIZE, SIZE, 3)), keras.layers.Flatten(), keras.layers.Dense(2)]),
                       classes=["a", "b"], name="other")
    with pytest.raises(ModelAuditError, match="have different classes"):
        disagreement([pair[0], other], images, None)
    with pytest.raises(ModelAuditError, match="two or more models"):
        disagreement([pair[0]], images, None)
    with pytest.raises(ModelAuditError, match=r"3 labels for 12 images; give one label per image"):
        disagreement(list(pair), images, np.zeros(3, int))
    with pytest.raises(ModelAuditError, match=r"show= must be a whole number of images >= 0, got -1"):
        disagreement(list(pair), images, None, show=-1)


def test_few_images_are_inconclusive(pair):
    images, _ = scenes()
    r = disagreement(list(pair), images[:4], None)
    assert agreement_check(r, at_least=0.9).status is Status.INCONCLUSIVE


def test_the_report_shows_both_models_side_by_side(pair):
    images, combos = scenes()
    r = disagreement(list(pair), images, np.array([0 if lr > 0.5 else 1 for lr, _ in combos]))
    check = agreement_check(r, at_least=0.9)
    ev = check.evidence.to_json()
    assert ev["agreement"] == 0.5 and len(ev["shown"]) == 6 and ev["between"]["counts"] == [[3, 3], [3, 3]]
    audit = rs._audit("t.py::test_agree", "Agree", "FAIL", [rs._check("agreement", check.claim, "FAIL", "agreement",
                                                                     0.5, ">=", 0.9, ev)])
    html = render_html(rs.base_results([audit]))
    assert "Accuracy per class" in html and "Grad-CAM of left_eye" in html and "Grad-CAM of right_eye" in html
    broken = rs._audit("t.py::test_b", "Broken", "FAIL", [rs._check("agreement", "c", "FAIL", "agreement", 0.2,
                                                                    ">=", 0.9, {"type": "disagreement", "shown": 3})])
    assert "Broken" in render_html(rs.base_results([broken]))


def test_through_the_plugin(pytester, request):
    pytester.makeconftest(f"import sys\nsys.path.insert(0, {str(request.path.parent)!r})\n")
    pytester.makepyfile(test_d='''
import pytest
from test_disagreement import half_model, scenes

@pytest.mark.model_audit(title="The two eyes agree", expect="FAIL")
def test_agree(audit):
    images, _ = scenes()
    audit.disagreement([half_model("left", "left_eye"), half_model("right", "right_eye")], images).expect_agreement(
        at_least=0.9)
''')
    result = pytester.runpytest("--model-audit", "--model-audit-no-pdf", "-p", "no:randomly")
    result.assert_outcomes(passed=1)  # FAIL, as intended
    data = json.loads((pytester.path / "model-audit-report" / "results.json").read_text())
    (audit,) = data["audits"]
    assert audit["status"] == "FAIL" and audit["as_intended"] is True
    assert audit["checks"][0]["evidence"]["type"] == "disagreement"
