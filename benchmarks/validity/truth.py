"""Truth by counterfactual: what each model really does, measured by redrawing its inputs, never by attribution.

Every number here is a mean class probability P(k) on fresh scenes (seeds no training used), before
and after an intervention on exactly the scenes the audits see:

* ``bg_drop``: P(k) minus P(k) with the background swapped for each of the other backgrounds
  (the object kept pixel for pixel);
* ``obj_drop``: P(k) minus P(k) with the scene redrawn without its object (the background kept);
* ``bg_only``: P(k) of those object-free scenes (the background alone);
* ``obj_only``: P(k) with the object on the other backgrounds (the object alone, as far as a scene
  can show it);
* ``mark_drop``: P(k) minus P(k) with the watermark taken away; ``mark_only``: P(k) of scenes of the
  other classes with the watermark added (the mark alone on an otherwise different image);
* concept claims (starter models): ``delta[c]`` = P(k) with the target-class creatures' coat drawn in
  concept colour c, minus the mean of P(k) over the five other colours; for parts, P(k) with the
  creature's own part replaced by part p (at the same place) minus the mean over the two others.

Clear-cut rule (``band``): a claim is *clear-cut* when its truth value is far from the threshold the
claim tests, and *graded* otherwise (graded claims are listed apart, never counted):

* drops (claims "is not driving" = drop at most 0.2, "drives" = drop at least 0.3; heatmap claims on a
  region are read as the same causal claim about that region): clear-cut when the drop is <= 0.05
  (no reliance) or >= 0.5 (strong reliance);
* region-only probabilities (claims at most / at least 0.5): clear-cut when <= 0.2 or >= 0.8;
* concept deltas: clear-cut when delta >= 0.3 (depends), <= -0.3 (opposes) or |delta| <= 0.05
  (independent). "Independent" is read as the DESIGN's third outcome (equivalence to the baseline),
  so it is false for a concept the class clearly depends on *or* clearly opposes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

import creatures as C
import models as M
import scenes as S

N_SCENES = 32  # audit images per (model, class)
N_CREATURES = 48  # target-class creatures per (model, class) for TCAV (the target set) and their truth
DROP_BANDS = (0.05, 0.5)
PROB_BANDS = (0.2, 0.8)
DELTA_BANDS = (0.05, 0.3)


def predict(model: Any, x: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict(x, batch_size=256, verbose=0))


@dataclass
class Case:
    """The images one model is audited on for one class, their masks, fill images and the truth."""

    model: str
    target: int
    target_name: str
    images: np.ndarray
    masks: dict[str, np.ndarray]
    fill_images: dict[str, np.ndarray]  # region name -> in-distribution fill images for that region
    truth: dict[str, float]
    regions: tuple[str, ...]
    extra: dict[str, Any] = field(default_factory=dict)


def _audit_scenes(spec: M.Spec, k: int, rng: np.random.Generator) -> list[S.Scene]:
    if spec.family == "background":
        return [S.sample(S.OBJECTS[k], S.BACKGROUNDS[k], rng) for _ in range(N_SCENES)]
    if spec.family == "bg_label":
        return [S.sample(S.OBJECTS[int(rng.integers(0, 3))], S.BACKGROUNDS[k], rng) for _ in range(N_SCENES)]
    # watermark: the class's objects on random backgrounds; the marked class's scenes carry the mark
    mark = k == spec.params["marked"]
    return [S.sample(S.OBJECTS[k], S.BACKGROUNDS[int(rng.integers(0, 3))], rng, mark=mark) for _ in range(N_SCENES)]


def scene_case(name: str, model: Any, k: int) -> Case:
    """Truth for one scene model and class k, on N_SCENES fresh scenes (the audit images)."""
    spec = M.SPECS[name]
    rng = np.random.default_rng(M.derived("truth", name, k))
    scenes = _audit_scenes(spec, k, rng)
    x, masks = S.batch(scenes)
    p = predict(model, x)[:, k]
    truth: dict[str, float] = {"p_base": float(p.mean()), "accuracy": float((predict(model, x).argmax(1) == k).mean())}
    # the background swapped (object kept): every other background, once each
    swapped = []
    for s in scenes:
        for b in S.BACKGROUNDS:
            if b != s.bg:
                swapped.append(S.swap_background(s, b, rng))
    ps = predict(model, S.batch(swapped)[0])[:, k].reshape(len(scenes), -1)
    truth["bg_drop"] = float(p.mean() - ps.mean())
    # "only the object kept" replaces everything else, the watermark corner included
    po = predict(model, S.batch([S.without_mark(s) for s in swapped])[0])[:, k]
    truth["obj_only"] = float(po.mean())
    # the object removed (background kept)
    pn = predict(model, S.batch([S.without_object(s) for s in scenes])[0])[:, k]
    truth["obj_drop"] = float(p.mean() - pn.mean())
    # "only the background kept": the object and the watermark corner replaced
    truth["bg_only"] = float(predict(model, S.batch([S.without_mark(S.without_object(s)) for s in scenes])[0])[:, k].mean())
    regions = ("background", "object")
    fills = {
        # other backgrounds, without any object: what "replace the background" should put there
        "background": S.batch([S.sample(None, b, rng) for b in S.BACKGROUNDS if b != S.BACKGROUNDS[k]
                               for _ in range(N_SCENES // 2)])[0] if spec.family != "watermark" else
        S.batch([S.sample(None, S.BACKGROUNDS[int(rng.integers(0, 3))], rng) for _ in range(N_SCENES)])[0],
        # the same kind of background without the object: what "remove the object" should put there
        "object": S.batch([S.sample(None, S.BACKGROUNDS[k] if spec.family in ("background", "bg_label") else
                                    S.BACKGROUNDS[int(rng.integers(0, 3))], rng) for _ in range(N_SCENES)])[0],
    }
    if spec.family == "watermark" and k == spec.params["marked"]:
        pm = predict(model, S.batch([S.without_mark(s) for s in scenes])[0])[:, k]
        truth["mark_drop"] = float(p.mean() - pm.mean())
        others = [S.sample(S.OBJECTS[j], S.BACKGROUNDS[int(rng.integers(0, 3))], rng)
                  for j in range(3) if j != k for _ in range(N_SCENES // 2)]
        truth["mark_only"] = float(predict(model, S.batch([S.with_mark(s) for s in others])[0])[:, k].mean())
        # other-class scenes without the mark: in-distribution content for the corner and for the rest
        fills["mark"] = S.batch(others)[0]
        regions = ("background", "object", "mark")
    return Case(name, k, spec.classes[k], x, masks, fills, truth, regions,
                extra={"backgrounds": sorted({s.bg for s in scenes})})


# ----- the starter models (TCAV) -----------------------------------------------------------------
def _target_creatures(spec: M.Spec, k: int, rng: np.random.Generator) -> list[C.Drawn]:
    """Creatures of class k as the model was trained on them."""
    if spec.params["rule"] == "colour":
        return [C.sample(C.CLASSES[int(rng.integers(0, 3))], C.CLASS_COLOUR[C.CLASSES[k]], rng)
                for _ in range(N_CREATURES)]
    if spec.params["rule"] == "part":
        return [C.with_part(C.sample(C.CLASSES[int(rng.integers(0, 3))], C.COLOURS[int(rng.integers(0, 6))], rng),
                            C.PARTS[C.CLASSES[k]], M.PART_SCALE) for _ in range(N_CREATURES)]
    return [C.sample(C.CLASSES[k], C.COLOURS[int(rng.integers(0, len(C.COLOURS)))], rng) for _ in range(N_CREATURES)]


def starter_case(name: str, model: Any, k: int) -> Case:
    """Target images for class k and the concept deltas (colours and parts) measured on them."""
    spec = M.SPECS[name]
    rng = np.random.default_rng(M.derived("truth", name, k))
    drawn = _target_creatures(spec, k, rng)
    grounds = [int(rng.integers(0, 2**31 - 1)) for _ in drawn]
    x = C.scenes(drawn, grounds)
    p = predict(model, x)
    truth: dict[str, float] = {"p_base": float(p[:, k].mean()), "accuracy": float((p.argmax(1) == k).mean())}
    pc = {c: float(predict(model, C.scenes([C.recoloured(d, c, rng) for d in drawn], grounds))[:, k].mean())
          for c in C.COLOURS}
    pp = {q: float(predict(model, C.scenes([C.with_part(d, q) for d in drawn], grounds))[:, k].mean())
          for q in C.PART_NAMES}
    for fam, vals in (("colour", pc), ("part", pp)):
        for c, v in vals.items():
            truth[f"p[{c}]"] = v
            truth[f"delta[{c}]"] = v - float(np.mean([w for o, w in vals.items() if o != c]))
    return Case(name, k, spec.classes[k], x, {}, {}, truth, ())


def concept_library_sets(n_random: int = 20, n_images: int = 40) -> dict[str, np.ndarray]:
    """Colour and part concept sets and random sets, from their own seeds (never used in training)."""
    sets: dict[str, np.ndarray] = {}
    for c in C.COLOURS:
        sets[c] = C.colour_set(c, n_images, np.random.default_rng(M.derived("concept", c)))
    for q in C.PART_NAMES:
        sets[q] = C.part_set(q, n_images, np.random.default_rng(M.derived("concept", q)))
    for i in range(n_random):
        sets[f"random500_{i}"] = C.random_set(n_images, np.random.default_rng(M.derived("random", i)))
    return sets


# ----- bands ---------------------------------------------------------------------------------------
def drop_band(v: float) -> str:
    lo, hi = DROP_BANDS
    return "none" if v <= lo else "strong" if v >= hi else "graded"


def prob_band(v: float) -> str:
    lo, hi = PROB_BANDS
    return "low" if v <= lo else "high" if v >= hi else "graded"


def delta_band(v: float) -> str:
    lo, hi = DELTA_BANDS
    if v >= hi:
        return "depends"
    if v <= -hi:
        return "opposes"
    return "independent" if abs(v) <= lo else "graded"
