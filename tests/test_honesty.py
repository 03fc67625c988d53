"""Honesty checks: maps must change when the model's weights are re-initialised and for another class,
rank the pixels the model needs first (deletion / insertion), and a verdict that input noise could flip
is INCONCLUSIVE."""
import numpy as np
import pytest

from known_models import square_model
from pytest_modelaudit.core import gradcam, load_model
from pytest_modelaudit.core.checks.heatmap import share_check
from pytest_modelaudit.core.honesty.faithfulness import deletion_insertion
from pytest_modelaudit.core.honesty.sanity import (class_sensitivity_check, faithfulness_check, honesty,
                                            randomisation_check, randomised_copy, rank_correlation)
from pytest_modelaudit.core.heatmaps.occlusion import occlusion
from pytest_modelaudit.core.heatmaps import gradient_x_input, saliency
from pytest_modelaudit.core.honesty.stability import noisy_maps
from pytest_modelaudit.core.checks.verdicts import Status


def test_rank_correlation_known_values():
    a = np.arange(16, dtype=float).reshape(1, 4, 4)
    assert rank_correlation(a, a) == 1.0
    assert rank_correlation(a, -a) == -1.0
    assert rank_correlation(a, np.zeros_like(a)) == 0.0  # a map that went flat shares no ranking
    assert np.isnan(rank_correlation(np.zeros_like(a), np.zeros_like(a)))  # two flat maps: nothing to compare


def test_randomised_copy_reinitialises_every_layer_and_leaves_the_users_model_alone(square_net, squares):
    before = [w.copy() for w in square_net.model.get_weights()]
    copy = randomised_copy(square_net, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(before, square_net.model.get_weights()))
    assert copy.model is not square_net.model
    after = copy.model.get_weights()
    for b, a in zip(before, after):
        if b.ndim == 1:  # biases: the layers' own initializer is zeros
            assert not a.any()
        else:
            assert not np.allclose(a, b)
    again = randomised_copy(square_net, seed=3).model.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(after, again))  # seeded


def test_a_redrawn_copy_equals_a_fresh_copy_and_keeps_its_traced_functions(square_net, squares):
    """The randomisation check redraws one clone per draw instead of cloning and tracing three times."""
    from pytest_modelaudit.core.cache.disk import model_identity
    from pytest_modelaudit.core.honesty.sanity import redraw

    imgs, _ = squares
    copy = randomised_copy(square_net, seed=1)
    gradcam(copy, imgs, 0)  # traces the capture function
    logits_1 = copy.logits(imgs)
    traced = dict(copy._functions)
    identity_1 = model_identity(copy)
    redraw(copy, seed=5)
    fresh = randomised_copy(square_net, seed=5)
    assert all(np.array_equal(a, b) for a, b in zip(copy.model.get_weights(), fresh.model.get_weights()))
    assert model_identity(copy) == model_identity(fresh) != identity_1  # caches see the new weights
    assert not np.allclose(copy.logits(imgs), logits_1)  # the traced functions read the new weights
    np.testing.assert_allclose(copy.logits(imgs), fresh.logits(imgs), rtol=1e-6)
    maps = gradcam(copy, imgs, 0).maps
    assert np.abs(maps).sum() > 0
    np.testing.assert_allclose(maps, gradcam(fresh, imgs, 0).maps, rtol=1e-6)
    assert all(copy._functions[k] is v for k, v in traced.items() if k != ("cache_identity",))  # no retrace


METHODS = {
    "gradcam": lambda a, x, t: gradcam(a, x, t).maps,
    "occlusion": lambda a, x, t: occlusion(a, x, t, patch=4, stride=2).maps,
    "integrated_gradients": lambda a, x, t: saliency(a, x, t, method="integrated_gradients").maps,
}


@pytest.mark.parametrize("method", sorted(METHODS))
def test_randomised_weights_give_uncorrelated_maps_for_the_methods_that_pass(square_net, squares, method):
    imgs, _ = squares
    compute = METHODS[method]
    maps = compute(square_net, imgs, 0)
    check, example = randomisation_check(square_net, imgs, maps, 0, compute, seed=0)
    assert check.passed is True and abs(check.value) < 0.5 and len(check.values) == 3
    assert example.shape == maps.shape[1:]


def test_a_map_that_ignores_the_model_is_flagged(square_net, squares):
    imgs, _ = squares
    brightness = lambda a, x, t: x.sum(-1)  # an "explanation" that never looks at the model  # noqa: E731
    check, _ = randomisation_check(square_net, imgs, brightness(None, imgs, 0), 0, brightness)
    assert check.passed is False and check.value == 1.0
    other, _ = class_sensitivity_check(square_net, imgs, brightness(None, imgs, 0), 0, brightness)
    assert other.passed is False and other.value == 1.0


def test_gradient_x_input_is_class_sensitive_on_the_square(squares):
    model = load_model(square_model(), classes=["square", "none"])
    imgs, _ = squares
    compute = lambda a, x, t: gradient_x_input(a, x, t).maps  # noqa: E731
    check, _ = class_sensitivity_check(model, imgs, compute(model, imgs, 0), 0, compute)
    # the positive part for 'none' is empty (its gradient is negative where the square is): a different map
    assert check.passed is True and check.value == 0.0


def test_deletion_and_insertion_curves_have_the_known_shape(square_net, squares):
    """The square detector's probability depends only on the square: a map that ranks the square first
    loses the decision as soon as the square's pixels are gone, its reverse only at the very end."""
    imgs, masks = squares
    square_first = masks.astype(np.float32)
    curves = deletion_insertion(square_net, imgs, square_first, 0, steps=16, fills=("mean", "black"))
    assert curves.fills == ("mean", "black") and curves.deletion.shape == (2, 17)
    # the squares cover 16 of 256 pixels: after 1/16 of the pixels the square is gone (deletion) or back
    # (insertion), and the probability is that of the empty background from then on
    empty = curves.deletion[:, -1:]
    assert np.all(curves.deletion[:, 0] > 0.99) and np.all(empty < 0.05)
    np.testing.assert_allclose(curves.deletion[:, 1:], np.broadcast_to(empty, (2, 16)), atol=1e-6)
    assert np.all(curves.insertion[:, 0] < 0.05) and np.all(curves.insertion[:, 1:] > 0.99)
    p0, p = curves.deletion[:, 0], empty[:, 0]
    np.testing.assert_allclose(curves.deletion_auc, (p0 + p) / 2 / 16 + p * 15 / 16, rtol=1e-6)  # trapezoid
    reverse = deletion_insertion(square_net, imgs, 1.0 - square_first, 0, steps=16, fills=("mean",))
    assert reverse.deletion[0, -2] > 0.99 and reverse.margin[0] < -0.9
    good, _ = faithfulness_check(square_net, imgs, square_first, 0)
    bad, _ = faithfulness_check(square_net, imgs, 1.0 - square_first, 0)
    # 10 steps: the first step (0.1 of the pixels) already takes the whole square; both curves share that
    # step's trapezoid, the other 0.9 of the axis is at 1 (insertion) against the empty background (deletion)
    p_empty = float(curves.deletion[0, -1])
    assert good.passed is True and good.value == pytest.approx(0.9 * (1 - p_empty), abs=1e-4)
    assert bad.passed is False and bad.value < -0.5


def test_a_fill_that_removes_nothing_leaves_faithfulness_undetermined():
    """A model that always says 'square' gives flat curves under every fill: undetermined, never a pass."""
    import keras

    inp = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(1, 3, padding="same", name="conv", kernel_initializer="zeros")(inp)
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(2, activation="softmax", name="head", kernel_initializer="zeros",
                             bias_initializer=keras.initializers.Constant([5.0, -5.0]))(x)
    constant = load_model(keras.Model(inp, out), classes=["square", "none"])
    imgs = np.random.default_rng(0).random((3, 16, 16, 3)).astype(np.float32)
    check, curves = faithfulness_check(constant, imgs, imgs.sum(-1), 0)
    assert check.passed is None and "undetermined" in check.detail and np.isnan(check.value)


def test_honesty_runs_once_per_method_model_and_images(square_net, squares):
    imgs, _ = squares
    calls = []

    def compute(a, x, t):
        calls.append(t)
        return gradcam(a, x, t).maps

    first = honesty(square_net, imgs, 0, "gradcam-once", compute, seed=5)
    n = len(calls)
    assert honesty(square_net, imgs, 0, "gradcam-once", compute, seed=5) is first and len(calls) == n
    assert [c.name for c in first.checks] == ["randomisation", "class_sensitivity", "faithfulness"]
    assert all(c.passed for c in first.checks) and set(first.examples) == {"audited", "randomised", "other_class"}
    assert first.other_class == "none"


def test_a_verdict_that_noise_could_flip_is_unstable(square_net, squares):
    imgs, _ = squares
    masks = np.zeros(imgs.shape[:3], np.float32)
    masks[:, :, :9] = 1.0  # the left of the image: it holds part of some squares, so the share is not 0 or 1
    compute = lambda a, x, t: saliency(a, x, t, method="smoothgrad", seed=1, samples=4).maps  # noqa: E731
    res = saliency(square_net, imgs, 0, method="smoothgrad", seed=1, samples=4)
    noisy = noisy_maps(square_net, imgs, 0, "smoothgrad-unstable", compute, noise=0.1)
    clean = share_check(res, masks, at_most=1.0, metric="share", noisy_maps=noisy)
    low, high = clean.evidence.stability.spread
    assert low < high  # the noise moves the metric
    middle = share_check(res, masks, at_most=(low + high) / 2, metric="share", noisy_maps=noisy)
    assert middle.status is Status.INCONCLUSIVE and middle.reason.startswith("unstable")
    below = share_check(res, masks, at_most=low - 0.01, metric="share", noisy_maps=noisy)
    above = share_check(res, masks, at_most=min(high + 0.01, 1.0), metric="share", noisy_maps=noisy)
    assert below.status is Status.FAIL and above.status is Status.PASS
    reported = share_check(res, masks, at_most=(low + high) / 2, metric="share", noisy_maps=noisy,
                           honesty_policy="report")
    assert reported.status in (Status.PASS, Status.FAIL) and reported.evidence.stability is not None


def test_a_failed_honesty_check_makes_the_verdict_inconclusive(square_net, squares):
    imgs, masks = squares
    res = saliency(square_net, imgs, 0, method="saliency")  # class-insensitive on the symmetric square model
    compute = lambda a, x, t: saliency(a, x, t, method="saliency").maps  # noqa: E731
    h = honesty(square_net, imgs, 0, "saliency", compute)
    assert [c.name for c in h.failed] == ["class_sensitivity"]
    check = share_check(res, masks, at_least=3.0, metric="lift", honesty=h)
    assert check.status is Status.INCONCLUSIVE and "class_sensitivity" in check.reason
    assert check.metrics["lift"] >= 3.0  # the number is kept, the verdict is not given
    assert share_check(res, masks, at_least=3.0, metric="lift", honesty=h, honesty_policy="report").status is Status.PASS


def test_no_noisy_copies_are_scored_where_a_failed_honesty_check_already_decides(square_net, squares):
    """A verdict that the honesty checks made INCONCLUSIVE cannot be changed by noise: its passes are not spent."""
    imgs, masks = squares
    res = saliency(square_net, imgs, 0, method="saliency")
    compute = lambda a, x, t: saliency(a, x, t, method="saliency").maps  # noqa: E731
    h = honesty(square_net, imgs, 0, "saliency", compute)
    assert h.failed  # class-insensitive on the symmetric square model
    asked = []

    def noisy():
        asked.append(1)
        return noisy_maps(square_net, imgs, 0, "saliency-lazy", compute)

    check = share_check(res, masks, at_least=3.0, metric="lift", honesty=h, noisy_maps=noisy)
    assert check.status is Status.INCONCLUSIVE and "class_sensitivity" in check.reason
    assert not asked and check.evidence.stability is None and "honesty" in check.evidence.stability_skipped
    reported = share_check(res, masks, at_least=3.0, metric="lift", honesty=h, noisy_maps=noisy,
                           honesty_policy="report")  # the failure does not decide there: noise still could
    assert asked and reported.evidence.stability is not None and reported.evidence.stability_skipped is None


def _square_gradcam_suite(pytester, request) -> None:
    """One Grad-CAM audit on the square detector, as a user's test folder."""
    from known_models import square_conftest

    pytester.makeconftest(square_conftest(request.path.parent))
    pytester.makepyfile('''
def test_gradcam_on_square(audit, setup):
    model, squares = setup
    audit.gradcam(model, squares, "square").expect_lift(region=squares.masks, at_least=3)
''')


def test_honesty_option_off_and_a_bad_ini_value(pytester, request):
    import json

    _square_gradcam_suite(pytester, request)
    result = pytester.runpytest("--model-audit", "--model-audit-no-pdf", "--model-audit-honesty=off")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["model-audit: on, *honesty=off*"])
    data = json.loads((pytester.path / "model-audit-report" / "results.json").read_text())
    ev = data["audits"][0]["checks"][0]["evidence"]
    assert data["run"]["honesty"] == "off" and ev["honesty"] is None and ev["stability"] is None
    assert set(ev["curves"]) == {"gradcam", "occlusion", "integrated_gradients"}  # the grid and curves stay
    pytester.makeini("[pytest]\nmodel_audit_honesty = maybe\n")
    result = pytester.runpytest("--model-audit")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*model_audit_honesty must be one of inconclusive, report, off, got 'maybe'*"])


def test_companions_off_keeps_the_verdict_and_skips_the_other_methods_maps(pytester, request):
    import json

    _square_gradcam_suite(pytester, request)
    runs = {}
    for mode in ("on", "off"):
        result = pytester.runpytest("--model-audit", "--model-audit-no-pdf", f"--model-audit-companions={mode}",
                                    f"--model-audit-report=rep-{mode}")
        result.assert_outcomes(passed=1)
        runs[mode] = json.loads((pytester.path / f"rep-{mode}" / "results.json").read_text())
    result.stdout.fnmatch_lines(["model-audit: on, *honesty=inconclusive, companions=off*"])
    on, off = (runs[m]["audits"][0]["checks"][0] for m in ("on", "off"))
    assert runs["off"]["run"]["companions"] == "off" and runs["on"]["run"]["companions"] == "on"
    assert off["status"] == on["status"] == "PASS" and off["measured"] == on["measured"]
    assert off["evidence"]["honesty"] == on["evidence"]["honesty"]  # the checks are the same
    assert all(img["companions"] == {} for img in off["evidence"]["images"])
    assert set(off["evidence"]["curves"]) == {"gradcam"}  # the audited method's curves, from its honesty check
    assert set(on["evidence"]["curves"]) == {"gradcam", "occlusion", "integrated_gradients"}
    html = (pytester.path / "rep-off" / "index.html").read_text()
    assert 'class="method-grid"' not in html and "heatmap of" in html and "Traceback" not in html  # image + map
    pytester.makeini("[pytest]\nmodel_audit_companions = some\n")
    result = pytester.runpytest("--model-audit")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*model_audit_companions must be one of on, off, got 'some'*"])


def test_memos_tell_two_wrappings_of_one_model_apart(squares):
    """The same Keras model with two input ranges is two models: no memo may hand one the other's results."""
    from known_models import square_model

    from pytest_modelaudit import load_model
    from pytest_modelaudit.core.heatmaps.gradcam import gradcam
    from pytest_modelaudit.core.honesty.sanity import honesty
    from pytest_modelaudit.core.honesty.stability import noisy_maps

    imgs, _ = squares
    keras_model = square_model()
    unit = load_model(keras_model, classes=["square", "none"], input_range=(0, 1))
    bytes_ = load_model(keras_model, classes=["square", "none"], input_range=(0, 255))
    assert unit.fingerprint == bytes_.fingerprint  # the weights are the same; the models are not

    def compute(a, x, t):
        return gradcam(a, x, t).maps

    h1, h2 = (honesty(a, imgs, 0, "gradcam-memo-test", compute) for a in (unit, bytes_))
    assert h1 is not h2
    assert not np.allclose(h1.curves.deletion, h2.curves.deletion)  # at 0-255 every pixel fires the detector
    n1, n2 = (noisy_maps(a, imgs, 0, "gradcam-memo-test", compute) for a in (unit, bytes_))
    assert not np.allclose(n1[0], n2[0])


def test_companion_maps_are_the_whole_sets_maps_of_the_images_asked_each_paid_once(square_net):
    """The card's side-by-side maps are computed for the images it shows only, each image once per session, and
    equal the maps the whole set would give (occlusion's flat fill stays the whole set's mean colour)."""
    from known_models import square_images
    from pytest_modelaudit.core.cache.memory import SESSION_CACHE
    from pytest_modelaudit.core.honesty.companions import companion_images, companion_maps
    from pytest_modelaudit.core.model.passes import tally

    assert companion_images(20, [15, 3, 9, 40]) == [0, 1, 2, 3, 4, 5, 6, 7, 9, 15]  # the curves' 8, then the shown
    assert companion_images(3, [2, 1]) == [0, 1, 2]
    SESSION_CACHE.clear()
    imgs, _ = square_images(6, background=0.1)
    bright = imgs[3:]
    bright[bright < 0.5] = 0.95  # backgrounds that fire the detector: a fill of their own colour hides nothing
    audited = gradcam(square_net, imgs, 0)
    with tally() as two:
        some = companion_maps(square_net, audited, [5, 4])
    with tally() as three:
        more = companion_maps(square_net, audited, [3, 4, 5])
    assert two.forward > 0 and two.backward > 0
    assert (three.forward, three.backward) == (two.forward // 2, two.backward // 2)  # only image 3 is new
    assert set(some) == {"gradcam", "occlusion", "integrated_gradients"} and set(more["occlusion"]) == {3, 4, 5}
    assert np.shares_memory(some["gradcam"][5], audited.maps)  # the audited method's own maps take its place
    whole = {"occlusion": occlusion(square_net, imgs, 0, patch=2).maps,
             "integrated_gradients": saliency(square_net, imgs, 0, method="integrated_gradients").maps}
    subset_mean = occlusion(square_net, imgs[[4, 5]], 0, patch=2).maps  # what a subset's own mean fill gives
    assert not np.allclose(subset_mean[1], whole["occlusion"][5], atol=1e-3)
    for name, maps in whole.items():
        for i in (3, 4, 5):
            np.testing.assert_allclose(more[name][i], maps[i], rtol=1e-4, atol=1e-5)
    SESSION_CACHE.clear()
