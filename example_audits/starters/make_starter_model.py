"""Regenerate the starter example: the model and the concept folders (deterministic, CPU, about 1-2 minutes).

    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python example_audits/starters/make_starter_model.py

Writes (overwriting):

* ``models/starter.keras`` -- a small CNN (conv1 32x32 -> conv2 16x16 -> conv3 8x8 -> conv4 4x4 -> GAP
  -> fc -> head, softmax)
  trained on procedurally drawn hibany / messon / sarunori scenes (``starter_scenes.py``);
* ``models/classes.txt`` -- one class per line, in output order;
* ``concepts/`` in the tensorflow/tcav layout: colour concepts ``red blue green white yellow
  black/``, random counterexample folders ``random500_0 .. random500_19/`` and target-class folders
  ``hibany messon sarunori/`` (fresh creatures), ``N_IMAGES`` PNGs each.

The concept PNGs are written before any training and depend only on ``CONCEPT_SEED``. The training
scenes and weights derive from ``SEED`` (numpy generators for the drawings,
``keras.utils.set_random_seed`` + TensorFlow op determinism for training), so a rerun gives the
same PNGs byte for byte and the same weights. Use ``--data-only`` to rewrite just the PNGs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import starter_scenes as S  # noqa: E402

MODELS = HERE / "models"
CONCEPTS = HERE / "concepts"

SEED = 20240611          # training: keras/tf seed and the training-scene generator
CONCEPT_SEED = 11        # the shipped concept folders (never seen in training)
N_PER_CLASS = 1200       # training scenes per class
EPOCHS = 10
BATCH = 64
N_IMAGES = 50            # PNGs per concept / random / target folder (tensorflow/tcav advises 50-200)
N_RANDOM = 20            # random500_0 .. random500_19: one baseline run per random folder, and with a
                         # model this confident the random runs score near 0 or 1, so 10 would be few


def build_model():
    import keras
    from keras import layers

    inp = keras.Input(shape=(S.SIZE, S.SIZE, 3), name="image")             # values in [0, 1]
    x = layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1")(inp)     # 32x32
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2")(x)       # 16x16
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Conv2D(48, 3, padding="same", activation="relu", name="conv3")(x)       # 8x8
    x = layers.MaxPooling2D(2, name="pool3")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="conv4")(x)       # 4x4, last spatial
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(32, activation="relu", name="fc")(x)
    out = layers.Dense(len(S.CLASSES), activation="softmax", name="head")(x)
    # Why conv4 and fc: right below "GAP -> linear head" the gradient of a logit is the same
    # constant for every image, so TCAV there counts all images or none. The audits use conv2
    # and conv3, where the gradient still varies from image to image (conv4's ReLUs, pool3).
    return keras.Model(inp, out, name="starter")


def training_set(rng: np.random.Generator):
    classes = [c for c in S.CLASSES for _ in range(N_PER_CLASS)]
    classes = [classes[i] for i in rng.permutation(len(classes))]
    x, y, _, _ = S.batch(classes, rng)
    return x, y


def train():
    import keras

    keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng([SEED, 0])
    t0 = time.time()
    x, y = training_set(rng)
    t1 = time.time()
    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    hist = model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=True, verbose=2)
    t2 = time.time()
    path = MODELS / "starter.keras"
    shipped = build_model()                  # the same weights without the optimizer state: 3x smaller
    shipped.set_weights(model.get_weights())
    shipped.save(path)
    size = path.stat().st_size
    assert size < 2_000_000, f"{path} is {size} bytes (limit 2 MB)"
    print(f"data {t1 - t0:.1f}s, training {t2 - t1:.1f}s, final training accuracy "
          f"{hist.history['accuracy'][-1]:.3f}, saved {path.name} ({size / 1e3:.0f} kB)")
    return model


def _save_png(path: Path, arr: np.ndarray):
    from PIL import Image

    Image.fromarray(S.to_uint8(arr)).save(path, optimize=True)


def write_concepts():
    """The concept root. Each folder has its own generator (spawned from CONCEPT_SEED), so one
    folder's images do not depend on how many images the others have."""
    if CONCEPTS.exists():
        shutil.rmtree(CONCEPTS)
    folders = [*S.COLOURS, *(f"random500_{i}" for i in range(N_RANDOM)), *S.CLASSES]
    seeds = np.random.SeedSequence(CONCEPT_SEED).spawn(len(folders))
    for name, ss in zip(folders, seeds):
        rng = np.random.default_rng(ss)
        d = CONCEPTS / name
        d.mkdir(parents=True)
        for i in range(N_IMAGES):
            if name in S.COLOURS:
                img = S.concept_image(name, rng)
            elif name in S.CLASSES:
                img = S.render(name, rng)[0]
            else:
                img = S.random_image(rng)
            _save_png(d / f"{name}_{i:03d}.png", img)
    total = sum(p.stat().st_size for p in CONCEPTS.rglob("*.png"))
    print(f"wrote {len(folders)} folders x {N_IMAGES} PNGs under {CONCEPTS} ({total / 1e6:.2f} MB)")


def quick_check(model):
    """Accuracy per class on fresh scenes, plain and recoloured (the test asserts the same facts)."""
    rng = np.random.default_rng(99)
    n = 100

    def acc(x, k):
        p = model.predict(x, batch_size=256, verbose=0)
        return float((p.argmax(1) == k).mean()), p

    for k, kind in enumerate(S.CLASSES):
        x, _, masks, _ = S.batch([kind] * n, rng)
        a, _ = acc(x, k)
        line = f"{kind:9} plain {a:.2f}"
        main = S.MAIN_COLOUR[kind]
        for other in ("red", "blue", "green"):
            if other != main:
                xr = np.stack([S.recolour(xi, m[main], S.HUES[other]) for xi, m in zip(x, masks)])
                line += f" | {main}->{other} {acc(xr, k)[0]:.2f}"
        print(line)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-only", action="store_true", help="only rewrite the concept PNGs")
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    MODELS.mkdir(parents=True, exist_ok=True)
    write_concepts()
    if args.data_only:
        return 0
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    (MODELS / "classes.txt").write_text("\n".join(S.CLASSES) + "\n")
    model = train()
    quick_check(model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
