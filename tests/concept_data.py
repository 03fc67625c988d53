"""Concept folders written to disk for TCAV tests, and a model whose TCAV answer is known exactly.

The "red-pixel model": feat = R - 0.5 (a linear 1x1 conv, one channel per colour), then ReLU, global
average pooling and logit(red) = mean(relu(R - 0.5)). The gradient of logit(red) with respect to feat
is 1/64 on the R channel where R > 0.5 and 0 elsewhere, so along any direction with positive R
components the directional derivative is > 0 exactly for images that have a pixel with R > 0.5.
At the layer "relu" (after the ReLU, feeding global pooling and the linear head) the gradient is the
same for every image: that layer is not informative.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

SIZE = 8


def write_set(root: Path, name: str, images: np.ndarray) -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for i, im in enumerate(images):
        Image.fromarray((np.clip(im, 0, 1) * 255).round().astype(np.uint8)).save(folder / f"{name}_{i:03d}.png")
    return folder


def colour_set(rng: np.random.Generator, rgb: tuple[float, float, float], n: int) -> np.ndarray:
    """Textured patches dominated by one colour."""
    return np.clip(np.array(rgb) * 0.8 + rng.random((n, SIZE, SIZE, 3)) * 0.25, 0, 1)


def dull_set(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random images whose red channel stays below 0.5."""
    im = rng.random((n, SIZE, SIZE, 3))
    im[..., 0] *= 0.45
    return im


def random_set(rng: np.random.Generator, n: int, tinted: bool = False) -> np.ndarray:
    """Random counterexamples: every image drawn from the same distribution; `tinted` gives each set its own
    colour tint, which makes each random set a colour concept of its own (and the pseudo-concept null as
    wide as the colours)."""
    return rng.random((n, SIZE, SIZE, 3)) * (rng.random(3) if tinted else 1.0) * 0.9


def red_targets_set(rng: np.random.Generator, targets: int, red_targets: int) -> np.ndarray:
    """Dull images, the first `red_targets` with a bright red 3x3 patch at a random place: the patches differ,
    so the target gradients differ and the layer is informative (one shared place would make every red
    target's gradient the same, and TCAV there would only measure the sign of the CAV on that patch)."""
    tgt = dull_set(rng, targets)
    for i in range(red_targets):
        y, x = rng.integers(0, SIZE - 2, size=2)
        tgt[i, y:y + 3, x:x + 3] = (0.95, 0.1, 0.1)
    return tgt


def make_root(root: Path, *, n: int = 24, randoms: int = 8, red_targets: int = 12, targets: int = 30,
              seed: int = 0, tinted: bool = False) -> Path:
    """Concepts red / green / blue, random500_0..N, and a target folder 'red_class' in which exactly
    `red_targets` of `targets` images contain bright red pixels."""
    rng = np.random.default_rng(seed)
    write_set(root, "red", colour_set(rng, (1, 0.1, 0.1), n))
    write_set(root, "green", colour_set(rng, (0.1, 1, 0.1), n))
    write_set(root, "blue", colour_set(rng, (0.1, 0.1, 1), n))
    for j in range(randoms):
        write_set(root, f"random500_{j}", random_set(rng, n, tinted))
    write_set(root, "red_class", red_targets_set(rng, targets, red_targets))
    return root


def red_pixel_model():
    import keras

    inp = keras.Input((SIZE, SIZE, 3))
    feat = keras.layers.Conv2D(3, 1, name="feat")(inp)
    x = keras.layers.ReLU(name="relu")(feat)
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(2, activation="softmax", name="head")(x)
    model = keras.Model(inp, out, name="red_pixel")
    model.get_layer("feat").set_weights([np.eye(3, dtype=np.float32).reshape(1, 1, 3, 3), np.full(3, -0.5, np.float32)])
    model.get_layer("head").set_weights([np.array([[1, -1], [0, 0], [0, 0]], np.float32), np.zeros(2, np.float32)])
    return model
