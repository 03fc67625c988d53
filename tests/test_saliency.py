"""The saliency family against known answers: a linear model (exact maps) and the square detector."""
import numpy as np
import pytest

from known_models import expected_cam, square_conftest
from pytest_modelaudit.core import Status, gradcam, load_model
from pytest_modelaudit.errors import ModelAuditError
from pytest_modelaudit.core.checks.heatmap import share_check
from pytest_modelaudit.core.heatmaps import (gradcam_plus_plus, gradient_x_input, integrated_gradients, layercam,
                                             saliency, smoothgrad, vanilla_gradients)

W = np.array([[1.0, -1.0], [2.0, -2.0], [-1.0, 1.0]], np.float32)  # logit(a) = mean R + 2 mean G - mean B


@pytest.fixture(scope="module")
def linear():
    import keras

    inp = keras.Input((8, 8, 3))
    out = keras.layers.Dense(2, activation="softmax", name="head")(keras.layers.GlobalAveragePooling2D()(inp))
    model = keras.Model(inp, out)
    model.get_layer("head").set_weights([W, np.zeros(2, np.float32)])
    return load_model(model, classes=["a", "b"])


@pytest.fixture(scope="module")
def colours():
    return np.random.default_rng(0).random((3, 8, 8, 3)).astype(np.float32)


def test_gradients_of_a_linear_model_are_exact(linear, colours):
    res = vanilla_gradients(linear, colours, "a")
    np.testing.assert_allclose(res.maps, np.abs(W[:, 0]).sum() / 64, rtol=1e-5)
    gxi = gradient_x_input(linear, colours, "a")
    np.testing.assert_allclose(gxi.signed, (colours @ W[:, 0]) / 64, rtol=1e-4, atol=1e-7)
    assert (gxi.maps >= 0).all() and res.layer == "input"


def test_integrated_gradients_on_a_linear_model_equal_gradient_x_input(linear, colours):
    ig = integrated_gradients(linear, colours, "a", steps=4)
    np.testing.assert_allclose(ig.signed, (colours @ W[:, 0]) / 64, rtol=1e-4, atol=1e-7)
    assert ig.extra["completeness_error"] < 1e-4


def test_integrated_gradients_completeness_on_a_nonlinear_model(square_net, squares):
    imgs, _ = squares
    ig = integrated_gradients(square_net, imgs, "square", steps=64)
    # sum of attributions = S(x) - S(0) up to the Riemann error around the ReLU's kink
    assert ig.extra["completeness_error"] < 0.02
    coarse = integrated_gradients(square_net, imgs, "square", steps=4)
    assert coarse.extra["completeness_error"] >= ig.extra["completeness_error"]


def test_smoothgrad_is_seeded(square_net, squares):
    imgs, masks = squares
    from pytest_modelaudit.core.cache.memory import SESSION_CACHE

    with SESSION_CACHE.bypassed():  # computed afresh each time, not served from the cache
        a = smoothgrad(square_net, imgs, "square", samples=5, seed=3)
        b = smoothgrad(square_net, imgs, "square", samples=5, seed=3)
        c = smoothgrad(square_net, imgs, "square", samples=5, seed=4)
    np.testing.assert_array_equal(a.maps, b.maps)
    assert not np.array_equal(a.maps, c.maps)
    assert a.extra["noise_sigma"] == pytest.approx(0.15)  # 15% of the (0, 1) input range
    assert share_check(a, masks, at_least=0.5, region_name="square").status is Status.PASS


def test_smoothgrad_of_a_linear_model_is_the_gradient(linear, colours):
    res = smoothgrad(linear, colours, "a", samples=3, noise=0.5)
    np.testing.assert_allclose(res.maps, np.abs(W[:, 0]).sum() / 64, rtol=1e-5)


def test_layercam_and_gradcam_plus_plus_on_the_square(square_net, squares):
    imgs, masks = squares
    cam = gradcam(square_net, imgs, "square").maps
    # constant positive gradient 200/64 on a single channel: LayerCAM equals Grad-CAM exactly
    np.testing.assert_allclose(layercam(square_net, imgs, "square").maps, cam, rtol=1e-5)
    np.testing.assert_allclose(cam, expected_cam(imgs), rtol=1e-5, atol=1e-6)
    pp = gradcam_plus_plus(square_net, imgs, "square").maps
    for a, b in zip(pp, cam):  # Grad-CAM++ is a positive multiple of Grad-CAM here
        ratio = a[b > 0] / b[b > 0]
        assert ratio.min() > 0 and np.ptp(ratio) < 1e-4 * ratio.max() and (a[b == 0] == 0).all()
    assert share_check(layercam(square_net, imgs, "square"), masks, at_least=0.99).status is Status.PASS


def test_bad_method_and_arguments(square_net, squares):
    with pytest.raises(ModelAuditError, match=r"Unknown heatmap method 'gradcam\+'; expected one of .*'gradcam\+\+'"):
        saliency(square_net, squares[0], "square", method="gradcam+")
    with pytest.raises(ModelAuditError, match="steps must be at least 1"):
        integrated_gradients(square_net, squares[0], "square", steps=0)
    with pytest.raises(ModelAuditError, match="Unknown baseline 'black'"):
        integrated_gradients(square_net, squares[0], "square", baseline="black")
    with pytest.raises(ModelAuditError, match="samples must be at least 1"):
        smoothgrad(square_net, squares[0], "square", samples=0)


def test_heatmap_audit_end_to_end(pytester, request):
    import json

    pytester.makeconftest(square_conftest(request.path.parent))
    pytester.makepyfile('''
import pytest

@pytest.mark.parametrize("method", ["gradcam", "occlusion", "saliency", "smoothgrad", "integrated_gradients",
                                    "gradient_x_input", "gradcam++", "layercam"])
def test_every_method_finds_the_square(audit, setup, method):
    model, squares = setup
    kwargs = dict(patch=4, stride=2) if method == "occlusion" else {}  # the default 8 px patch is coarse on 16 px
    audit.heatmap(model, squares, "square", method=method, **kwargs).expect_lift(region=squares.masks, at_least=3)
''')
    # Every method puts the square's mass where the square is. The square model's logits are symmetric
    # (logit(none) = -logit(square)), so gradient-magnitude maps (vanilla, SmoothGrad) are the same for both
    # classes: the class-sensitivity check rejects them and their audits are INCONCLUSIVE, not PASS.
    result = pytester.runpytest("--model-audit", "--model-audit-no-pdf")
    result.assert_outcomes(passed=6, failed=2)
    data = json.loads((pytester.path / "model-audit-report" / "results.json").read_text())
    status = {a["checks"][0]["evidence"]["method"]: a["status"] for a in data["audits"]}
    assert status == {"gradcam": "PASS", "occlusion": "PASS", "saliency": "INCONCLUSIVE", "smoothgrad": "INCONCLUSIVE",
                      "integrated_gradients": "PASS", "gradient_x_input": "PASS", "gradcam++": "PASS",
                      "layercam": "PASS"}
    for a in data["audits"]:
        ev = a["checks"][0]["evidence"]
        checks = {c["name"]: c["passed"] for c in ev["honesty"]["checks"]}
        assert checks["class_sensitivity"] is (ev["method"] not in ("saliency", "smoothgrad")), a["nodeid"]
        assert checks["randomisation"] is True, a["nodeid"]
        if a["status"] == "INCONCLUSIVE":
            assert "class_sensitivity" in a["checks"][0]["reason"] and a["checks"][0]["metrics"]["lift"] >= 3
    ig = next(a for a in data["audits"] if "integrated" in a["nodeid"])["checks"][0]["evidence"]
    assert ig["method_details"]["completeness_error"] < 0.1 and ig["grid"] == [16, 16]
    # reported only: the same maps now decide the verdict, the failed check stays in the report
    result = pytester.runpytest("--model-audit", "--model-audit-no-pdf", "--model-audit-honesty=report", "-k",
                                "saliency or smoothgrad")
    result.assert_outcomes(passed=2)
    data = json.loads((pytester.path / "model-audit-report" / "results.json").read_text())
    assert all(a["checks"][0]["evidence"]["honesty"]["checks"][1]["passed"] is False for a in data["audits"])


def test_empty_image_set_is_inconclusive_for_every_method(square_net):
    empty = np.zeros((0, 16, 16, 3), np.float32)
    for method in ["saliency", "smoothgrad", "integrated_gradients", "gradient_x_input", "gradcam++", "layercam"]:
        res = saliency(square_net, empty, "square", method=method)
        check = share_check(res, np.zeros((0, 16, 16)), at_most=0.5)
        assert check.status is Status.INCONCLUSIVE and "no images" in check.reason, method


def test_every_method_takes_the_registry_path(square_net, squares, tmp_path):
    from pytest_modelaudit.core.heatmaps import METHODS
    from pytest_modelaudit.plugin.audit import Audit
    from pytest_modelaudit.plugin.options import Settings

    assert list(METHODS)[:2] == ["gradcam", "occlusion"]
    imgs = squares[0][:2]
    one, two = (Audit("t.py::t", Settings(True, tmp_path, False, 0, "fail")) for _ in range(2))
    for public, named in [(one.gradcam(square_net, imgs, "square"), two.heatmap(square_net, imgs, "square")),
                          (one.occlusion(square_net, imgs, "square", patch=4),
                           two.heatmap(square_net, imgs, "square", method="occlusion", patch=4))]:
        assert public.recipe.key == named.recipe.key and public.recipe.params == named.recipe.params
        np.testing.assert_array_equal(public.result.maps, named.result.maps)
    cam = one.gradcam(square_net, imgs, "square")
    assert cam.recipe.key == f"gradcam layer={cam.result.layer}" and cam.recipe.params == (cam.result.layer,)
    np.testing.assert_array_equal(cam.recipe.compute(square_net, imgs, cam.result.target), cam.result.maps)
    occ = two.heatmap(square_net, imgs, "square", method="occlusion", patch=4)
    assert occ.recipe.key == "occlusion patch=(4, 4) stride=(2, 2) fill=mean"
    assert occ.recipe.params == ((4, 4), (2, 2), "mean", occ.result.seed)
    assert one.layers_used == two.layers_used == {square_net.fingerprint: {cam.result.layer}}
    with pytest.raises(ModelAuditError, match=r"Unknown heatmap method 'cam'; expected one of 'gradcam', 'occlusion'"):
        one.heatmap(square_net, imgs, "square", method="cam")
