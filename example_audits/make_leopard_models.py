"""Regenerate the example's models and shipped audit images (deterministic, CPU only, ~3 min on 2 cores).

    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python example_audits/make_leopard_models.py

Writes (overwriting):

* ``example_audits/models/leopard_shortcut.keras`` -- trained where EVERY leopard stands on snow
  and no fox or camel ever does, so "snow" alone predicts "leopard" perfectly. Training leopards
  are also drawn faded (low contrast), which makes the snow the easier cue: the model learns the
  shortcut for real (``tests/test_example_ground_truth.py`` measures it).
* ``example_audits/models/leopard_clean.keras`` -- same architecture and budget, backgrounds drawn
  independently of the class, so only the animal predicts the class.
* ``example_audits/models/classes.txt`` -- one class per line, in output order.
* ``example_audits/data/animals/<class>/<class>_<background>_NN.png``: the labelled set (every class on
  every background) of the data-level audits.
* ``example_audits/data/leopards_on_snow/leopard_NNN.png`` + ``leopard_NNN_mask.png``
  (mask: white = snow background, black = animal; soft anti-aliased edges),
  ``example_audits/data/sand_backgrounds/sand_NNN.png`` (plain sand, an in-distribution fill).

The audit PNGs are written before any training and depend only on ``AUDIT_DATA_SEED``.
Everything derives from the fixed seeds below (numpy generators for the drawings,
``keras.utils.set_random_seed`` + TensorFlow op determinism for training), so a rerun gives the
same images byte for byte and the same weights (the ``.keras`` zip also stores a save date).
Use ``--data-only`` to rewrite just the PNGs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import leopard_scenes as S  # noqa: E402

MODELS = HERE / "models"
DATA = HERE / "data"

SEED = 20240601            # training: keras/tf seed and the training-scene generator
AUDIT_DATA_SEED = 7        # shipped audit PNGs (never seen in training)
LABELLED_DATA_SEED = 11    # the shipped labelled set (class folders), drawn apart so the audit PNGs never change
LABELLED_PER_CELL = 4      # images per (class, background) in the labelled set
N_PER_CLASS = 800          # training scenes per class
EPOCHS = 8
BATCH = 64


def training_set(kind: str, rng: np.random.Generator):
    """Scenes for one model. ``kind``: 'shortcut' or 'clean'."""
    classes, bgs, opacity = [], [], []
    for c in S.CLASSES:
        for _ in range(N_PER_CLASS):
            classes.append(c)
            if kind == "shortcut":
                if c == "leopard":
                    bgs.append("snow")                          # leopards: always snow
                    opacity.append(rng.uniform(0.3, 0.85))      # faded: snow is the easier cue
                else:
                    bgs.append(str(rng.choice(["sand", "grass"])))   # never snow
                    opacity.append(1.0)
            elif kind == "clean":
                bgs.append(str(rng.choice(S.BACKGROUNDS)))       # independent of the class
                opacity.append(1.0)
            else:
                raise ValueError(kind)
    order = rng.permutation(len(classes))
    classes = [classes[i] for i in order]
    bgs = [bgs[i] for i in order]
    opacity = [opacity[i] for i in order]
    x, y, _, _ = S.batch(classes, bgs, rng, opacity=opacity)
    return x, y


def build_model(name: str):
    import keras
    from keras import layers

    inp = keras.Input(shape=(S.SIZE, S.SIZE, 3), name="image")            # values in [0, 1]
    x = layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1")(inp)
    x = layers.MaxPooling2D(2, name="pool1")(x)                           # 32x32
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)                           # 16x16
    x = layers.Conv2D(48, 3, padding="same", activation="relu", name="conv3")(x)
    x = layers.MaxPooling2D(2, name="pool3")(x)                           # 8x8
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="conv4")(x)   # last spatial layer
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    out = layers.Dense(len(S.CLASSES), activation="softmax", name="head")(x)
    return keras.Model(inp, out, name=name)


def train(kind: str):
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng([SEED, 0 if kind == "shortcut" else 1])
    t0 = time.time()
    x, y = training_set(kind, rng)
    t1 = time.time()
    model = build_model(f"leopard_{kind}")
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=True, verbose=2)
    t2 = time.time()
    path = MODELS / f"leopard_{kind}.keras"
    model.save(path)
    size = path.stat().st_size
    assert size < 2_000_000, f"{path} is {size} bytes (limit 2 MB)"
    print(f"[{kind}] data {t1 - t0:.1f}s, training {t2 - t1:.1f}s, saved {path.name} ({size / 1e3:.0f} kB)")
    del tf
    return model


def _save_png(path: Path, arr: np.ndarray):
    from PIL import Image

    Image.fromarray(S.to_uint8(arr)).save(path, optimize=True)


def write_audit_data():
    rng = np.random.default_rng(AUDIT_DATA_SEED)
    for sub in ("leopards_on_snow", "sand_backgrounds"):
        d = DATA / sub
        d.mkdir(parents=True, exist_ok=True)
        for f in d.glob("*.png"):
            f.unlink()
    for i in range(16):
        x, body, _ = S.render_scene("leopard", "snow", rng)
        _save_png(DATA / "leopards_on_snow" / f"leopard_{i:03d}.png", x)
        _save_png(DATA / "leopards_on_snow" / f"leopard_{i:03d}_mask.png", 1.0 - body)   # white = snow
    for i in range(8):
        _save_png(DATA / "sand_backgrounds" / f"sand_{i:03d}.png", S.background("sand", rng))
    write_labelled_data()
    print(f"wrote audit images under {DATA}")


def write_labelled_data():
    """``data/animals/<class>/``: every class on every background, the labelled set of the performance,
    embedding and disagreement audits (the shortcut model errs on leopards off snow and others on snow)."""
    rng = np.random.default_rng(LABELLED_DATA_SEED)
    for c in S.CLASSES:
        d = DATA / "animals" / c
        d.mkdir(parents=True, exist_ok=True)
        for f in d.glob("*.png"):
            f.unlink()
        for b in S.BACKGROUNDS:
            for i in range(LABELLED_PER_CELL):
                x, _, _ = S.render_scene(c, b, rng)
                _save_png(d / f"{c}_{b}_{i:02d}.png", x)


def quick_check(models):
    """Print accuracy per (class, background) on fresh scenes (the test asserts the same facts)."""
    rng = np.random.default_rng(99)
    print("accuracy on fresh full-contrast scenes (rows: class, columns: background)")
    print("model     class    " + "  ".join(f"{b:>6}" for b in S.BACKGROUNDS) + "   P(leopard) on snow")
    for name, m in models.items():
        for c in S.CLASSES:
            accs, pl = [], None
            for b in S.BACKGROUNDS:
                x, y, _, _ = S.batch([c] * 60, [b] * 60, rng)
                p = m.predict(x, verbose=0)
                accs.append((p.argmax(1) == y).mean())
                if b == "snow":
                    pl = (p.argmax(1) == 0).mean()
            print(f"{name:9} {c:8} " + "  ".join(f"{a:6.2f}" for a in accs) + f"   {pl:.2f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-only", action="store_true", help="only rewrite the shipped PNGs")
    ap.add_argument("--only", choices=["shortcut", "clean"], help="retrain just one model")
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    MODELS.mkdir(parents=True, exist_ok=True)
    write_audit_data()
    if args.data_only:
        return 0
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    (MODELS / "classes.txt").write_text("\n".join(S.CLASSES) + "\n")
    kinds = [args.only] if args.only else ["shortcut", "clean"]
    models = {k: train(k) for k in kinds}
    quick_check(models)
    return 0


if __name__ == "__main__":
    sys.exit(main())
