"""TCAV: known answers, tensorflow/tcav's reference numbers, statistics against scipy, determinism, bad input."""
import numpy as np
import pytest
from scipy import stats

from concept_data import SIZE, make_root, red_pixel_model, write_set
from pytest_modelaudit.core import load_model
from pytest_modelaudit.core.cache.memory import MemoryCache
from pytest_modelaudit.core.data.concepts import ConceptError, ConceptLibrary
from pytest_modelaudit.core.tcav.cav import directional_derivatives, tcav_scores
from pytest_modelaudit.core.tcav.scores import target_gradients, tcav
from pytest_modelaudit.core.tcav.checks import depends_check, independent_check, more_than_check
from pytest_modelaudit.core.tcav import stats as tcav_stats
from pytest_modelaudit.core.checks.verdicts import Status


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return make_root(tmp_path_factory.mktemp("concepts"))


@pytest.fixture(scope="module")
def model():
    return load_model(red_pixel_model(), classes=["red_class", "other"])


@pytest.fixture(scope="module")
def lib(root):
    return ConceptLibrary(root, min_images=20, warn_images=20)


def test_gradients_are_the_known_linear_function(model, lib):
    images = lib.images("red_class").images
    (g,) = target_gradients(model, images, ["feat"], 0, "logit", None, MemoryCache())
    g = g.reshape(len(images), SIZE, SIZE, 3)
    expected = np.zeros_like(g)
    expected[..., 0] = (images[..., 0] > 0.5) / SIZE**2
    np.testing.assert_allclose(g, expected, atol=1e-7)


def test_tcav_score_of_a_given_direction_is_known_exactly(model, lib):
    images = lib.images("red_class").images
    (g,) = target_gradients(model, images, ["feat"], 0, "logit", None, MemoryCache())
    red = np.zeros((SIZE, SIZE, 3))
    red[..., 0] = 1
    green = np.zeros((SIZE, SIZE, 3))
    green[..., 1] = 1
    v = np.stack([red.ravel(), -red.ravel(), green.ravel()], 1) / SIZE
    scores = tcav_scores(directional_derivatives(g, v))
    np.testing.assert_allclose(scores, [12 / 30, 0.0, 0.0])  # 12 of 30 images have red pixels


def test_trained_red_cav_reproduces_the_known_score(model, lib):
    res = tcav(model, "red_class", "red", layers=["feat"], concepts=lib, cache=MemoryCache())
    layer = res.layers[0]
    assert (layer.concept_accuracies > 0.9).all()
    np.testing.assert_allclose(layer.concept_scores, 12 / 30)  # every red CAV points along +R
    assert len(layer.concept_scores) == 8 and len(layer.random_scores) == 8
    assert res.n_target == 30 and res.n_concept == 24 and res.score == "logit"


def test_tensorflow_tcav_reference_numbers():
    # tcav_test.py: gradient (mocked as the activation) [0, 1, 2], CAV [1, 2, 3]: derivative 8, score 0
    dd = directional_derivatives(np.array([[0.0, 1.0, 2.0]]), np.array([[1.0], [2.0], [3.0]]))
    assert dd[0, 0] == 8.0
    assert tcav_scores(dd, "tcav-reference")[0] == 0.0
    assert tcav_scores(-dd, "tcav-reference")[0] == 1.0


def test_reference_mode_conventions(model, lib):
    res = tcav(model, "red_class", "red", layers=["feat"], concepts=lib, mode="tcav-reference", cache=MemoryCache())
    layer = res.layers[0]
    assert res.score.startswith("log-softmax") and "loss" in res.sign_convention
    # the reference pairs every random set with every other: R * (R - 1) baseline runs
    assert len(layer.random_pairs) == 8 * 7 and len(layer.pairs) == 8
    assert np.allclose(layer.concept_scores, 12 / 30)  # same sign as the logit gradient here


def test_statistics_match_scipy():
    a = [0.9, 0.8, 0.85, 0.95, 0.7]
    b = [0.5, 0.4, 0.6, 0.55, 0.45]
    assert tcav_stats.welch(a, b) == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)
    assert tcav_stats.welch(a, b, "greater") == pytest.approx(stats.ttest_ind(a, b, equal_var=False, alternative="greater").pvalue)
    assert tcav_stats.student(b, a) == pytest.approx(stats.ttest_ind(b, a).pvalue)
    assert tcav_stats.one_sample(a) == pytest.approx(stats.ttest_1samp(a, 0.5).pvalue)
    shifted = stats.ttest_ind(np.array(a) - 0.4, b, equal_var=False, alternative="less").pvalue
    assert tcav_stats.welch(a, b, "less", shift=0.4) == pytest.approx(shifted)
    assert tcav_stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert np.isnan(tcav_stats.holm([0.01, float("nan")])[1])
    lo, hi = tcav_stats.bootstrap_diff_ci(a, b, seed=3)
    assert lo < np.mean(a) - np.mean(b) < hi
    assert (lo, hi) == tcav_stats.bootstrap_diff_ci(a, b, seed=3)
    assert tcav_stats.welch([1, 1, 1], [0.5, 0.5, 0.5], "greater") == 0.0  # constant samples: no NaN


def test_claims_on_the_known_model(model, lib):
    cache = MemoryCache()
    red = tcav(model, "red_class", "red", layers=["feat"], concepts=lib, cache=cache)
    green = tcav(model, "red_class", "green", layers=["feat"], concepts=lib, cache=cache)
    check = depends_check(red, min_effect=0.0)
    # red scores 0.4 on every run (every red CAV raises the logit of the 12 red targets); a random pair's CAV
    # and its negation split those 12 images between them, so the pseudo-concepts' mean is exactly 0.2 and
    # the effect exactly 0.4 - 0.2
    layer = red.layers[0]
    np.testing.assert_allclose(layer.concept_scores, 0.4)
    assert layer.null_scores.mean() == pytest.approx(0.2) and len(layer.null_scores) == 8
    assert check.measured == pytest.approx(0.4 - layer.null_scores.mean())
    assert check.evidence.layers[0].represented and check.evidence.layers[0].informative
    assert check.status is Status.PASS
    assert depends_check(red, min_score=0.6).status is Status.FAIL  # 0.4 never reaches 0.6
    green_check = depends_check(green)
    assert green_check.status is not Status.PASS  # green moves no logit
    assert more_than_check(green, red).status is Status.FAIL


def test_unrepresented_concept_is_inconclusive(model, lib):
    res = tcav(model, "red_class", "red", layers=["feat"], concepts=lib, cache=MemoryCache())
    check = depends_check(res, min_accuracy=1.01)  # no CAV can reach it
    assert check.status is Status.INCONCLUSIVE and "not linearly represented" in check.reason
    check = independent_check(res, min_accuracy=1.01)
    assert check.status is Status.INCONCLUSIVE


def test_same_seed_same_numbers_other_seed_same_verdicts(model, lib):
    a = tcav(model, "red_class", "green", layers=["feat"], concepts=lib, seed=0, cache=MemoryCache())
    b = tcav(model, "red_class", "green", layers=["feat"], concepts=lib, seed=0, cache=MemoryCache())
    np.testing.assert_array_equal(a.layers[0].concept_scores, b.layers[0].concept_scores)
    np.testing.assert_array_equal(a.layers[0].random_scores, b.layers[0].random_scores)
    np.testing.assert_array_equal(a.layers[0].concept_accuracies, b.layers[0].concept_accuracies)
    red = [tcav(model, "red_class", "red", layers=["feat"], concepts=lib, seed=s, cache=MemoryCache()) for s in (0, 1)]
    assert depends_check(red[0], min_score=0.6).status == depends_check(red[1], min_score=0.6).status


def test_gradients_are_computed_once_and_shared(model, lib):
    cache = MemoryCache()
    tcav(model, "red_class", "red", layers=["feat"], concepts=lib, cache=cache)
    misses = cache.misses
    tcav(model, "red_class", "green", layers=["feat"], concepts=lib, cache=cache)
    # only green's activations and CAVs are new: target gradients, random activations and the baseline are hits
    grads_keys = [k for k in cache._data if k[0] == "grads"]
    baseline_keys = [k for k in cache._data if k[0] == "baseline"]
    assert len(grads_keys) == 1 and len(baseline_keys) == 1
    assert cache.misses - misses == 1 + 1 + 8  # green activations, green's Gram matrix + 8 green CAVs


def test_bad_concept_inputs_name_the_folder(model, root, tmp_path):
    lib = ConceptLibrary(root, min_images=20, warn_images=20)
    with pytest.raises(ConceptError, match=r"Concept folder .*reed.* does not exist.*Closest valid names: 'red'"):
        tcav(model, "red_class", "reed", layers=["feat"], concepts=lib)
    small = tmp_path / "small"
    write_set(small, "red", np.zeros((5, SIZE, SIZE, 3)))
    with pytest.raises(ConceptError, match=r"small/red.* has 5 image\(s\); at least 20"):
        ConceptLibrary(small).images("red")
    with pytest.warns(UserWarning, match=r"only 24 images; 50\+"):
        ConceptLibrary(root, min_images=20).images("green")
    with pytest.raises(ConceptError, match="does not exist or is not a folder"):
        ConceptLibrary(tmp_path / "nowhere")
    write_set(small, "random500_0", np.zeros((20, SIZE, SIZE, 3)))
    write_set(small, "blue", np.zeros((20, SIZE, SIZE, 3)))
    write_set(small, "red_class", np.zeros((20, SIZE, SIZE, 3)))
    with pytest.raises(ConceptError, match=r"1 random folder\(s\) named 'random500_N'; at least 2"):
        tcav(model, "red_class", "blue", layers=["feat"], concepts=ConceptLibrary(small))
    (small / "blue" / "broken.png").write_bytes(b"nope")
    with pytest.raises(Exception, match=r"broken\.png.*could not be read"):
        ConceptLibrary(small).images("blue")


def test_bad_tcav_arguments(model, lib):
    from pytest_modelaudit.errors import ModelAuditError

    with pytest.raises(ModelAuditError, match="Unknown TCAV mode 'paper'"):
        tcav(model, "red_class", "red", layers=["feat"], concepts=lib, mode="paper")
    with pytest.raises(ModelAuditError, match="Unknown pooling"):
        tcav(model, "red_class", "red", layers=["feat"], concepts=lib, pooling="max")
    with pytest.raises(ConceptError, match="runs=20 but .* only 8 random folders"):
        tcav(model, "red_class", "red", layers=["feat"], concepts=lib, runs=20)
    with pytest.raises(ConceptError, match="folder named after the class 'other'"):
        tcav(model, "other", "red", layers=["feat"], concepts=lib)


def test_mean_pooling_keeps_the_direction(model, lib):
    res = tcav(model, "red_class", "red", layers=["feat"], concepts=lib, pooling="mean", cache=MemoryCache())
    assert res.layers[0].dims == 3
    np.testing.assert_allclose(res.layers[0].concept_scores, 12 / 30)


def test_share_of_target_images_classified_as_the_class_is_recorded_and_warned(model, lib):
    from pytest_modelaudit.errors import TargetMismatchWarning
    from pytest_modelaudit.core.tcav.checks import opposes_check

    cache = MemoryCache()
    red = tcav(model, "red_class", "red", layers=["feat"], concepts=lib, cache=cache)
    # dull images tie at P = 0.5 (argmax: the first class), the 12 with a red patch are red_class: all 30
    assert red.target_share == 1.0 and 0.5 < red.target_prob < 1.0
    assert depends_check(red, min_effect=0.0).metrics["target_share"] == 1.0
    # the same red_class images audited for 'other': the model calls none of them 'other'
    other = tcav(model, "other", "red", layers=["feat"], concepts=lib, target_images=lib.images("red_class", (SIZE, SIZE)),
                 cache=cache)
    assert other.target_share == 0.0 and other.target_prob == pytest.approx(1 - red.target_prob, abs=1e-6)
    with pytest.warns(TargetMismatchWarning, match=r"only 0% of the images from .*red_class.* are classified as 'other'"):
        check = opposes_check(other)
    assert check.metrics["target_share"] == 0.0 and check.metrics["target_prob"] == pytest.approx(other.target_prob)
