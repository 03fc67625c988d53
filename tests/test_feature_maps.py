"""Model panel feature maps: every 4-D stage, top channels by mean activation, downscaled, one batched pass."""
from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _nested():
    """A nested backbone (conv 10 channels with known per-channel biases -> relu -> pool) inside a model."""
    import keras

    inner_in = keras.Input((64, 64, 3))
    conv = keras.layers.Conv2D(10, 3, padding="same", name="conv")
    x = keras.layers.ReLU(name="relu")(conv(inner_in))
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    backbone = keras.Model(inner_in, x, name="backbone")
    inp = keras.Input((64, 64, 3))
    y = keras.layers.GlobalAveragePooling2D(name="gap")(backbone(inp))
    out = keras.layers.Dense(2, name="head")(y)
    conv.set_weights([np.zeros((3, 3, 3, 10), np.float32), np.arange(10, dtype=np.float32)])  # channel c = c
    return keras.Model(inp, out, name="nested")


def test_stages_top_channels_and_size():
    from pytest_modelaudit.core.model.adapter import ModelAdapter
    from pytest_modelaudit.core.model.feature_maps import feature_maps
    from pytest_modelaudit.plugin.thumbnails import feature_maps_record

    ad = ModelAdapter(_nested())
    x = np.random.default_rng(0).random((2, 64, 64, 3), dtype=np.float32)
    stages = feature_maps(ad, x)
    assert [s.path for s in stages] == ["backbone/conv", "backbone/relu", "backbone/pool"]
    conv = stages[0]
    assert conv.shape == (64, 64, 10) and conv.channels == [9, 8, 7, 6, 5, 4, 3, 2, 1, 0][:8]
    assert conv.maps.shape == (2, 8, 32, 32) and np.allclose(conv.maps[0, 0], 9.0)
    assert stages[2].maps.shape == (2, 8, 32, 32)
    rec = feature_maps_record(ad, x)
    assert rec["stages_total"] == 3 and all(c["image"].startswith("data:image/png") for c in rec["stages"][0]["channels"])


def test_sequential_without_input_and_one_pass():
    import keras

    from pytest_modelaudit.core.model.adapter import ModelAdapter
    from pytest_modelaudit.core.model.feature_maps import feature_maps

    m = keras.Sequential([keras.layers.Conv2D(4, 3, activation="relu"), keras.layers.AveragePooling2D(2),
                          keras.layers.Flatten(), keras.layers.Dense(3)])
    m(np.zeros((1, 20, 20, 3), np.float32))
    ad = ModelAdapter(m)
    x = np.random.default_rng(1).random((3, 20, 20, 3), dtype=np.float32)
    calls = []
    real = ad.activations
    ad.activations = lambda *a, **k: calls.append(1) or real(*a, **k)  # count calls, real computation
    stages = feature_maps(ad, x)
    assert len(stages) == 2 and stages[0].shape == (18, 18, 4) and stages[1].shape == (9, 9, 4)
    assert calls == [1]
    feature_maps(ad, x)  # cached by content: no second pass
    assert calls == [1]
    assert feature_maps(ad, x[:0]) == []
