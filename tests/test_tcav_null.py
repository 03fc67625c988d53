"""TCAV verdicts that could have gone the other way: uninformative layers, the pseudo-concept null, three outcomes,
contrasts with sibling concepts. Known answers on tiny real TensorFlow models (concept_data.py); no mocks."""
import numpy as np
import pytest
from scipy import stats

from concept_data import SIZE, dull_set, make_root, random_set, red_pixel_model, red_targets_set
from pytest_modelaudit.core import load_model
from pytest_modelaudit.errors import ModelAuditError
from pytest_modelaudit.core.tcav import stats as tcav_stats
from pytest_modelaudit.core.cache.memory import MemoryCache
from pytest_modelaudit.core.data.concepts import ConceptError, ConceptLibrary
from pytest_modelaudit.core.tcav.informative import GRADIENT_VARIATION_MIN, gradient_variation
from pytest_modelaudit.core.tcav.scores import tcav
from pytest_modelaudit.core.tcav.checks import depends_check, independent_check, more_than_check, opposes_check
from pytest_modelaudit.core.checks.verdicts import Status

pytestmark = pytest.mark.filterwarnings("ignore:Concept folder")


@pytest.fixture(scope="module")
def model():
    return load_model(red_pixel_model(), classes=["red_class", "other"])


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    """Untinted random sets; 12 of 30 targets carry a red patch at a random place."""
    return ConceptLibrary(make_root(tmp_path_factory.mktemp("plain")), min_images=20, warn_images=20)


@pytest.fixture(scope="module")
def tinted(tmp_path_factory):
    """Every random set has its own colour tint; every target carries a red patch."""
    root = make_root(tmp_path_factory.mktemp("tinted"), tinted=True, red_targets=30)
    return ConceptLibrary(root, min_images=20, warn_images=20)


def _at_z(result, z: float, second: str | None = None):
    """`result` with its layer's mean directional derivative set `z` pseudo-concept sd (prediction scale) from the
    null's; with `second`, the set copy is added as a second layer of that name and the real one kept."""
    from dataclasses import replace

    layer = result.layers[0]
    null = layer.null_magnitudes
    scale = null.std(ddof=1) * np.sqrt(1 + 1 / len(null))
    moved = replace(layer, concept_magnitudes=np.full_like(layer.concept_magnitudes, null.mean() + z * scale))
    return replace(result, layers=[layer, replace(moved, layer=second)] if second else [moved])


# --------------------------------------------------------------------------------------- informative layers
def test_layer_feeding_global_pooling_and_a_linear_head_is_not_informative(model, lib):
    # feat -> ReLU ("relu") -> GAP -> Dense: the gradient at "relu" is head weight / 64 for every image
    res = tcav(model, "red_class", "red", layers=["feat", "relu"], concepts=lib, cache=MemoryCache())
    feat, relu = res.layers
    assert relu.gradient_variation < 1e-9 and not relu.informative
    assert feat.gradient_variation > 0.5 and feat.informative
    assert "is the same for every image" in relu.informative_reason
    assert "only measures the sign of <red_class weights, CAV>" in relu.informative_reason
    assert "use an earlier layer, e.g. 'feat'" in relu.informative_reason
    check = depends_check(res)
    assert check.status is Status.PASS  # decided at feat
    verdicts = {s.layer: s.verdict for s in check.evidence.layers}
    assert verdicts == {"feat": "PASS", "relu": "INCONCLUSIVE"}
    assert check.metrics["informative[relu]"] == 0.0 and check.metrics["informative[feat]"] == 1.0
    assert check.metrics["grad_var[relu]"] < 1e-9 and "'relu': not informative" in check.detail

    only = tcav(model, "red_class", "red", layers=["relu"], concepts=lib, cache=MemoryCache())
    np.testing.assert_allclose(only.layers[0].concept_scores, 1.0)  # a score of 1 that measures nothing
    for claim in (depends_check(only), opposes_check(only), independent_check(only)):
        assert claim.status is Status.INCONCLUSIVE, claim.kind
        assert "is the same for every image" in claim.reason


def test_exactly_constant_gradient_on_a_trained_style_conv_gap_dense_model(tmp_path):
    """Conv(relu) -> Conv(relu) -> GAP -> Dense with random weights: constant at the last conv, not at the first."""
    import keras

    keras.utils.set_random_seed(3)
    inp = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c1")(inp)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    net = load_model(keras.Model(inp, keras.layers.Dense(2, name="head")(x)), classes=["a", "b"])
    rng = np.random.default_rng(0)
    images = rng.random((24, SIZE, SIZE, 3)).astype(np.float32)
    _, _, (g1, g2, g3) = net.capture(images, ["c1", "c2", "gap"], 0)
    assert gradient_variation(g2) < 1e-9 and gradient_variation(g3) < 1e-9
    assert gradient_variation(g1) > GRADIENT_VARIATION_MIN * 4


def test_all_zero_gradients_are_inconclusive(model, lib):
    # no target pixel has R > 0.5: the ReLU is off everywhere and every gradient at feat is 0
    dull = dull_set(np.random.default_rng(5), 24).astype(np.float32)
    res = tcav(model, "red_class", "red", layers=["feat"], concepts=lib, target_images=dull, cache=MemoryCache())
    layer = res.layers[0]
    assert np.isnan(layer.gradient_variation) and not layer.informative
    np.testing.assert_array_equal(layer.concept_scores, 0.0)
    for claim in (depends_check(res), opposes_check(res), independent_check(res)):
        assert claim.status is Status.INCONCLUSIVE and "zero for every target image" in claim.reason


# --------------------------------------------------------------------------------------- the pseudo-concept null
def test_random_sets_scored_as_concepts_are_not_depends(model, tinted):
    """Each tinted random set is a colour of its own: scored as the concept (against the other random sets), one
    scores 1.0 on every run and Welch against the random runs calls it significant; the null does not."""
    cache = MemoryCache()
    results = {r: tcav(model, "red_class", r, layers=["feat"], concepts=tinted, cache=cache)
               for r in tinted.random_sets}
    for name, res in results.items():
        assert depends_check(res).status is not Status.PASS, name
        assert opposes_check(res).status is not Status.PASS, name
    extreme = max(results.values(), key=lambda r: r.layers[0].concept_scores.mean())
    layer = extreme.layers[0]
    assert layer.concept_scores.mean() >= 0.9 and np.mean(layer.concept_accuracies) >= 0.9  # far from 0.5, represented
    assert tcav_stats.welch(layer.concept_scores, layer.random_scores, "greater") < 0.05  # the old test's PASS
    assert layer.null_scores.std(ddof=1) > 0.3  # fixed sets' means spread that widely


def test_known_feature_direction_gives_depends_and_its_negative_is_not_shown_to_oppose(model, lib):
    """logit(red_class) = mean(relu(R - 0.5)): the red concept carries +R; green carries less R than random images
    but adding green to an image leaves the logit as it is, so its negative sign alone must not show "opposes"."""
    from pytest_modelaudit.core.tcav.layers import GREY_Z
    from pytest_modelaudit.core.tcav.layers import MIN_SINGLE_LAYER_Z as MIN_MAGNITUDE_Z  # one layer decides

    cache = MemoryCache()
    red = tcav(model, "red_class", "red", layers=["feat"], concepts=lib, cache=cache)
    green = tcav(model, "red_class", "green", layers=["feat"], concepts=lib, cache=cache)
    assert depends_check(red).status is Status.PASS and opposes_check(red).status is Status.FAIL
    assert depends_check(red).evidence.layers[0].magnitude_z >= MIN_MAGNITUDE_Z
    opposes = opposes_check(green)
    assert opposes.status is Status.INCONCLUSIVE and depends_check(green).status is Status.FAIL
    s = opposes.evidence.layers[0]
    assert s.null.effect == pytest.approx(-0.2) and -MIN_MAGNITUDE_Z < s.magnitude_z <= -GREY_Z
    assert "neither shown nor refuted" in opposes.reason
    assert independent_check(green).status is Status.INCONCLUSIVE


def test_independent_fails_when_the_concept_pushes_the_class_away(model, lib):
    """At a directional derivative beyond the gate (set here), a concept that pushes the class away refutes independence."""
    from pytest_modelaudit.core.tcav.layers import MIN_SINGLE_LAYER_Z

    green = tcav(model, "red_class", "green", layers=["feat"], concepts=lib, cache=MemoryCache())
    check = independent_check(_at_z(green, -(MIN_SINGLE_LAYER_Z + 1)), margin=0.1)  # one layer decides
    assert check.status is Status.FAIL
    assert "pushes the class away" in check.detail and check.measured == pytest.approx(-0.2)
    assert check.threshold.at_most == 0.1 and check.threshold.at_least == -0.1


def test_pair_matrix_is_computed_once_per_layer_and_class(model, lib):
    cache = MemoryCache()
    a = tcav(model, "red_class", "red", layers=["feat"], concepts=lib, cache=cache)
    b = tcav(model, "red_class", "blue", layers=["feat"], concepts=lib, cache=cache)
    keys = [k for k in cache._data if k[0] == "baseline"]
    assert len(keys) == 1
    matrix = cache._data[keys[0]]
    assert matrix.shape == (4, 8, 8) and np.isnan(np.diag(matrix[0])).all()
    # CAV(j, i) is the negation of CAV(i, j): the two scores split the images with a non-zero derivative
    s = matrix[0]
    off = ~np.eye(8, dtype=bool)
    np.testing.assert_allclose((s + s.T)[off], 0.4)  # the 12 of 30 targets with a red patch
    np.testing.assert_array_equal(a.layers[0].null_scores, b.layers[0].null_scores)
    np.testing.assert_allclose(a.layers[0].null_scores, np.nanmean(s, axis=1))
    # the mean directional derivatives flip sign with the CAV, and the pseudo-concepts' are their row means
    mags = matrix[3]
    np.testing.assert_allclose((mags + mags.T)[off], 0.0, atol=1e-9)
    np.testing.assert_allclose(a.layers[0].null_magnitudes, np.nanmean(mags, axis=1))


def test_prediction_test_and_tost_match_the_t_distribution():
    null = np.array([0.3, 0.45, 0.5, 0.55, 0.6, 0.4, 0.7, 0.5])
    p = len(null)
    se = null.std(ddof=1) * np.sqrt(1 + 1 / p)
    c = tcav_stats.prediction_test(0.9, null, margin=0.1)
    t = (0.9 - null.mean()) / se
    assert c.p_greater == pytest.approx(stats.t.sf(t, p - 1))
    assert c.p_less == pytest.approx(stats.t.cdf(t, p - 1))
    assert c.effect == pytest.approx(0.9 - null.mean())
    near = tcav_stats.prediction_test(null.mean(), null, margin=0.5)
    assert near.p_equivalent == pytest.approx(stats.t.sf(0.5 / se, p - 1))  # both one-sided tests agree here
    assert near.p_equivalent < 0.05 and tcav_stats.prediction_test(null.mean(), null, margin=0.05).p_equivalent > 0.05
    assert np.isnan(tcav_stats.prediction_test(0.9, [0.5, 0.5, 0.5]).p_greater)  # a null without spread judges nothing
    d = tcav_stats.difference_test(0.9, 0.1, null)
    assert d.p_greater == pytest.approx(stats.t.sf(0.8 / (null.std(ddof=1) * np.sqrt(2)), p - 1))



def test_a_null_wider_than_the_margin_allows_cannot_show_independence():
    z = np.array([-1.5, -1.0, -0.5, 0.0, 0.0, 0.5, 1.0, 1.5])
    z = z / z.std(ddof=1)  # unit sd, mean 0
    limit = tcav_stats.widest_null_for_equivalence(0.1, len(z), 0.05)
    assert limit == pytest.approx(0.1 / (stats.t.ppf(0.95, 7) * np.sqrt(1 + 1 / 8)))
    # a concept exactly at the null's mean: shown within +-0.1 just under the limit, never just over it
    assert tcav_stats.prediction_test(0.5, 0.5 + 0.99 * limit * z, margin=0.1).p_equivalent < 0.05
    assert tcav_stats.prediction_test(0.5, 0.5 + 1.01 * limit * z, margin=0.1).p_equivalent > 0.05

# --------------------------------------------------------------------------------------- contrasts
def _part_sets(rng: np.random.Generator, n: int = 24) -> dict[str, np.ndarray]:
    """Three 'parts' that share redness (what the model reads) and differ in green / blue (what it ignores)."""
    def part(g: float, b: float) -> np.ndarray:
        im = np.empty((n, SIZE, SIZE, 3))
        im[..., 0] = 0.75 + 0.2 * rng.random((n, SIZE, SIZE))
        im[..., 1] = g + 0.2 * rng.random((n, SIZE, SIZE))
        im[..., 2] = b + 0.2 * rng.random((n, SIZE, SIZE))
        return im

    return {"ears": part(0.7, 0.05), "leaf": part(0.05, 0.7), "tail": part(0.05, 0.05)}


@pytest.fixture(scope="module")
def parts():
    rng = np.random.default_rng(11)
    sets = _part_sets(rng)
    sets.update({f"random500_{j}": random_set(rng, 24) for j in range(10)})
    sets["target"] = red_targets_set(rng, 30, 30)
    return ConceptLibrary.from_arrays({k: v.astype(np.float32) for k, v in sets.items()}, min_images=20)


def test_contrast_removes_what_sibling_concepts_share(model, parts):
    cache = MemoryCache()
    target = parts.images("target").images
    plain = tcav(model, "red_class", "ears", layers=["feat"], concepts=parts, target_images=target, cache=cache)
    # 'ears' beats random (it is red, like every part), though not beyond the single-layer gate: not shown
    assert depends_check(plain).status is Status.INCONCLUSIVE and plain.layers[0].concept_scores.mean() > 0.9
    res = tcav(model, "red_class", "ears", layers=["feat"], concepts=parts, target_images=target,
               contrast=["leaf", "tail"], cache=cache)
    layer = res.layers[0]
    assert res.contrast == ["leaf", "tail"] and layer.contrast == ["leaf", "tail"]
    assert len(layer.contrast_scores) == 2 and (layer.contrast_accuracies > 0.9).all()  # siblings are separable
    assert len(layer.contrast_null) == 10
    np.testing.assert_array_equal(layer.concept_scores, plain.layers[0].concept_scores)  # random side unchanged
    check = depends_check(res)
    assert check.status is Status.FAIL  # but not more than its siblings: redness is shared
    s = check.evidence.layers[0]
    assert s.contrast is not None and s.null is not None and s.deciding is s.contrast
    assert s.null.p_greater < 0.05 and s.contrast.p_greater > 0.05
    assert "siblings 'leaf', 'tail'" in check.claim and "against random" in check.detail
    assert "contrast[feat]" in check.metrics and "null_mean[feat]" in check.metrics


def test_a_concept_its_siblings_cannot_be_told_from_names_that_accuracy(model, parts):
    """Separable from random images (accuracy ~1) but not from its siblings: the message gives the siblings' accuracy."""
    from dataclasses import replace

    target = parts.images("target").images
    res = tcav(model, "red_class", "ears", layers=["feat"], concepts=parts, target_images=target,
               contrast=["leaf", "tail"], cache=MemoryCache())
    layer = res.layers[0]
    blurred = replace(res, layers=[replace(layer, contrast_accuracies=np.full_like(layer.contrast_accuracies, 0.55))])
    check = depends_check(blurred)
    assert check.status is Status.INCONCLUSIVE
    assert "'feat' (CAV accuracy against the siblings 0.55 < 0.7)" in check.reason
    assert f"CAV accuracy {np.mean(layer.concept_accuracies):.2f} < 0.7" not in check.reason


def test_contrast_is_deterministic_and_checked(model, parts):
    target = parts.images("target").images
    runs = [tcav(model, "red_class", "ears", layers=["feat"], concepts=parts, target_images=target,
                 contrast=["leaf"], cache=MemoryCache()) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].layers[0].contrast_null, runs[1].layers[0].contrast_null)
    np.testing.assert_array_equal(runs[0].layers[0].contrast_scores, runs[1].layers[0].contrast_scores)
    kwargs = dict(layers=["feat"], concepts=parts, target_images=target)
    with pytest.raises(ConceptError, match=r"no concept set 'lef'.*Closest valid names: 'leaf'"):
        tcav(model, "red_class", "ears", contrast=["lef"], **kwargs)
    with pytest.raises(ModelAuditError, match="lists the concept 'ears' itself"):
        tcav(model, "red_class", "ears", contrast=["ears"], **kwargs)
    with pytest.raises(ModelAuditError, match="random sets form the null"):
        tcav(model, "red_class", "ears", contrast=["random500_1"], **kwargs)
    with pytest.raises(ModelAuditError, match="not available with mode='tcav-reference'"):
        tcav(model, "red_class", "ears", contrast=["leaf"], mode="tcav-reference", **kwargs)
    with pytest.raises(ConceptError, match="needs at least 3 random sets"):
        tcav(model, "red_class", "ears", contrast=["leaf", "tail"], runs=2, **kwargs)


def test_reference_mode_is_not_gated_and_more_than_uses_the_null(model, lib):
    cache = MemoryCache()
    ref = tcav(model, "red_class", "red", layers=["relu"], concepts=lib, mode="tcav-reference", cache=cache)
    assert depends_check(ref).status is Status.PASS  # tensorflow/tcav's verdict, kept for parity
    with pytest.raises(ModelAuditError, match="expect_opposes needs the default mode"):
        opposes_check(ref)
    red = tcav(model, "red_class", "red", layers=["feat"], concepts=lib, cache=cache)
    blue = tcav(model, "red_class", "blue", layers=["feat"], concepts=lib, cache=cache)
    check = more_than_check(red, blue)
    assert check.status is Status.PASS and check.measured == pytest.approx(0.4)
    assert more_than_check(blue, red).status is Status.FAIL


def test_a_consistent_sign_without_a_large_directional_derivative_decides_nothing(model, lib):
    """Concept sets differ from random images in more than the concept, so a score of 0 or 1 alone is not enough:
    depends / opposes also need the mean directional derivative MIN_SINGLE_LAYER_Z pseudo-concept sd from theirs
    (one layer decides here)."""
    from pytest_modelaudit.core.tcav.layers import MIN_SINGLE_LAYER_Z as MIN_MAGNITUDE_Z  # one layer decides
    from pytest_modelaudit.core.tcav.layers import GREY_Z

    red = tcav(model, "red_class", "red", layers=["feat"], concepts=lib, cache=MemoryCache())
    assert depends_check(red).evidence.layers[0].magnitude_z >= MIN_MAGNITUDE_Z  # the real red: strong

    def at(z: float):
        return _at_z(red, z)

    # between GREY_Z and MIN_MAGNITUDE_Z ignored and relied-on concepts both occur: neither shown nor refuted
    grey = depends_check(at(MIN_MAGNITUDE_Z - 1))
    assert grey.status is Status.INCONCLUSIVE and grey.evidence.layers[0].magnitude_z == pytest.approx(MIN_MAGNITUDE_Z - 1)
    assert f"between +{GREY_Z:g} and +{MIN_MAGNITUDE_Z:g} pseudo-concept sd" in grey.reason and "contrast=" in grey.reason
    assert f"depends / opposes need {MIN_MAGNITUDE_Z:g}" in grey.detail
    assert independent_check(at(MIN_MAGNITUDE_Z - 1)).status is not Status.PASS
    # no more than random sets move the logit: evidence against depends
    weak = depends_check(at(GREY_Z - 1))
    assert weak.status is Status.FAIL and weak.reason is None
    assert depends_check(at(MIN_MAGNITUDE_Z + 1)).status is Status.PASS


def test_a_dependence_shown_at_one_informative_layer_only_is_not_shown(model, lib):
    """Two informative layers (the same 'feat' twice, the second's directional derivatives set): depends passes only
    when both move the logit beyond the gate; otherwise it is INCONCLUSIVE and says which layer did not."""
    from pytest_modelaudit.core.tcav.layers import MIN_MAGNITUDE_Z

    red = tcav(model, "red_class", "red", layers=["feat"], concepts=lib, cache=MemoryCache())

    def with_second(z: float):
        return _at_z(red, z, second="feat_again")

    assert depends_check(with_second(MIN_MAGNITUDE_Z + 1)).status is Status.PASS
    lone = depends_check(with_second(MIN_MAGNITUDE_Z - 3))
    assert lone.status is Status.INCONCLUSIVE
    assert f"beyond +{MIN_MAGNITUDE_Z:g} pseudo-concept sd at 'feat'" in lone.reason
    assert f"but not at 'feat_again' ({MIN_MAGNITUDE_Z - 3:+.1f} sd)" in lone.reason
    assert "counterfactual test on the target images" in lone.reason
    # the same holds for the FAIL of independence that a dependence implies
    assert independent_check(with_second(MIN_MAGNITUDE_Z + 1)).status is Status.FAIL
    unsure = independent_check(with_second(MIN_MAGNITUDE_Z - 3))
    assert unsure.status is Status.INCONCLUSIVE and "but not at 'feat_again'" in unsure.reason


def test_opposes_in_the_grey_zone_is_inconclusive_and_below_it_is_shown(model, lib):
    """The mirror for opposes: the green concept (less R than random) at set directional-derivative sizes."""
    from pytest_modelaudit.core.tcav.layers import GREY_Z
    from pytest_modelaudit.core.tcav.layers import MIN_SINGLE_LAYER_Z as MIN_MAGNITUDE_Z  # one layer decides

    green = tcav(model, "red_class", "green", layers=["feat"], concepts=lib, cache=MemoryCache())

    def at(z: float):
        return _at_z(green, z)

    assert opposes_check(at(-MIN_MAGNITUDE_Z - 1)).status is Status.PASS
    grey = opposes_check(at(-(GREY_Z + MIN_MAGNITUDE_Z) / 2))
    assert grey.status is Status.INCONCLUSIVE and "neither shown nor refuted" in grey.reason
    assert opposes_check(at(-GREY_Z + 1)).status is Status.FAIL
    # a concept pointing the other way is refuted whatever its size
    assert opposes_check(at(MIN_MAGNITUDE_Z - 1)).status is Status.FAIL
