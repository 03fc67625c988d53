"""A heatmap audit on a score that does not respond to the image is INCONCLUSIVE, never PASS."""
import numpy as np
import pytest

from known_models import square_model, set_square_weights
from pytest_modelaudit import load_model
from pytest_modelaudit.plugin.audit import Audit
from pytest_modelaudit.core import Status
from pytest_modelaudit.core.honesty.faithfulness import MIN_MARGIN_RESPONSE, MIN_RESPONSE, score_response
from pytest_modelaudit.errors import AuditInconclusive
from pytest_modelaudit.plugin.options import Settings


def _mute(scale: float):
    """The square detector with its head scaled: at 1e-7 every class gets P = 0.5 whatever the image."""
    model = square_model()
    set_square_weights(model)
    head = model.get_layer("head")
    w, b = head.get_weights()
    head.set_weights([w * scale, b * scale])
    return load_model(model, classes=["square", "none"], name=f"square x{scale:g}")


def _saturated(shift: float = 50.0):
    """The square detector with its logit margin raised by 2 * shift: P(square) = 1.000 with or without the square."""
    model = square_model()
    set_square_weights(model)
    head = model.get_layer("head")
    w, b = head.get_weights()
    head.set_weights([w, b + np.array([shift, -shift], np.float32)])
    return load_model(model, classes=["square", "none"], name="square saturated")


def test_score_response_known_answer(square_net, squares):
    imgs, _ = squares
    live = score_response(square_net, imgs, 0)
    # P(square) = sigmoid(11) on the images; with every pixel removed the detector is silent: sigmoid(-4)
    assert live.before == pytest.approx(1 / (1 + np.exp(-11)), abs=1e-4)
    assert live.after["black"] == pytest.approx(1 / (1 + np.exp(4)), abs=1e-4) and live.responds
    dead = score_response(_mute(1e-7), imgs, 0)
    assert dead.largest < 1e-5 < MIN_RESPONSE and not dead.responds
    assert dead.largest_margin < 1e-5
    # saturated: the probability stays 1.000, but the logit margin falls from 11 + 100 to -4 + 100 with every
    # pixel black: the logit the maps explain responds
    sat = score_response(_saturated(), imgs, 0)
    assert sat.largest < 1e-6 and sat.margin_before == pytest.approx(111, abs=1e-3)
    assert sat.margin_after["black"] == pytest.approx(96, abs=1e-3)
    assert sat.largest_margin == pytest.approx(15, abs=1e-3) and 15 >= MIN_MARGIN_RESPONSE and sat.responds


@pytest.mark.parametrize("honesty", ["inconclusive", "report", "off"])
@pytest.mark.parametrize("method", ["gradcam", "occlusion", "integrated_gradients"])
def test_unresponsive_model_cannot_pass_a_heatmap_audit(tmp_path, squares, method, honesty):
    imgs, masks = squares
    audit = Audit("test_mute.py::test_mute", Settings(True, tmp_path, False, 0, "fail", honesty=honesty))
    heat = audit.heatmap(_mute(1e-7), imgs, "square", method=method)
    with pytest.raises(AuditInconclusive, match="does not respond to the image"):
        heat.expect_lift(1 - masks, region_name="background", at_most=1.0)
    assert audit.checks[-1].status is Status.INCONCLUSIVE


def test_responsive_model_still_passes(tmp_path, square_net, squares):
    imgs, masks = squares
    audit = Audit("test_live.py::test_live", Settings(True, tmp_path, False, 0, "fail", honesty="off"))
    check = audit.gradcam(square_net, imgs, "square").expect_lift(1 - masks, region_name="background", at_most=1.0)
    assert check.status is Status.PASS


def test_saturated_but_responsive_model_can_pass(tmp_path, squares):
    imgs, masks = squares
    audit = Audit("test_sat.py::test_sat", Settings(True, tmp_path, False, 0, "fail", honesty="off"))
    check = audit.gradcam(_saturated(), imgs, "square").expect_lift(1 - masks, region_name="background", at_most=1.0)
    assert check.status is Status.PASS


def test_share_of_images_classified_as_the_target_is_recorded_and_warned(tmp_path, square_net, squares):
    from pytest_modelaudit.core.ablation import region_ablation
    from pytest_modelaudit.core.checks.ablation import drop_check
    from pytest_modelaudit.errors import TargetMismatchWarning

    imgs, masks = squares
    audit = Audit("test_t.py::test_t", Settings(True, tmp_path, False, 0, "fail", honesty="off"))
    check = audit.gradcam(square_net, imgs, "square").expect_lift(1 - masks, region_name="background", at_most=1.0)
    assert check.metrics["target_share"] == 1.0 and check.metrics["target_prob"] > 0.99
    # squares audited as 'none': the model calls none of them 'none'
    with pytest.warns(TargetMismatchWarning, match=r"only 0% of the images from arrays are classified as 'none'"):
        res = region_ablation(square_net, imgs, "none", masks, fills=[0.0])
        check = drop_check(res, at_most=0.5)
    assert check.metrics["target_share"] == 0.0


def test_a_saturated_ablation_names_the_margin_change_with_its_direction(squares):
    """P stays ~1.000 when the square is removed from a saturated model, but its logit margin falls: the detail says
    by how much, as a fall (a negative 'drop' would read as a rise)."""
    from pytest_modelaudit.core.ablation import region_ablation
    from pytest_modelaudit.core.checks.ablation import drop_check

    imgs, masks = squares
    res = region_ablation(_saturated(), imgs, "square", masks, fills=[0.0])
    check = drop_check(res, at_most=0.2)
    md = check.metrics["margin_drop[value 0]"]
    assert md > 1.0  # the margin really fell
    assert "the base probability is saturated" in check.detail
    assert f"margin over the best other class drops by {md:.2f} with 'value 0'" in check.detail
