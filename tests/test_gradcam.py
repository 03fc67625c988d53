"""Grad-CAM and region share against analytic answers on the hand-weighted square detector."""
import numpy as np
import pytest

from known_models import expected_cam, nested_square_model, square_images
from pytest_modelaudit.core import ImageSet, Status, gradcam, load_model, share_check
from pytest_modelaudit.core.data.regions import downsample_mask, region_share


def test_gradcam_equals_analytic_map_and_peaks_on_the_square(square_net, squares):
    imgs, masks = squares
    res = gradcam(square_net, imgs, "square")
    assert res.layer == "pool" and res.grid == (8, 8)
    np.testing.assert_allclose(res.maps, expected_cam(imgs), rtol=1e-5, atol=1e-6)
    for i, (r, c) in enumerate([(2, 2), (8, 8), (4, 10), (10, 2)]):
        peak = np.unravel_index(np.argmax(res.maps[i]), res.maps[i].shape)
        assert (r // 2 <= peak[0] < r // 2 + 2) and (c // 2 <= peak[1] < c // 2 + 2)
    up = res.upsampled()
    assert up.shape == (4, 16, 16) and up.min() >= 0
    rows, cols = np.unravel_index(up.reshape(4, -1).argmax(1), (16, 16))
    assert masks[np.arange(4), rows, cols].all()  # the upsampled peak lies on the square


def test_gradcam_for_the_other_class_is_all_zero(square_net, squares):
    # d logit(none) / d pool = -200/64: every weighted channel is negative, ReLU leaves nothing
    res = gradcam(square_net, squares[0], "none")
    assert (res.maps == 0).all() and (res.signed <= 0).all() and res.signed.min() < 0


def test_nested_model_gives_the_same_map(square_net, squares):
    nested = load_model(nested_square_model(), classes=["square", "none"])
    a = gradcam(square_net, squares[0], "square").maps
    b = gradcam(nested, squares[0], "square").maps
    np.testing.assert_allclose(a, b, rtol=1e-6)


def test_mask_is_area_downsampled_to_the_grid():
    mask = np.zeros((1, 16, 16), np.float32)
    mask[0, 0:3, 0:2] = 1  # covers cell (0,0) fully, cell (1,0) half
    grid = downsample_mask(mask, (8, 8))
    assert grid[0, 0, 0] == 1.0 and grid[0, 1, 0] == 0.5 and grid.sum() == pytest.approx(1.5)
    odd = downsample_mask(np.ones((1, 15, 15), np.float32), (4, 4))
    np.testing.assert_allclose(odd, 1.0, rtol=1e-6)


def test_region_share_and_lift_known_values():
    maps = np.zeros((1, 2, 2), np.float32)
    maps[0] = [[3.0, 1.0], [0.0, -5.0]]  # negative evidence is ignored
    mask = np.zeros((1, 4, 4), np.float32)
    mask[0, :2, :2] = 1  # the top-left cell
    rs = region_share(maps, mask)
    assert rs.share[0] == pytest.approx(0.75) and rs.area[0] == pytest.approx(0.25)
    assert rs.lift[0] == pytest.approx(3.0)


def test_share_check_pass_and_fail(square_net, squares):
    imgs, masks = squares
    res = gradcam(square_net, imgs, "square")
    on_square = share_check(res, masks, at_least=0.99, region_name="square")
    assert on_square.status is Status.PASS and on_square.measured == pytest.approx(1.0)
    assert on_square.metrics["lift"] == pytest.approx(16.0)  # 4 of 64 cells hold all the mass
    background = share_check(res, 1 - masks, at_most=0.3, region_name="background")
    assert background.status is Status.PASS and background.measured == pytest.approx(0.0)
    wrong = share_check(res, masks, at_most=0.3, region_name="square")
    assert wrong.status is Status.FAIL and wrong.measured == pytest.approx(1.0)


def test_all_zero_heatmap_is_inconclusive_never_pass(square_net, squares):
    imgs, masks = squares
    res = gradcam(square_net, imgs, "none")
    check = share_check(res, masks, at_most=0.3, region_name="square")
    assert check.status is Status.INCONCLUSIVE and "all zero" in check.reason


def test_image_without_square_gives_zero_map_and_is_excluded(square_net):
    imgs, masks = square_images(4)
    imgs[3] = 0.2  # no square: the detector is silent, the map is all zero
    res = gradcam(square_net, imgs, "square")
    check = share_check(res, masks, at_least=0.9, region_name="square")
    assert check.status is Status.PASS and check.metrics["excluded_images"] == 1
    imgs[1:] = 0.2  # 3 of 4 degenerate: too few usable images
    check = share_check(gradcam(square_net, imgs, "square"), masks, at_least=0.9)
    assert check.status is Status.INCONCLUSIVE and "only 1 of 4" in check.reason


def test_empty_image_set_is_inconclusive(square_net):
    empty = ImageSet.from_arrays(np.zeros((0, 16, 16, 3), np.float32))
    res = gradcam(square_net, empty, "square")
    check = share_check(res, np.zeros((0, 16, 16)), at_most=0.3)
    assert check.status is Status.INCONCLUSIVE and "no images" in check.reason


def test_region_covering_nothing_is_inconclusive(square_net, squares):
    imgs, _ = squares
    res = gradcam(square_net, imgs, "square")
    check = share_check(res, np.zeros((4, 16, 16)), at_most=0.3, region_name="snow")
    assert check.status is Status.INCONCLUSIVE and "covers nothing" in check.reason


def test_thresholds_are_validated(square_net, squares):
    from pytest_modelaudit.errors import ModelAuditError

    res = gradcam(square_net, squares[0], "square")
    with pytest.raises(ModelAuditError, match="at_most=... and/or at_least"):
        share_check(res, squares[1])
    with pytest.raises(ModelAuditError, match="no value can pass"):
        share_check(res, squares[1], at_most=0.1, at_least=0.5)
    with pytest.raises(Exception, match=r"region.*shape \(3, 16, 16\)"):
        share_check(res, squares[1][:3], at_most=0.5)


def test_non_spatial_layer_is_refused(square_net, squares):
    from pytest_modelaudit.errors import LayerUnsuitableError

    with pytest.raises(LayerUnsuitableError, match="not a spatial map"):
        gradcam(square_net, squares[0], "square", layer="gap")
