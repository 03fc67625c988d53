"""Ground truth for the example: what the two shipped leopard models REALLY do.

The example audits (``example_audits/test_leopard_audits.py``) claim that the shortcut model
is driven by the snow and the clean model is not. That claim must not rest on how the models
were trained; this test measures it directly with real TensorFlow on fresh scenes drawn with a
seed the training never used:

* the same leopards on snow, then with the background swapped to sand / grass;
* foxes and camels on every background (does snow alone make the shortcut model say leopard?);
* the shipped audit images themselves with their snow replaced by the shipped sand images
  (exactly the intervention the ablation audit performs).

Thresholds are coarse on purpose: they separate "learned the shortcut" from "did not" with wide
margins, rather than pinning the last decimal of one training run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "example_audits"
sys.path.insert(0, str(EX))
import leopard_scenes as S  # noqa: E402

FRESH_SEED = 424242          # training used make_leopard_models.SEED, the shipped PNGs seed 7
N = 40                       # scenes per (class, background) cell


@pytest.fixture(scope="module")
def models():
    keras = pytest.importorskip("keras")
    out = {}
    for kind in ("shortcut", "clean"):
        path = EX / "models" / f"leopard_{kind}.keras"
        assert path.stat().st_size < 2_000_000, f"{path.name} should stay under 2 MB"
        out[kind] = keras.models.load_model(path)
    return out


@pytest.fixture(scope="module")
def scenes():
    """Fresh scenes: every (class, background) cell, and the snow leopards re-drawn on sand/grass."""
    rng = np.random.default_rng(FRESH_SEED)
    cells = {}
    for c in S.CLASSES:
        for b in S.BACKGROUNDS:
            x, _, _, animals = S.batch([c] * N, [b] * N, rng)
            cells[c, b] = (x, animals)
    leopards_on_snow = cells["leopard", "snow"][1]
    swapped = {b: np.stack([S.swap_background(a, b, rng) for a in leopards_on_snow])
               for b in ("sand", "grass")}
    return cells, swapped


def _predict(model, x):
    return np.asarray(model.predict(x, batch_size=128, verbose=0))


@pytest.fixture(scope="module")
def measured(models, scenes):
    cells, swapped = scenes
    res = {}
    for name, m in models.items():
        acc, p_leopard, says_leopard = {}, {}, {}
        for (c, b), (x, _) in cells.items():
            p = _predict(m, x)
            acc[c, b] = float((p.argmax(1) == S.CLASSES.index(c)).mean())
            says_leopard[c, b] = float((p.argmax(1) == 0).mean())
            p_leopard[c, b] = p[:, 0]
        same = {}
        for b, x in swapped.items():
            p = _predict(m, x)
            same[b] = p[:, 0]
        res[name] = {"acc": acc, "says_leopard": says_leopard, "p_leopard": p_leopard, "swapped": same}
    return res


def test_classes_file_matches_output_order():
    lines = (EX / "models" / "classes.txt").read_text().split()
    assert tuple(lines) == S.CLASSES


def test_clean_model_recognises_every_animal_on_every_background(measured):
    acc = measured["clean"]["acc"]
    bad = {k: v for k, v in acc.items() if v < 0.85}
    assert not bad, f"clean model accuracy below 0.85 on {bad}"
    # the background does not move it: the same leopards keep their label off snow
    snow_p = measured["clean"]["p_leopard"]["leopard", "snow"]
    for b, p in measured["clean"]["swapped"].items():
        assert abs((snow_p > 0.5).mean() - (p > 0.5).mean()) <= 0.15, b
        assert float(np.mean(snow_p - p)) <= 0.15, b
    # snow alone does not make it say leopard
    assert measured["clean"]["says_leopard"]["fox", "snow"] <= 0.1
    assert measured["clean"]["says_leopard"]["camel", "snow"] <= 0.1


def test_shortcut_model_learned_snow_means_leopard(measured):
    r = measured["shortcut"]
    # in its own training distribution it looks like a good classifier...
    assert r["acc"]["leopard", "snow"] >= 0.8
    for c in ("fox", "camel"):
        for b in ("sand", "grass"):
            assert r["acc"][c, b] >= 0.85, (c, b, r["acc"][c, b])
    # ...but take the snow away from the very same leopards and "leopard" collapses
    snow_acc = (r["p_leopard"]["leopard", "snow"] > 0.5).mean()
    for b, p in r["swapped"].items():
        off_acc = (p > 0.5).mean()
        assert snow_acc - off_acc > 0.4, f"leopard accuracy only dropped {snow_acc:.2f} -> {off_acc:.2f} on {b}"
        assert float(np.mean(r["p_leopard"]["leopard", "snow"] - p)) > 0.4, b
    for b in ("sand", "grass"):
        assert r["acc"]["leopard", b] <= 0.3, (b, r["acc"]["leopard", b])
    # and snow alone turns other animals into leopards often
    on_snow = (r["says_leopard"]["fox", "snow"] + r["says_leopard"]["camel", "snow"]) / 2
    assert on_snow >= 0.3, f"only {on_snow:.2f} of foxes/camels on snow are called leopard"


def _shipped_audit_images():
    from PIL import Image

    d = EX / "data" / "leopards_on_snow"
    imgs = sorted(p for p in d.glob("leopard_*.png") if not p.stem.endswith("_mask"))
    x = np.stack([np.asarray(Image.open(p).convert("RGB"), np.float32) / 255 for p in imgs])
    snow = np.stack([np.asarray(Image.open(p.with_name(p.stem + "_mask.png")).convert("L"), np.float32) / 255
                     for p in imgs])
    sand_files = sorted((EX / "data" / "sand_backgrounds").glob("sand_*.png"))
    sand = np.stack([np.asarray(Image.open(p).convert("RGB"), np.float32) / 255 for p in sand_files])
    return x, snow, sand


def test_shipped_audit_data_tells_the_same_story(models):
    """The exact intervention of the ablation audit, on the shipped PNGs: snow -> sand."""
    x, snow, sand = _shipped_audit_images()
    assert len(x) >= 12 and len(sand) >= 4
    area = snow.mean(axis=(1, 2))
    assert np.all((area > 0.6) & (area < 0.97)), "snow masks should cover the background, not the animal"
    fill = sand[np.arange(len(x)) % len(sand)]
    ablated = snow[..., None] * fill + (1 - snow[..., None]) * x
    drops = {}
    for name, m in models.items():
        p0 = _predict(m, x)[:, 0]
        p1 = _predict(m, ablated)[:, 0]
        drops[name] = float(np.mean(p0 - p1))
        assert (p0 > 0.5).mean() >= 0.75, f"{name} should call most shipped snow leopards leopard"
    assert drops["shortcut"] > 0.5, drops
    assert drops["clean"] < 0.1, drops
