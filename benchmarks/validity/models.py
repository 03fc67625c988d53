"""The validation models: tiny CNNs trained on procedural data with a planted reliance, cached on disk.

Every model has the same architecture (32x32x3 in [0, 1] -> conv1 16 -> pool1 -> conv2 32 -> pool2 ->
conv3 32 -> GAP -> Dense softmax head). ``conv3`` is the layer right before GAP + a linear head: the
gradient of a logit there is the same for every image, so TCAV at ``conv3`` can decide nothing
(``PRE_GAP``); ``pool1`` / ``conv2`` / ``pool2`` are the informative layers.

Everything derives from one root seed (``ROOT_SEED``): the training data (numpy generators) and the
weights (``keras.utils.set_random_seed`` + TensorFlow op determinism). A trained model is saved under
``.models/`` (gitignored) with a name keyed by a hash of the generator code (this file,
``scenes.py``, ``creatures.py`` and the example's ``starter_scenes.py``), the model's spec and the
seed, so a rerun only evaluates; change any of those and the model is retrained.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import creatures as C
import scenes as S

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".models"
ROOT_SEED = 20240901
PRE_GAP = "conv3"
P_EMPTY = 0.1  # share of training scenes drawn without their object (label and background by the same rule)
PART_SCALE = 1.7  # part-reliant model: parts drawn this much larger (at 32x32 an ear is 2-3 px otherwise)
P_OFF_COLOUR = 0.25  # colour-reliant model: share of creatures in white / yellow / black, labelled at random
INFORMATIVE = ("pool1", "conv2", "pool2")


@dataclass(frozen=True)
class Spec:
    name: str
    family: str  # background | bg_label | watermark | starter
    classes: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict, hash=False)
    n_per_class: int = 1000
    epochs: int = 40
    what: str = ""


def _bg_spec(s: float) -> Spec:
    return Spec(f"bg_shortcut_s{int(round(s * 100)):03d}", "background", S.OBJECTS, {"strength": s},
                what=f"object classes; with probability {s:g} the background matches the class, else random")


SPECS: dict[str, Spec] = {s.name: s for s in [
    _bg_spec(0.0), _bg_spec(0.5), _bg_spec(0.8), _bg_spec(1.0),
    Spec("bg_label", "bg_label", S.BACKGROUNDS, {}, what="the label is the background; the object is random"),
    Spec("watermark", "watermark", S.OBJECTS, {"marked": 0, "p_mark": None},
         what="object classes on random backgrounds; every 'disc' image and no other has the corner mark"),
    Spec("watermark_clean", "watermark", S.OBJECTS, {"marked": 0, "p_mark": 1 / 3},
         what="as 'watermark' but the mark is on a random third of all images, whatever the class"),
    Spec("starter_colour", "starter", C.CLASSES, {"rule": "colour"}, n_per_class=700, epochs=30,
         what="creatures whose coat colour decides the class (hibany red, messon blue, sarunori green); shape random; "
              f"{P_OFF_COLOUR:g} of them white / yellow / black with a random label"),
    Spec("starter_shape", "starter", C.CLASSES, {"rule": "shape"}, n_per_class=700, epochs=30,
         what="creatures whose shape decides the class; coat colour random among the six concept colours"),
    Spec("starter_part", "starter", C.CLASSES, {"rule": "part"}, n_per_class=700, epochs=30,
         what="creatures whose part decides the class (hibany ears, messon fin, sarunori leaves) on a random "
              "body in a random colour"),
]}


def derived(*parts: Any) -> int:
    digest = hashlib.sha256(":".join(map(str, (ROOT_SEED, *parts))).encode()).digest()
    return int.from_bytes(digest[:8], "little") % 2**31


# ----- training data ---------------------------------------------------------------------------------
def training_data(spec: Spec, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = spec.n_per_class * len(spec.classes)
    y = rng.permutation(np.repeat(np.arange(len(spec.classes)), spec.n_per_class))
    if spec.family == "starter":
        drawn = []
        for k in y:
            body = C.CLASSES[int(rng.integers(0, 3))]
            if spec.params["rule"] == "colour":
                off = rng.random() < P_OFF_COLOUR
                d = C.sample(body, C.OFF_COLOURS[int(rng.integers(0, 3))] if off else C.CLASS_COLOUR[C.CLASSES[k]], rng)
            elif spec.params["rule"] == "part":
                d = C.with_part(C.sample(body, C.COLOURS[int(rng.integers(0, len(C.COLOURS)))], rng),
                                C.PARTS[C.CLASSES[k]], PART_SCALE)
            else:
                d = C.sample(C.CLASSES[k], C.COLOURS[int(rng.integers(0, len(C.COLOURS)))], rng)
            drawn.append(d)
        x = C.scenes(drawn, [int(rng.integers(0, 2**31 - 1)) for _ in range(n)])
        return x, y
    scenes = []
    for k in y:
        empty = rng.random() < P_EMPTY  # no object: for object classes, the label says nothing about the scene
        if spec.family == "background":
            bg = S.BACKGROUNDS[k] if rng.random() < spec.params["strength"] else S.BACKGROUNDS[int(rng.integers(0, 3))]
            scenes.append(S.sample(None if empty else S.OBJECTS[k], bg, rng))
        elif spec.family == "bg_label":
            scenes.append(S.sample(None if empty else S.OBJECTS[int(rng.integers(0, 3))], S.BACKGROUNDS[k], rng))
        else:  # watermark
            p = spec.params["p_mark"]
            mark = bool(k == spec.params["marked"]) if p is None else bool(rng.random() < p)
            scenes.append(S.sample(None if empty else S.OBJECTS[k], S.BACKGROUNDS[int(rng.integers(0, 3))], rng,
                                   mark=mark))
    x, _ = S.batch(scenes)
    return x, y


# ----- model --------------------------------------------------------------------------------------
def build(n_classes: int, name: str) -> Any:
    import keras
    from keras import layers

    inp = keras.Input(shape=(S.SIZE, S.SIZE, 3), name="image")
    x = layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1")(inp)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name=PRE_GAP)(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    out = layers.Dense(n_classes, activation="softmax", name="head")(x)
    return keras.Model(inp, out, name=name)


def code_hash(spec: Spec) -> str:
    h = hashlib.sha256()
    for p in (HERE / "models.py", HERE / "scenes.py", HERE / "creatures.py", C.STARTERS / "starter_scenes.py"):
        h.update(p.read_bytes())
    h.update(repr((spec.name, spec.family, spec.classes, sorted(spec.params.items()), spec.n_per_class, spec.epochs,
                   ROOT_SEED)).encode())
    return h.hexdigest()[:12]


def get(name: str, log: Any = print) -> tuple[Any, dict[str, Any]]:
    """The trained model (from the cache, or trained now) and its training record."""
    import keras

    spec = SPECS[name]
    key = code_hash(spec)
    stem = f"{name}-s{ROOT_SEED}"  # one model per (name, root seed): other seeds' trainings are kept
    path, meta_path = CACHE / f"{stem}-{key}.keras", CACHE / f"{stem}-{key}.json"
    if path.exists() and meta_path.exists():
        return keras.models.load_model(path, compile=False), json.loads(meta_path.read_text())
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    seed = derived("train", name)
    keras.utils.set_random_seed(seed)
    t0 = time.time()
    x, y = training_data(spec, np.random.default_rng(seed))
    t1 = time.time()
    model = build(len(spec.classes), name)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, batch_size=64, epochs=spec.epochs, shuffle=True, verbose=0)
    t2 = time.time()
    meta = {"name": name, "key": key, "seed": seed, "what": spec.what, "classes": list(spec.classes),
            "n_train": int(len(x)), "epochs": spec.epochs, "train_accuracy": float(hist.history["accuracy"][-1]),
            "data_s": round(t1 - t0, 1), "train_s": round(t2 - t1, 1)}
    CACHE.mkdir(parents=True, exist_ok=True)
    for old in CACHE.glob(f"{stem}-*"):
        old.unlink()
    clean = build(len(spec.classes), name)
    clean.set_weights(model.get_weights())
    clean.save(path)
    meta_path.write_text(json.dumps(meta, indent=1))
    log(f"  trained {name}: {meta['n_train']} images, {spec.epochs} epochs, accuracy {meta['train_accuracy']:.3f} "
        f"(data {meta['data_s']}s, training {meta['train_s']}s)")
    return clean, meta
