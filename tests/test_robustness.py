"""audit.robustness: predictions under brightness, noise and JPEG changes, on a model whose decision
boundary is set by hand (class 0 when the mean pixel value is above 0.5), so every flip is known."""
from __future__ import annotations

import json

import numpy as np
import pytest

from pytest_modelaudit.core.checks.robustness import accuracy_drop_check, flip_rate_check
from pytest_modelaudit.core.checks.verdicts import Status
from pytest_modelaudit.core.insight.robustness import robustness
from pytest_modelaudit.report import render_html

import report_samples as rs


def brightness_model(constant: bool = False):
    """logits = (m - 0.5, 0.5 - m) for the mean pixel value m ('bright' above 0.5); constant: always 'bright'."""
    import keras

    from pytest_modelaudit import load_model

    inp = keras.Input((8, 8, 3))
    m = keras.layers.GlobalAveragePooling2D()(inp)
    out = keras.layers.Dense(2, name="head")(m)
    model = keras.Model(inp, out)
    w = np.zeros((3, 2), np.float32) if constant else np.array([[1, -1]] * 3, np.float32) / 3
    model.get_layer("head").set_weights([w, np.array([2, 0] if constant else [-0.5, 0.5], np.float32)])
    return load_model(model, classes=["bright", "dark"])


def flat(values) -> np.ndarray:
    return np.stack([np.full((8, 8, 3), v, np.float32) for v in values])


# +10% flips dark images with 0.4545 <= v < 0.5; -10% flips bright ones with 0.5 < v < 0.5556
VALUES = [0.1, 0.2, 0.3, 0.46, 0.47, 0.48, 0.52, 0.7, 0.8, 0.9, 0.95, 0.35]


def test_flips_are_the_analytic_ones():
    r = robustness(brightness_model(), flat(VALUES), None, seed=0)
    assert r.predicted.tolist() == [1 if v < 0.5 else 0 for v in VALUES]
    assert r.flip_rate("brightness+10%") == pytest.approx(3 / 12)  # 0.46, 0.47, 0.48
    assert r.flip_rate("brightness-10%") == pytest.approx(1 / 12)  # 0.52
    assert r.flip_rate("noise") == 0 and r.flip_rate("jpeg") == 0  # the mean of 192 values barely moves
    check = flip_rate_check(r, at_most=0.1)
    assert check.status is Status.FAIL and check.measured == pytest.approx(0.25)
    assert "worst: brightness+10% flips 25.0%" in check.detail
    far = robustness(brightness_model(), flat([0.1, 0.15, 0.2, 0.25, 0.3, 0.7, 0.75, 0.8, 0.85, 0.9]), None, seed=0)
    assert flip_rate_check(far, at_most=0.1).status is Status.PASS  # two classes predicted: a flip was possible


def test_accuracy_drop_with_labels_and_without():
    labels = np.array([1 if v < 0.5 else 0 for v in VALUES])
    r = robustness(brightness_model(), flat(VALUES), labels, seed=0)
    check = accuracy_drop_check(r, at_most=0.05)
    assert check.status is Status.FAIL and check.measured == pytest.approx(0.25)  # 100% -> 75% under +10%
    unlabelled = robustness(brightness_model(), flat(VALUES), None, seed=0)
    assert accuracy_drop_check(unlabelled, at_most=0.05).status is Status.INCONCLUSIVE


def test_a_check_that_could_not_fail_is_inconclusive():
    r = robustness(brightness_model(constant=True), flat(VALUES), None, seed=0)
    check = flip_rate_check(r, at_most=0.1)
    assert check.status is Status.INCONCLUSIVE and "predicts 'bright' for every image" in check.reason
    few = robustness(brightness_model(), flat(VALUES[:5]), None, seed=0)
    assert "at least 10" in flip_rate_check(few, at_most=0.1).reason


def test_seeded_and_deterministic():
    a = robustness(brightness_model(), flat(VALUES), None, seed=3)
    b = robustness(brightness_model(), flat(VALUES), None, seed=3)
    assert all((a.changed[p] == b.changed[p]).all() for p in a.perturbations)


def test_the_report_shows_each_change():
    r = robustness(brightness_model(), flat(VALUES), None, seed=0)
    check = flip_rate_check(r, at_most=0.1)
    ev = check.evidence.to_json()
    audit = rs._audit("t.py::test_robust", "Robust", "FAIL", [rs._check("robustness", check.claim, "FAIL", "flip_rate",
                                                                        0.25, "<=", 0.1, ev)])
    html = render_html(rs.base_results([audit]))
    assert "brightness+10%" in html and "25.0%" in html and "image_003: dark → bright" in html
    broken = rs._audit("t.py::test_b", "Broken", "FAIL", [rs._check("robustness", "c", "FAIL", "flip_rate", 0.2,
                                                                    "<=", 0.1, {"type": "robustness",
                                                                                "perturbations": "nonsense"})])
    assert "Broken" in render_html(rs.base_results([broken]))


def test_through_the_plugin(pytester, request):
    pytester.makeconftest(f"import sys\nsys.path.insert(0, {str(request.path.parent)!r})\n")
    pytester.makepyfile(test_r='''
import numpy as np
from test_robustness import brightness_model, flat, VALUES

def test_stable(audit):
    audit.robustness(brightness_model(), flat(VALUES)).expect_flip_rate(at_most=0.1)
''')
    result = pytester.runpytest("--model-audit", "--model-audit-no-pdf", "-p", "no:randomly")
    result.assert_outcomes(failed=1)
    data = json.loads((pytester.path / "model-audit-report" / "results.json").read_text())
    check = data["audits"][0]["checks"][0]
    assert check["evidence"]["type"] == "robustness" and check["measured"] == pytest.approx(0.25)
