"""Occlusion on the square detector: the map equals the analytic one, borders and overlaps included."""
import numpy as np
import pytest

from known_models import SIZE, expected_square_logit, square_conftest
from pytest_modelaudit.core import Status
from pytest_modelaudit.errors import ModelAuditError
from pytest_modelaudit.core.checks.heatmap import share_check
from pytest_modelaudit.core.heatmaps.occlusion import occlusion, window_starts


def expected_map(images: np.ndarray, patch: int, stride: int, fill: float) -> np.ndarray:
    """Brute force: occlude every window, take the analytic logit, average the drops over coverage."""
    starts = window_starts(SIZE, patch, stride)
    total = np.zeros((len(images), SIZE, SIZE))
    count = np.zeros((SIZE, SIZE))
    base = expected_square_logit(images)
    for y in starts:
        for x in starts:
            occluded = images.copy()
            occluded[:, y : y + patch, x : x + patch] = fill
            total[:, y : y + patch, x : x + patch] += (base - expected_square_logit(occluded))[:, None, None]
            count[y : y + patch, x : x + patch] += 1
    assert (count > 0).all()  # full coverage
    return total / count


def test_window_starts_cover_the_borders():
    assert window_starts(16, 4, 2) == [0, 2, 4, 6, 8, 10, 12]
    assert window_starts(16, 5, 3) == [0, 3, 6, 9, 11]  # last window flush with the border
    assert window_starts(7, 7, 3) == [0]
    for size, patch, stride in [(16, 5, 3), (224, 32, 16), (15, 4, 4), (9, 3, 3), (10, 1, 1)]:
        covered = np.zeros(size, bool)
        for s in window_starts(size, patch, stride):
            covered[s : s + patch] = True
        assert covered.all()


@pytest.mark.parametrize("patch,stride", [(4, 2), (5, 3), (6, 6)])
def test_occlusion_map_is_the_analytic_map(square_net, squares, patch, stride):
    imgs, _ = squares
    res = occlusion(square_net, imgs, "square", patch=patch, stride=stride, fill=0.0)
    np.testing.assert_allclose(res.maps, expected_map(imgs, patch, stride, 0.0), atol=1e-4)
    np.testing.assert_allclose(res.base_logit, expected_square_logit(imgs), atol=1e-4)
    assert res.windows == len(window_starts(SIZE, patch, stride)) ** 2


def test_occlusion_drops_only_where_the_square_is(square_net, squares):
    imgs, masks = squares
    res = occlusion(square_net, imgs, "square", patch=4, stride=2)  # default fill: the set's mean
    far = np.ones_like(masks, bool)
    for i, (r, c) in enumerate([(2, 2), (8, 8), (4, 10), (10, 2)]):
        far[i, max(0, r - 4) : r + 8, max(0, c - 4) : c + 8] = False
        assert res.maps[i][masks[i] > 0].min() > 0  # covering the square always costs score
    assert np.abs(res.maps[far]).max() < 1e-4  # windows away from the square change nothing
    assert res.prob_maps.max() <= 1 and res.fill == "mean"
    # occlusion spreads the evidence over every window touching the square: the share is the analytic one
    from pytest_modelaudit.core.data.regions import region_share

    analytic = region_share(expected_map(imgs, 4, 2, float(res.inputs.images.mean())), masks).share.mean()
    check = share_check(res, masks, at_least=0.4, region_name="square")
    assert check.status is Status.PASS and check.claim.startswith("Occlusion mass share")
    assert check.measured == pytest.approx(analytic, abs=1e-3) and check.metrics["lift"] > 5


def test_default_stride_is_half_the_patch(square_net, squares):
    res = occlusion(square_net, squares[0], "square", patch=6)
    assert res.stride == (3, 3)


def test_no_positive_drop_is_inconclusive(square_net, squares):
    imgs, masks = squares
    res = occlusion(square_net, imgs, "none", patch=4, stride=2, fill=0.0)  # occluding the square only helps 'none'
    assert res.maps.max() <= 1e-6
    check = share_check(res, masks, at_most=0.3)
    assert check.status is Status.INCONCLUSIVE and "occlusion map is all zero" in check.reason


@pytest.mark.parametrize("kwargs,match", [
    (dict(patch=17), "patch 17x17 must be at least 1x1 and fit the 16x16"),
    (dict(patch=0), "patch 0x0"),
    (dict(patch=4, stride=0), "stride must be at least 1"),
    (dict(patch=2, stride=5), "stride 5x5 is larger than the patch 2x2"),
    (dict(patch=4, fill=["mean", "blur"]), "one fill"),
    (dict(patch=4, fill="sand"), "Unknown fill 'sand'"),
    (dict(patch="big"), "patch must be an int"),
])
def test_bad_occlusion_arguments(square_net, squares, kwargs, match):
    with pytest.raises(ModelAuditError, match=match):
        occlusion(square_net, squares[0], "square", **kwargs)


def test_occlusion_audit_end_to_end(pytester, request):
    import json

    pytester.makeconftest(square_conftest(request.path.parent))
    pytester.makepyfile('''
def test_occlusion_on_square(audit, setup):
    model, squares = setup
    occ = audit.occlusion(model, squares, "square", patch=4, stride=2)
    occ.expect_lift(region=squares.masks, region_name="square", at_least=5)
    occ.expect_share(region=1 - squares.masks, region_name="background", at_most=0.3)
''')
    result = pytester.runpytest("--model-audit")
    result.assert_outcomes(failed=1)  # 56% of the occlusion mass falls just outside the square
    result.stdout.fnmatch_lines(["*FAIL: Occlusion mass share on region 'background' for 'square' is at most 0.30"])
    data = json.loads((pytester.path / "model-audit-report" / "results.json").read_text())
    passed, failed = data["audits"][0]["checks"]
    assert passed["status"] == "PASS" and failed["status"] == "FAIL"
    ev = passed["evidence"]
    assert ev["method"] == "occlusion" and ev["score"] == "logit drop" and ev["grid"] == [16, 16]
    assert ev["layer"].startswith("input (patch 4x4, stride 2x2, fill 'mean')")
    html = (pytester.path / "model-audit-report" / "index.html").read_text()
    assert "occlusion" in html.lower() and (pytester.path / "model-audit-report" / "report.pdf").exists()


def test_other_classes_and_first_images_reuse_the_windows(square_net, squares):
    """The honesty checks' occlusion maps (the first images, the other classes) are windows the evidence already
    ran: no pass, the same maps as a fresh computation; another fill is other windows and runs its own passes."""
    from pytest_modelaudit.core.cache.memory import SESSION_CACHE
    from pytest_modelaudit.core.model import passes

    imgs, _ = squares
    SESSION_CACHE.clear()
    with passes.tally() as t:
        full = occlusion(square_net, imgs, "square", patch=4, stride=2, fill=0.0)
    assert t.forward == len(imgs) * (full.windows + 1)
    with passes.tally() as t:
        first = occlusion(square_net, imgs[:3], "square", patch=4, stride=2, fill=0.0)
        other = occlusion(square_net, imgs[:3], "none", patch=4, stride=2, fill=0.0)
    assert t.forward == 0
    np.testing.assert_array_equal(first.maps, full.maps[:3])
    with SESSION_CACHE.bypassed():
        fresh = occlusion(square_net, imgs[:3], "none", patch=4, stride=2, fill=0.0)
    np.testing.assert_allclose(other.maps, fresh.maps, atol=1e-5)
    assert np.abs(fresh.maps).max() > 0  # the other class's map is not trivially equal
    with passes.tally() as t:
        occlusion(square_net, imgs[:3], "none", patch=4, stride=2, fill=0.5)
    assert t.forward == 3 * (full.windows + 1)
    SESSION_CACHE.clear()
