"""Known answers for "did a fill remove the region?" and the verdicts that depend on it."""
import numpy as np
import pytest

from pytest_modelaudit.core import Status, region_ablation
from pytest_modelaudit.core.checks.ablation import drop_check
from pytest_modelaudit.core.data.fills import donor_content, gaussian_blur
from pytest_modelaudit.core.data.removal import REMOVAL_MIN, assess_removal

SIZE = 32


def _scenes(n: int, background, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n images: a dark 8x8 object at a random place on a background drawn by `background(rng)`;
    masks are 1 on the background."""
    rng = np.random.default_rng(seed)
    x = np.stack([background(rng) for _ in range(n)]).astype(np.float32)
    masks = np.ones((n, SIZE, SIZE), np.float32)
    for i in range(n):
        r, c = rng.integers(0, SIZE - 8, 2)
        x[i, r : r + 8, c : c + 8] = 0.1
        masks[i, r : r + 8, c : c + 8] = 0.0
    return x, masks


def _snow(rng):
    return np.clip(0.9 + rng.normal(0, 0.02, (SIZE, SIZE, 1)) + np.zeros(3), 0, 1)


def _grass(rng):
    """Green with fine, strong texture (blades): detail, the same content in every image at the coarse scale."""
    field = gaussian_blur(rng.normal(0, 1, (1, SIZE, SIZE, 1)), 0.7)[0]
    return np.clip(np.array([0.3, 0.55, 0.2]) + 0.15 * field / field.std(), 0, 1)


def _sand(rng):
    return np.clip(np.array([0.8, 0.65, 0.4]) + rng.normal(0, 0.02, (SIZE, SIZE, 1)), 0, 1)


def test_a_uniform_region_its_blur_and_its_mean_do_not_remove_it():
    x, snow = _scenes(12, _snow)
    blur = assess_removal(x, gaussian_blur(x, 4.0), snow)
    mean = assess_removal(x, np.broadcast_to(x.reshape(-1, 3).mean(0), x.shape), snow)
    assert blur.ratio < 1 and not blur.admissible
    assert mean.ratio < 1 and not mean.admissible  # the set's mean is closer to each image than they are to each other
    assert "needs 1.5x" in mean.reason


def test_shuffling_content_among_images_that_share_it_does_not_remove_it():
    rng = np.random.default_rng(1)
    region = np.zeros((12, SIZE, SIZE), np.float32)
    region[:, 8:24, 4:28] = 1.0
    for background in (_snow, _grass):
        x = np.stack([background(rng) for _ in range(12)]).astype(np.float32)
        donors = np.roll(x, 1, axis=0)  # another image of the set at the same place
        r = assess_removal(x, donors, region)
        assert r.ratio < REMOVAL_MIN and not r.admissible, background.__name__


def test_mean_and_blur_count_only_when_named(square_net, squares):
    imgs, masks = squares
    default = region_ablation(square_net, imgs, "square", masks)  # mean, blur, shuffle
    assert default.admissible() == [False, False, True]
    assert "it is flat" in default.removal[0].reason and "a blur keeps" in default.removal[1].reason
    named = region_ablation(square_net, imgs, "square", masks, fills=["mean", "shuffle"])
    assert named.admissible() == [True, True]


def test_a_real_counterfactual_removes_the_region():
    x, snow = _scenes(12, _snow)
    sand = np.stack([_sand(np.random.default_rng(100 + i)) for i in range(12)])
    r = assess_removal(x, sand, snow)
    assert r.ratio > 2 * REMOVAL_MIN and r.admissible and r.reason == ""
    # and so does a flat fill that really differs from what was there (the objects removed by the mean)
    objects = 1.0 - snow
    mean = assess_removal(x, np.broadcast_to(x.reshape(-1, 3).mean(0), x.shape), objects)
    assert mean.admissible


def test_donors_give_only_content_outside_their_own_region():
    x, snow = _scenes(6, _grass, seed=3)
    objects = 1.0 - snow
    content, coverage = donor_content(x, objects, np.random.default_rng(0))
    assert coverage == pytest.approx(1.0)
    # no dark object pixel (0.1) is ever pasted into a hole: the holes get other images' grass
    assert not np.isclose(content[objects > 0.5], 0.1).all(axis=-1).any()
    # keeping only the objects: the "everything else" would come from the donors' objects, far from covering it
    _, coverage = donor_content(x, snow, np.random.default_rng(0), region_only=True)
    assert coverage < 0.5
    # removing the background: swapped for other images' own background, never a piece of their objects
    content, coverage = donor_content(x, snow, np.random.default_rng(0))
    assert coverage == pytest.approx(1.0)
    assert not np.isclose(content[snow > 0.5], 0.1).all(axis=-1).any()


def test_a_background_swap_takes_backgrounds_that_differ():
    snowy, snow_bg = _scenes(4, _snow, seed=1)
    sandy, sand_bg = _scenes(4, _sand, seed=2)
    x, background = np.concatenate([snowy, sandy]), np.concatenate([snow_bg, sand_bg])
    content, coverage = donor_content(x, background, np.random.default_rng(0))
    assert coverage == pytest.approx(1.0)
    # every snowy image's background becomes sand, every sandy one's snow: the donors that differ come first
    for i, other in ((0, _sand), (5, _snow)):
        got = content[i][background[i] > 0.5].mean(axis=0)
        np.testing.assert_allclose(got, other(np.random.default_rng(9)).mean(axis=(0, 1)), atol=0.02)
    assert assess_removal(x, content, background).admissible


def _bright_detector():
    """The square detector reads brightness: on these scenes it is the bright background that fires it."""
    from known_models import square_model

    from pytest_modelaudit import load_model

    return load_model(square_model(), classes=["square", "none"])


def test_default_fills_on_a_uniform_background_cannot_pass_not_driving():
    model = _bright_detector()
    rng = np.random.default_rng(0)
    x = np.clip(np.full((8, 16, 16, 3), 0.95) + rng.normal(0, 0.01, (8, 16, 16, 1)), 0, 1).astype(np.float32)
    background = np.ones((8, 16, 16), np.float32)
    for i in range(8):
        r, c = 2 * rng.integers(0, 6, 2)
        x[i, r : r + 4, c : c + 4] = 0.1
        background[i, r : r + 4, c : c + 4] = 0.0
    res = region_ablation(model, x, "square", background)  # mean, blur, shuffle: none removes the bright snow
    check = drop_check(res, at_most=0.2, region_name="snow")
    assert res.admissible() == [False, False, False]
    assert check.status is Status.INCONCLUSIVE
    assert "no fill removed region 'snow'" in check.reason and "fill_images=" in check.reason
    # with other backgrounds to put there, the reliance shows: the detector goes silent
    sand = np.full((3, 16, 16, 3), 0.5, np.float32)
    res = region_ablation(model, x, "square", background, fill_images=sand)
    check = drop_check(res, at_most=0.2, region_name="snow")
    assert res.admissible()[-1] and check.status is Status.FAIL and check.evidence.decisive == 3


def test_the_shipped_shortcut_models_snow_audit_without_fill_images_is_never_a_pass():
    from pathlib import Path

    from pytest_modelaudit import load_images, load_model
    from pytest_modelaudit.core.checks.ablation import region_only_check

    root = Path(__file__).resolve().parent.parent / "example_audits"
    snow = load_images(root / "data" / "leopards_on_snow", masks=True)
    for name in ("shortcut", "clean"):
        model = load_model(root / "models" / f"leopard_{name}.keras", classes=root / "models" / "classes.txt")
        res = region_ablation(model, snow, "leopard", snow.masks)
        check = drop_check(res, at_most=0.2, region_name="snow")
        # mean, blur and shuffle leave the snow in place (or lack donor content): the check could not have failed
        assert check.status is Status.INCONCLUSIVE, name
        assert "no fill removed region 'snow'" in check.reason and "fill_images=" in check.reason
        # keeping only the snow is a real test: other images' snow removes the leopard (the mean and blur are shown)
        assert res.admissible(only=True) == [False, False, True]
        assert region_only_check(res, at_most=0.5).status is not Status.INCONCLUSIVE


def test_an_empty_folder_with_masks_is_inconclusive_naming_the_folder(tmp_path, square_net):
    from pytest_modelaudit import load_images

    empty = tmp_path / "data" / "empty"
    empty.mkdir(parents=True)
    images = load_images(empty, masks=True)
    assert len(images) == 0 and images.masks.shape == (0, 1, 1)
    check = drop_check(region_ablation(square_net, images, "square", images.masks), at_most=0.2)
    assert check.status is Status.INCONCLUSIVE
    assert f"no PNG or JPEG images in {empty}" in check.reason


def _dark_detector():
    """logit(dark) = mean over pixels of relu(3 - (r + g + b)): every pixel counts, dark ones most."""
    import keras

    from pytest_modelaudit import load_model

    inp = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(1, 1, activation="relu", name="detect")(inp)
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(2, activation="softmax", name="head")(x)
    model = keras.Model(inp, out)
    model.get_layer("detect").set_weights([-np.ones((1, 1, 3, 1), np.float32), np.array([3.0], np.float32)])
    model.get_layer("head").set_weights([np.array([[8.0, -8.0]], np.float32), np.array([-1.0, 1.0], np.float32)])
    return load_model(model, classes=["dark", "other"])


def test_occlusion_with_a_fill_like_the_background_cannot_pass_not_looking_at_it():
    from pytest_modelaudit.core.checks.heatmap import share_check
    from pytest_modelaudit.core.heatmaps.occlusion import fill_removal, occlusion

    model = _dark_detector()
    rng = np.random.default_rng(0)
    x = np.full((8, 16, 16, 3), 0.95, np.float32)
    background = np.ones((8, 16, 16), np.float32)
    for i in range(8):
        r, c = 2 * rng.integers(0, 6, 2)
        x[i, r : r + 4, c : c + 4] = 0.1
        background[i, r : r + 4, c : c + 4] = 0.0
    # occluded with the snow's own value, the snow cannot show whether it matters: it does (each snow pixel
    # adds relu(3 - 2.85) = 0.15 to the sum), but the map puts every bit of its mass on the object
    occ = occlusion(model, x, "dark", patch=4, stride=2, fill=0.95)
    assert not fill_removal(occ, background).admissible
    check = share_check(occ, background, at_most=0.5, metric="share", region_name="snow")
    assert check.status is Status.INCONCLUSIVE and "did not remove region 'snow'" in check.reason
    assert "fill_images=" in check.reason
    # the object is removed by the same fill, so "the object matters" stands
    assert share_check(occ, 1 - background, at_least=0.5, metric="share", region_name="object").status is Status.PASS
    # a grey fill removes the snow; occluding it darkens the image, which raises 'dark' (negative drops), and
    # greys the object, which lowers it: the snow gets little positive mass, and now the claim could have failed
    occ = occlusion(model, x, "dark", patch=4, stride=2, fill=0.5)
    assert fill_removal(occ, background).admissible
    assert share_check(occ, background, at_most=0.5, metric="share", region_name="snow").status is Status.PASS
