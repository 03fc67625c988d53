"""Hand-weighted models whose Grad-CAM and ablation results are known analytically.

The "square detector": a 1x1 conv fires where a pixel is bright (R+G+B > 2.4), max-pooling halves
the grid, global average pooling and a Dense head give logit(square) = 200 * mean(pool) - 2 and
logit(none) = -logit(square). A bright 4x4 square aligned on even pixels gives 2x2 pooled cells of
0.6, so logit(square) = 200 * 4 * 0.6 / 64 - 2 = 5.5 on a 16x16 image; without it, -2.
"""
from __future__ import annotations

import numpy as np

SIZE = 16
BIAS = -2.4
W_HEAD = 200.0
B_HEAD = -2.0
SQUARES = [(2, 2), (8, 8), (4, 10), (10, 2)]


def square_images(n: int = 4, value: float = 1.0, background: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """n images with a bright 4x4 square at known even positions, and the square masks."""
    imgs = np.full((n, SIZE, SIZE, 3), background, np.float32)
    masks = np.zeros((n, SIZE, SIZE), np.float32)
    for i in range(n):
        r, c = SQUARES[i % len(SQUARES)]
        imgs[i, r : r + 4, c : c + 4] = value
        masks[i, r : r + 4, c : c + 4] = 1.0
    return imgs, masks


def _layers(head: str):
    import keras

    layers = [
        keras.layers.Conv2D(1, 1, activation="relu", name="detect"),
        keras.layers.MaxPooling2D(2, name="pool"),
        keras.layers.GlobalAveragePooling2D(name="gap"),
    ]
    if head == "dense_softmax":
        layers.append(keras.layers.Dense(2, activation="softmax", name="head"))
    elif head == "activation":
        layers += [keras.layers.Dense(2, name="head"), keras.layers.Activation("softmax", name="act")]
    elif head == "softmax_layer":
        layers += [keras.layers.Dense(2, name="head"), keras.layers.Softmax(name="act")]
    elif head == "linear":
        layers.append(keras.layers.Dense(2, name="head"))
    else:
        raise ValueError(head)
    return layers


def set_square_weights(model) -> None:
    detect = next(l for p, l in _walk(model) if l.name == "detect")
    head = next(l for p, l in _walk(model) if l.name == "head")
    detect.set_weights([np.ones((1, 1, 3, 1), np.float32), np.array([BIAS], np.float32)])
    head.set_weights([np.array([[W_HEAD, -W_HEAD]], np.float32), np.array([B_HEAD, -B_HEAD], np.float32)])


def _walk(model):
    for l in model.layers:
        yield l.name, l
        if getattr(l, "layers", None):
            yield from _walk(l)


def square_model(head: str = "dense_softmax"):
    """Functional square detector with the given output form."""
    import keras

    x = inp = keras.Input((SIZE, SIZE, 3))
    for layer in _layers(head):
        x = layer(x)
    model = keras.Model(inp, x, name=f"square_{head}")
    set_square_weights(model)
    return model


def nested_square_model():
    """Sequential without Input nesting a Sequential backbone without Input (built by a call)."""
    import keras

    conv, pool, gap, dense = _layers("dense_softmax")
    backbone = keras.Sequential([conv, pool], name="backbone")
    model = keras.Sequential([backbone, gap, dense], name="nested_square")
    model(np.zeros((1, SIZE, SIZE, 3), np.float32))
    set_square_weights(model)
    return model


def expected_cam(images: np.ndarray) -> np.ndarray:
    """Analytic Grad-CAM of class 'square' at layer 'pool': pooled detector output * W / (8*8)."""
    act = np.maximum(images.sum(-1) + BIAS, 0.0)
    pooled = act.reshape(len(images), SIZE // 2, 2, SIZE // 2, 2).max(axis=(2, 4))
    return pooled * W_HEAD / (SIZE // 2) ** 2


def expected_square_logit(images: np.ndarray) -> np.ndarray:
    act = np.maximum(images.sum(-1) + BIAS, 0.0)
    pooled = act.reshape(len(images), SIZE // 2, 2, SIZE // 2, 2).max(axis=(2, 4))
    return W_HEAD * pooled.mean(axis=(1, 2)) + B_HEAD


def square_conftest(tests_dir) -> str:
    """A pytester conftest with a `setup` fixture: (square detector adapter, ImageSet of squares with masks)."""
    return f'''
import sys
sys.path.insert(0, {str(tests_dir)!r})
import pytest
from known_models import square_images, square_model

@pytest.fixture
def setup():
    from pytest_modelaudit import ImageSet, load_model
    imgs, masks = square_images()
    return load_model(square_model(), classes=["square", "none"]), ImageSet.from_arrays(imgs, masks)
'''
