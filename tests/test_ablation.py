"""Region ablation on the square detector: the drop is known for each region and fill."""
import numpy as np
import pytest

from known_models import expected_square_logit
from pytest_modelaudit.core import Status, region_ablation
from pytest_modelaudit.errors import ModelAuditError
from pytest_modelaudit.core.checks.ablation import drop_check, region_only_check


def test_removing_the_square_drops_the_logit_removing_background_does_not(square_net, squares):
    imgs, masks = squares
    square = region_ablation(square_net, imgs, "square", masks, fills=["mean", 0.0])
    # logit(square) goes from 5.5 to -2 (the detector is silent on any fill darker than 0.8)
    np.testing.assert_allclose(square.base_logit, expected_square_logit(imgs), atol=1e-4)
    np.testing.assert_allclose(square.logit_drop, 7.5, atol=1e-4)
    assert (square.prob_drop > 0.95).all()
    background = region_ablation(square_net, imgs, "square", 1 - masks, fills=["mean", 0.0, "blur"])
    np.testing.assert_allclose(background.logit_drop, 0.0, atol=1e-4)
    # keeping only the square keeps the score; keeping only the background loses it
    np.testing.assert_allclose(square.region_only_logit, 5.5, atol=1e-4)
    np.testing.assert_allclose(background.region_only_logit, -2.0, atol=1e-4)


def test_checks_on_ablation(square_net, squares):
    imgs, masks = squares
    res = region_ablation(square_net, imgs, "square", masks, fills=["mean", "shuffle", 0.0])
    assert res.admissible() == [True, True, True]  # every fill removed the bright square
    assert drop_check(res, at_least=0.9, region_name="square").status is Status.PASS
    assert drop_check(res, at_most=0.1, region_name="square").status is Status.FAIL
    assert drop_check(res, at_least=7.0, score="logit").status is Status.PASS
    # keeping only the square: the uniform 0.2 background is removed only by the black fill (the set's mean is
    # 0.24, and no other image has content outside its own region there); that fill decides
    assert res.admissible(only=True) == [False, False, True]
    check = region_only_check(res, at_least=0.99)
    assert check.status is Status.PASS and check.evidence.decisive == 2
    bg = region_ablation(square_net, imgs, "square", 1 - masks, fills=["mean", "blur", 0.6])
    assert bg.admissible() == [False, False, True]
    check = drop_check(bg, at_most=0.05, region_name="background")
    assert check.status is Status.PASS and check.measured == pytest.approx(0.0, abs=1e-4)
    assert "not counted" in check.detail


def _dot(x, m):
    """Removes the square but leaves one bright 2x2 dot, aligned on the pooling grid, in its top-left corner."""
    out = np.full_like(x, 0.2)
    for i in range(len(x)):
        r, c = np.argwhere(m[i] > 0.5).min(axis=0)
        out[i, r : r + 2, c : c + 2] = 1.0
    return out


def test_verdict_uses_the_admissible_fill_least_favourable_to_the_claim(square_net, squares):
    imgs, masks = squares
    # a bright fill (1.0) re-creates the square, so it did not remove it: shown, never counted
    res = region_ablation(square_net, imgs, "square", masks, fills=[1.0, 0.0, _dot])
    np.testing.assert_allclose(res.logit_drop[0], 0.0, atol=1e-4)
    np.testing.assert_allclose(res.logit_drop[1], 7.5, atol=1e-4)
    np.testing.assert_allclose(res.logit_drop[2], 7.5 - 200 * 0.6 / 64, atol=1e-4)  # one pooled cell left
    assert res.admissible() == [False, True, True]
    check = drop_check(res, at_most=0.2, region_name="square")
    assert check.status is Status.FAIL and check.evidence.decisive == 1 and not check.evidence.hinges_on_fill
    # for a lower bound the least favourable counted fill is the one that moves it least: the dot
    check = drop_check(res, at_least=7.0, score="logit", region_name="square")
    assert check.status is Status.FAIL and check.evidence.decisive == 2 and check.evidence.hinges_on_fill
    assert "hinges on the fill" in check.detail and "'1' " not in check.detail


def test_fills_in_model_input_space(square_net, squares):
    imgs, masks = squares
    res = region_ablation(square_net, imgs, "square", masks, fills=["mean", "blur", "shuffle", 0.5])
    x = res.x_model
    np.testing.assert_allclose(res.fills[0].content[0, 0, 0], x.reshape(-1, 3).mean(0), rtol=1e-5)
    assert res.fills[1].content.shape == x.shape and res.fills[1].content[0].std() < x[0].std()
    shuffled = res.fills[2].content
    assert not any(np.array_equal(shuffled[i], x[i]) for i in range(4))  # never the image itself
    # donors give only what lies outside their own square: the hole gets background, never another square
    assert np.allclose(shuffled[masks > 0.5], x[0, 0, 0], atol=1e-6)
    assert (res.fills[3].content == 0.5).all()


def test_user_fill_images_and_callables(square_net, squares):
    imgs, masks = squares
    bright = np.ones((2, 16, 16, 3), np.float32)
    res = region_ablation(square_net, imgs, "square", masks, fill_images=bright)
    assert [f.name for f in res.fills] == ["mean", "blur", "shuffle", "images"]
    np.testing.assert_allclose(res.logit_drop[3], 0.0, atol=1e-4)  # bright content keeps the detector firing

    def darken(x, m):
        return x * 0.0

    res = region_ablation(square_net, imgs, "square", masks, fills=[darken])
    assert res.fills[0].name == "darken" and res.logit_drop[0] == pytest.approx(7.5, abs=1e-4)


def test_shuffle_is_seeded(square_net, squares):
    imgs, masks = squares
    a = region_ablation(square_net, imgs, "square", masks, fills=["shuffle"], seed=1).fills[0].content
    b = region_ablation(square_net, imgs, "square", masks, fills=["shuffle"], seed=1).fills[0].content
    np.testing.assert_array_equal(a, b)


def test_no_prediction_to_begin_with_is_inconclusive(square_net):
    imgs = np.full((3, 16, 16, 3), 0.2, np.float32)  # no square: P(square) = 0.018
    masks = np.zeros((3, 16, 16), np.float32)
    masks[:, :8] = 1
    check = drop_check(region_ablation(square_net, imgs, "square", masks), at_most=0.1)
    assert check.status is Status.INCONCLUSIVE and "does not predict 'square'" in check.reason


def test_degenerate_inputs_are_inconclusive(square_net, squares):
    imgs, masks = squares
    empty_region = drop_check(region_ablation(square_net, imgs, "square", np.zeros_like(masks)), at_most=0.1)
    assert empty_region.status is Status.INCONCLUSIVE and "covers nothing" in empty_region.reason
    none = region_ablation(square_net, np.zeros((0, 16, 16, 3), np.float32), "square", np.zeros((0, 16, 16)))
    assert drop_check(none, at_most=0.1).status is Status.INCONCLUSIVE
    one = region_ablation(square_net, imgs[:1], "square", masks[:1], fills=["shuffle"])
    check = drop_check(one, at_most=0.1)
    assert check.status is Status.INCONCLUSIVE and "shuffle" in check.reason


def test_bad_fills_are_named(square_net, squares):
    imgs, masks = squares
    with pytest.raises(ModelAuditError, match="Unknown fill 'sand'"):
        region_ablation(square_net, imgs, "square", masks, fills=["sand"])
    with pytest.raises(ModelAuditError, match="fill 'images' needs fill_images"):
        region_ablation(square_net, imgs, "square", masks, fills=["images"])
    with pytest.raises(ModelAuditError, match="'bad'.*broadcastable"):
        def bad(x, m):
            return np.zeros((3, 3))
        region_ablation(square_net, imgs, "square", masks, fills=[bad])
    with pytest.raises(ModelAuditError, match="score must be"):
        drop_check(region_ablation(square_net, imgs, "square", masks), at_most=0.1, score="prob")


def test_a_bound_outside_what_the_metric_can_take_is_refused(square_net, squares):
    imgs, masks = squares
    res = region_ablation(square_net, imgs, "square", masks, fills=[0.0])
    with pytest.raises(ModelAuditError, match=r"at_most=20 for 'prob_drop' is outside the range the metric can take, "
                                              r"\[-1, 1\].*would pass whatever the model does"):
        drop_check(res, at_most=20)
    with pytest.raises(ModelAuditError, match=r"at_least=1.5 for 'region_only_prob' .*\[0, 1\].*would fail"):
        region_only_check(res, at_least=1.5)
    # a logit drop is unbounded: the same bound is a real claim there (the drop is 7.5)
    check = drop_check(res, at_most=20, score="logit")
    assert check.status is Status.PASS and check.measured == pytest.approx(7.5, abs=1e-4)
