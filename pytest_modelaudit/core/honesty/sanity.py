"""Checks that a heatmap reflects the model (Adebayo et al., 2018) and ranks what it needs first.

- randomisation: maps of copies of the model with every weighted layer re-initialised (cascading
  randomisation to the input; each layer's own initializer; nested backbones included) must not keep
  the ranking of the audited maps. A single draw is noisy, so the correlation is averaged over draws.
- class sensitivity: maps for the other classes must differ (mean over up to five other classes).
- faithfulness: deletion and insertion curves; the map's order must beat its own reverse.

Each runs once per (model, method and parameters, images, target, seed) in a process, on at most
`MAX_IMAGES` images: they test the method on this model, not the claim.
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..model.adapter import ModelAdapter
from ..model.passes import phase
from ..cache.disk import SESSION_CACHE, image_digest, model_identity
from .faithfulness import Curves, deletion_insertion

MAX_RANK_CORRELATION = 0.5  # maps this similar to the reference maps "barely change" (Adebayo et al.)
MIN_FAITHFULNESS_MARGIN = 0.0  # insertion area minus deletion area must be above this
MIN_CURVE_RANGE = 0.1  # a fill that moves the probability less than this when everything is removed says nothing
DRAWS = 3  # randomised copies averaged
MAX_OTHER_CLASSES = 5
MAX_IMAGES = 8

# compute(adapter, images01, target) -> maps [N, h, w]: the audited method with the audited parameters
MapFn = Callable[[ModelAdapter, np.ndarray, int], np.ndarray]


@dataclass(frozen=True)
class HonestyCheck:
    name: str  # randomisation | class_sensitivity | faithfulness
    value: float  # mean rank correlation (randomisation, class sensitivity) or insertion - deletion area
    threshold: float
    passed: bool | None  # None: could not be run (detail says why)
    detail: str
    values: tuple[float, ...] = ()  # per draw / per other class / per fill


@dataclass(frozen=True)
class Honesty:
    """The honesty checks of one method on one model and image set, and the curves behind faithfulness."""

    method: str
    checks: tuple[HonestyCheck, ...]
    curves: Curves | None = field(default=None, repr=False)
    images: int = 0
    # the first image's maps: audited, on the first randomised copy, for the first other class
    examples: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    other_class: str | None = None  # the class of the "other_class" example

    @property
    def failed(self) -> list[HonestyCheck]:
        return [c for c in self.checks if c.passed is False]


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Mean Spearman rank correlation between paired maps [N, h, w].

    A map that became flat shares no ranking with one that is not (0); two flat maps are left out.
    """
    from scipy.stats import spearmanr

    values = []
    for x, y in zip(a, b):
        x, y = np.ravel(x), np.ravel(y)
        flat_x, flat_y = np.ptp(x) == 0, np.ptp(y) == 0
        if flat_x and flat_y:
            continue
        values.append(0.0 if flat_x or flat_y else float(spearmanr(x, y).statistic))
    return float(np.mean(values)) if values else float("nan")


def randomised_copy(adapter: ModelAdapter, *, seed: int = 0, top: int | None = None) -> ModelAdapter:
    """A copy of the model with its last `top` weighted layers (all when None) re-initialised.

    Each weight is redrawn with its layer's own initializer where the layer names one (kernel_initializer,
    bias_initializer, gamma_initializer...), else from a normal of the weight's own scale. The user's model
    is never touched: the copy is made with keras.models.clone_model.
    """
    import keras

    clone = keras.models.clone_model(adapter.model)
    clone.set_weights(adapter.model.get_weights())
    _reinitialise(clone, seed, top)
    what = "all weighted layers" if top is None else f"the last {top} weighted layers"
    copy = ModelAdapter(clone, classes=adapter.class_names, input_range=adapter.input_range or (0.0, 1.0),
                        preprocess=adapter.preprocess_fn, name=f"{adapter.name} ({what} re-initialised)")
    copy.passes_key = adapter.passes_key  # the same architecture: its passes cost what the model's do
    return copy


def redraw(copy: ModelAdapter, *, seed: int, top: int | None = None) -> ModelAdapter:
    """The same copy re-initialised as `randomised_copy(..., seed=seed)` would draw it, in place: its traced
    functions are kept (one trace for every draw) and its identity is recomputed from the new weights."""
    _reinitialise(copy.model, seed, top)
    copy.weights_reassigned()
    return copy


def _reinitialise(model: Any, seed: int, top: int | None) -> None:
    import keras

    from ..model.capture import is_container, layer_paths

    weighted = [layer for _, layer in layer_paths(model) if not is_container(layer) and layer.weights]
    chosen = weighted if top is None else weighted[-top:]
    rng = np.random.default_rng(seed)
    for layer in chosen:
        for w in layer.weights:
            init = getattr(layer, f"{w.name}_initializer", None)
            if init is not None:
                config = keras.initializers.serialize(init)
                if isinstance(config.get("config"), dict) and "seed" in config["config"]:
                    config["config"]["seed"] = int(rng.integers(2**31))
                value = np.asarray(keras.initializers.deserialize(config)(tuple(w.shape), dtype=w.dtype))
            else:
                current = np.asarray(w.numpy())
                value = rng.normal(0.0, float(current.std()) or 0.05, current.shape).astype(current.dtype)
            w.assign(value)


@contextlib.contextmanager
def _quiet_retracing() -> Iterator[None]:
    """Each randomised copy traces its own functions; TensorFlow's "retracing" warning is expected here."""
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _judged(name: str, values: list[float], what: str) -> HonestyCheck:
    """A rank-correlation check: passes when the mean is below the threshold, undecided when nothing ranked."""
    finite = [v for v in values if np.isfinite(v)]
    value = float(np.mean(finite)) if finite else float("nan")
    passed = None if not finite else bool(value < MAX_RANK_CORRELATION)
    shown = ", ".join(f"{v:.2f}" for v in values)
    return HonestyCheck(name, value, MAX_RANK_CORRELATION, passed,
                        f"{what}: mean rank correlation {value:.2f} ({shown}); must stay below {MAX_RANK_CORRELATION}",
                        tuple(float(v) for v in values))


class CopyError(Exception):
    """The model could not be copied (e.g. a subclassed model clone_model cannot rebuild)."""


def _copy(adapter: ModelAdapter, seed: int, reuse: ModelAdapter | None = None) -> ModelAdapter:
    try:
        return randomised_copy(adapter, seed=seed) if reuse is None else redraw(reuse, seed=seed)
    except Exception as exc:
        raise CopyError(f"{type(exc).__name__}: {exc}") from exc


def randomisation_check(adapter: ModelAdapter, images: np.ndarray, maps: np.ndarray, target: int, compute: MapFn,
                        *, seed: int = 0, draws: int = DRAWS, cache_parts: Any = None) -> tuple[HonestyCheck, np.ndarray | None]:
    """Mean rank correlation of the maps with those of `draws` fully re-initialised copies; passes below 0.5.
    Also returns the first copy's map of the first image, for the report.

    With `cache_parts` (what names the method and its parameters), each copy's maps are kept in the
    persistent cache under the original model's identity, so a warm run never rebuilds the copies.
    """
    from ..cache.disk import cached

    copies: list[ModelAdapter] = []  # one clone, redrawn for each draw: its functions are traced once

    def draw(d: int) -> dict[str, np.ndarray]:
        copy = _copy(adapter, seed + d, copies[0] if copies else None)
        copies[:] = [copy]
        return {"maps": compute(copy, images, target)}

    def random_maps(d: int) -> np.ndarray:
        run = lambda: draw(d)  # noqa: E731
        if cache_parts is None:
            return run()["maps"]
        parts = (model_identity(adapter), cache_parts, np.asarray(images, np.float32), int(target), seed + d)
        return cached("randomised_maps", parts, run)["maps"]

    try:
        with _quiet_retracing():
            all_maps = [random_maps(d) for d in range(draws)]
    except CopyError as exc:
        return HonestyCheck("randomisation", float("nan"), MAX_RANK_CORRELATION, None,
                            f"not run: the model could not be copied ({exc})"), None
    values = [rank_correlation(maps, r) for r in all_maps]
    check = _judged("randomisation", values, f"vs {draws} copies with every weighted layer re-initialised")
    return check, all_maps[0][0]


def other_classes(adapter: ModelAdapter, target: int, seed: int) -> list[int]:
    """Up to five other classes: all of them for small heads, else a seeded sample."""
    others = [k for k in range(adapter.num_classes) if k != target]
    if len(others) <= MAX_OTHER_CLASSES:
        return others
    return sorted(np.random.default_rng(seed).choice(others, MAX_OTHER_CLASSES, replace=False).tolist())


def class_sensitivity_check(adapter: ModelAdapter, images: np.ndarray, maps: np.ndarray, target: int,
                            compute: MapFn, *, seed: int = 0) -> tuple[HonestyCheck, np.ndarray | None]:
    """Mean rank correlation with the maps of the other classes (a random other class, in expectation).
    Also returns the first other class's map of the first image, for the report."""
    if adapter.num_classes < 2:
        return HonestyCheck("class_sensitivity", float("nan"), MAX_RANK_CORRELATION, None,
                            "not run: the model has a single output"), None
    others = other_classes(adapter, target, seed)
    other_maps = [compute(adapter, images, k) for k in others]
    values = [rank_correlation(maps, o) for o in other_maps]
    names = ", ".join(repr(adapter.class_name(k)) for k in others)
    check = _judged("class_sensitivity", values, f"maps for '{adapter.class_name(target)}' vs {names}")
    return check, other_maps[0][0]


def faithfulness_check(adapter: ModelAdapter, images: np.ndarray, maps: np.ndarray, target: int, *,
                       seed: int = 0) -> tuple[HonestyCheck, Curves]:
    """Deletion and insertion curves; passes when insertion area beats deletion area under every fill that
    removes the evidence (a fill after which the model still sees the target says nothing about the order)."""
    curves = deletion_insertion(adapter, images, maps, target, seed=seed)
    informative = np.abs(curves.deletion[:, 0] - curves.deletion[:, -1]) >= MIN_CURVE_RANGE
    parts = ", ".join(f"{f}: insertion {i:.2f}, deletion {d:.2f}"
                      for f, i, d in zip(curves.fills, curves.insertion_auc, curves.deletion_auc))
    margins = curves.margin
    if not informative.any():
        full = ", ".join(f"{f} {p:.2f}" for f, p in zip(curves.fills, curves.deletion[:, -1]))
        return HonestyCheck("faithfulness", float("nan"), MIN_FAITHFULNESS_MARGIN, None,
                            f"undetermined: the probability barely moves even with every pixel removed (P = "
                            f"{curves.deletion[0, 0]:.2f} before, {full} after), so no pixel order can be told "
                            f"apart from another (areas {parts})", tuple(float(m) for m in margins)), curves
    value = float(margins[informative].min())
    return HonestyCheck("faithfulness", value, MIN_FAITHFULNESS_MARGIN, bool(value > MIN_FAITHFULNESS_MARGIN),
                        f"areas under the probability curves ({parts}): insertion minus deletion {value:.2f} "
                        f"under the least favourable fill; must be above {MIN_FAITHFULNESS_MARGIN:g}",
                        tuple(float(m) for m in margins)), curves


def honesty(adapter: ModelAdapter, images: np.ndarray, target: int, method: str, compute: MapFn, *,
            seed: int = 0, params: Any = None) -> Honesty:
    """All honesty checks of `method` (a key naming the method and its parameters) for this model and images.

    `params` are the method's parameter values; with them the randomised copies' maps are cached on disk
    (a parameter without a stable content digest, like a callable fill, keeps them uncached).
    """
    images = np.asarray(images, np.float32)[:MAX_IMAGES]
    def run() -> Honesty:
        if not len(images):
            return Honesty(method, (), None, 0)
        with phase("evidence"):
            maps = compute(adapter, images, target)
        with phase("faithfulness"):
            faithful, curves = faithfulness_check(adapter, images, maps, target, seed=seed)
        with phase("randomisation"):
            randomised, random_map = randomisation_check(adapter, images, maps, target, compute, seed=seed,
                                                         cache_parts=None if params is None else (method, params))
        with phase("class sensitivity"):
            sensitivity, other_map = class_sensitivity_check(adapter, images, maps, target, compute, seed=seed)
        examples = {"audited": maps[0], "randomised": random_map, "other_class": other_map}
        other = other_classes(adapter, target, seed)[:1] if adapter.num_classes > 1 else []
        return Honesty(method, (randomised, sensitivity, faithful), curves, len(images),
                       {k: v for k, v in examples.items() if v is not None},
                       adapter.class_name(other[0]) if other else None)

    return SESSION_CACHE.memo(("honesty", model_identity(adapter), method, image_digest(images), target, seed), run)
