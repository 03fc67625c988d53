"""Honesty checks (core only, not yet wired into verdicts): maps must change when the model's top layers
are randomised and for another class."""
import numpy as np

from known_models import square_model
from pytest_modelaudit.core import gradcam, load_model
from pytest_modelaudit.core.honesty import (class_sensitivity_check, randomisation_check, randomised_copy,
                                            rank_correlation)
from pytest_modelaudit.core.saliency import gradient_x_input


def test_rank_correlation_known_values():
    a = np.arange(16, dtype=float).reshape(1, 4, 4)
    assert rank_correlation(a, a) == 1.0
    assert rank_correlation(a, -a) == -1.0
    assert rank_correlation(a, np.zeros_like(a)) == 0.0  # a map that went flat shares no ranking
    assert np.isnan(rank_correlation(np.zeros_like(a), np.zeros_like(a)))  # two flat maps: nothing to compare


def test_randomised_copy_leaves_the_users_model_alone(square_net, squares):
    before = [w.copy() for w in square_net.model.get_weights()]
    copy = randomised_copy(square_net)
    after = square_net.model.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    assert copy.model is not square_net.model
    assert not np.allclose(copy.logits(squares[0]), square_net.logits(squares[0]))


def test_gradcam_passes_randomisation_on_the_square(square_net, squares):
    imgs, masks = squares
    res = gradcam(square_net, imgs, "square")
    check = randomisation_check(square_net, imgs, res.maps, res.method, res.layer,
                                lambda a: gradcam(a, imgs, "square", layer=res.layer).maps)
    assert check.passed is True and check.value < 0.5


def test_a_map_that_ignores_the_model_is_flagged(square_net, squares):
    imgs, masks = squares
    brightness = imgs.sum(-1)  # an "explanation" that never looks at the model
    check = randomisation_check(square_net, imgs, brightness, "brightness", "input", lambda a: imgs.sum(-1))
    assert check.passed is False and check.value == 1.0
    other = class_sensitivity_check(square_net, imgs, brightness, 0, "brightness", "input", lambda t: imgs.sum(-1))
    assert other.passed is False


def test_gradient_x_input_is_class_sensitive_on_the_square(squares):
    model = load_model(square_model(), classes=["square", "none"])
    imgs, _ = squares
    maps = gradient_x_input(model, imgs, "square").maps
    check = class_sensitivity_check(model, imgs, maps, 0, "gradient_x_input", "input",
                                    lambda t: gradient_x_input(model, imgs, t).maps)
    # the positive part for 'none' is empty (its gradient is negative where the square is): a different map
    assert check.passed is True and check.value == 0.0
