"""Layers by role ("last_conv", "conv:-2", indices): one claim runs on two trainings with other layer names."""
from __future__ import annotations

import json

import pytest

from pytest_modelaudit.errors import LayerNotFoundError


def _sequential():
    """The same Sequential architecture every call: Keras gives its layers new auto-generated names each time."""
    import keras

    return keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3), keras.layers.MaxPooling2D(),
                             keras.layers.Conv2D(4, 1), keras.layers.ReLU(), keras.layers.GlobalAveragePooling2D(),
                             keras.layers.Dense(2)])


@pytest.fixture(scope="module")
def twins():
    from pytest_modelaudit import load_model

    a, b = load_model(_sequential()), load_model(_sequential())
    names = lambda m: [l.name for l in m.model.layers]  # noqa: E731
    assert names(a) != names(b)  # the point: the same layer has another name in the second training
    return a, b


@pytest.mark.parametrize("spec, position", [
    ("last_conv", 2), ("conv:-1", 2), ("conv:-2", 0), ("conv:0", 0), ("first_conv", 0), ("pool:0", 1),
    ("maxpooling2d:-1", 1), ("dense:-1", 5), ("activation:0", 3), (-1, 5), ("-1", 5), (0, 0), (4, 4),
])
def test_a_role_names_the_same_layer_in_both_trainings(twins, spec, position):
    for adapter in twins:
        assert adapter.resolve(spec) == adapter.model.layers[position].name


def test_a_real_name_wins_over_a_role():
    import keras

    from pytest_modelaudit import load_model

    inp = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(2, 3, name="last_conv")(inp)
    x = keras.layers.Conv2D(2, 3, name="top")(x)
    out = keras.layers.Dense(2)(keras.layers.Flatten()(x))
    assert load_model(keras.Model(inp, out)).resolve("last_conv") == "last_conv"


def test_nested_backbones_are_flattened():
    import keras

    from pytest_modelaudit import load_model

    backbone = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3, name="b1"),
                                 keras.layers.Conv2D(2, 3, name="b2")], name="backbone")
    inp = keras.Input((8, 8, 3))
    out = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(backbone(inp)))
    adapter = load_model(keras.Model(inp, out))
    assert adapter.resolve("last_conv") == "backbone/b2"
    assert adapter.resolve(0) == "backbone/b1"


@pytest.mark.parametrize("spec, message", [
    ("conv:-3", "'conv:-3' is out of range in model * it has its 2 conv layers (*); give an index from -2 to 1"),
    ("lstm:0", "has no layer of type 'lstm' (for 'lstm:0'). Types are families (conv, pool, dense, activation, "
               "norm) or Keras class names; this model has: Conv2D, Dense, GlobalAveragePooling2D, MaxPooling2D, ReLU"),
    (7, "layer index 7 is out of range in model * it has the model's 6 layers *; give an index from -6 to 5"),
    ("conv2d_999", "has no layer 'conv2d_999'"),
])
def test_a_role_that_matches_nothing_is_a_clear_error(twins, spec, message):
    import fnmatch

    with pytest.raises(LayerNotFoundError) as info:
        twins[0].resolve(spec)
    assert fnmatch.fnmatch(str(info.value), f"*{message}*"), str(info.value)


CONFTEST = '''
import sys
sys.path.insert(0, {tests_dir!r})
import numpy as np
import pytest


def two_conv_red_net():
    """red_pixel_model with an identity 1x1 conv after its feature conv; unnamed layers, so every build
    gets new names."""
    import keras

    model = keras.Sequential([keras.Input(({size}, {size}, 3)), keras.layers.Conv2D(3, 1), keras.layers.Conv2D(3, 1),
                              keras.layers.ReLU(), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(2, activation="softmax")])
    eye = np.eye(3, dtype=np.float32).reshape(1, 1, 3, 3)
    model.layers[0].set_weights([eye, np.full(3, -0.5, np.float32)])
    model.layers[1].set_weights([eye, np.zeros(3, np.float32)])
    model.layers[-1].set_weights([np.array([[1, -1], [0, 0], [0, 0]], np.float32), np.zeros(2, np.float32)])
    return model


@pytest.fixture(scope="session", params=["first", "second"])
def red_net(request):
    from pytest_modelaudit import load_model
    return load_model(two_conv_red_net(), classes=["red_class", "other"], name=f"red_net_{{request.param}}")
'''

AUDITS = '''
import pytest

def test_depends_on_red(audit, red_net):
    audit.tcav(red_net, "red_class", "red", layers=["conv:-2"]).expect_depends()
'''


def test_one_tcav_claim_runs_on_two_models_with_other_layer_names(pytester, request):
    from concept_data import SIZE, make_root

    make_root(pytester.path / "concepts", randoms=12, red_targets=30, targets=30)
    pytester.makeconftest(CONFTEST.format(tests_dir=str(request.path.parent), size=SIZE))
    pytester.makepyfile(test_roles=AUDITS)
    pytester.makeini("[pytest]\nmodel_audit_concepts = concepts\nfilterwarnings = ignore:Concept folder\n")
    result = pytester.runpytest("--model-audit", "--model-audit-no-pdf", "-p", "no:randomly")
    result.assert_outcomes(passed=2)
    data = json.loads((pytester.path / "model-audit-report" / "results.json").read_text())
    layers = [a["checks"][0]["evidence"]["layers"][0]["layer"] for a in data["audits"]]
    assert len(set(layers)) == 2 and all(name.startswith("conv2d") for name in layers), layers
    html = (pytester.path / "model-audit-report" / "index.html").read_text()
    assert all(name in html for name in layers)  # the card shows the resolved names
