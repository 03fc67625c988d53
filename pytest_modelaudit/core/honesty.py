"""Checks that a heatmap reflects the model (Adebayo et al., 2018): it must change when the model's top
layers are randomised, and when another class is explained. Each runs once per (model, method, layer,
images) in a session.

Not yet wired into verdicts: on the leopard example a single random redraw gives rank correlations
that vary with the draw (0.57 vs 0.29 for Grad-CAM on the clean model), so gating a verdict on one
draw would flip it; averaging several draws of the fully randomised model and calibrating the 0.5
threshold comes first (issue 4).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .adapter import ModelAdapter

MAX_RANK_CORRELATION = 0.5  # maps this similar to the reference maps "barely change"
TOP_LAYERS = 2  # how many of the last weighted layers are re-initialised


@dataclass(frozen=True)
class HonestyCheck:
    name: str  # randomisation | class_sensitivity
    value: float  # mean Spearman rank correlation with the audited maps
    threshold: float
    passed: bool | None  # None: could not be run (detail says why)
    detail: str


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


def randomised_copy(adapter: ModelAdapter, *, top: int = TOP_LAYERS, seed: int = 0) -> ModelAdapter:
    """A copy of the model whose last `top` weighted layers are redrawn (normal, each weight's own scale).

    The user's model is never touched: the copy is made with keras.models.clone_model.
    """
    import keras

    from .capture import is_container, layer_paths

    clone = keras.models.clone_model(adapter.model)
    clone.set_weights(adapter.model.get_weights())
    weighted = [layer for _, layer in layer_paths(clone) if not is_container(layer) and layer.weights]
    rng = np.random.default_rng(seed)
    for layer in weighted[-top:]:
        for w in layer.weights:
            values = np.asarray(w.numpy())
            scale = float(values.std()) or 0.05
            w.assign(rng.normal(0.0, scale, values.shape).astype(values.dtype))
    copy = ModelAdapter(clone, classes=adapter.class_names, input_range=adapter.input_range or (0.0, 1.0),
                        preprocess=adapter.preprocess_fn, name=f"{adapter.name} (top {top} layers randomised)")
    return copy


_RESULTS: dict[tuple[Any, ...], HonestyCheck] = {}


def _judged(name: str, corr: float, what: str) -> HonestyCheck:
    """A check from a rank correlation: passes below the threshold, undecided when there was nothing to rank."""
    passed = None if np.isnan(corr) else bool(corr < MAX_RANK_CORRELATION)
    return HonestyCheck(name, corr, MAX_RANK_CORRELATION, passed,
                        f"{what}: mean rank correlation {corr:.2f} (must stay below {MAX_RANK_CORRELATION})")


def _key(*parts: Any) -> tuple[Any, ...]:
    return tuple(hashlib.sha1(np.ascontiguousarray(p).tobytes()).hexdigest() if isinstance(p, np.ndarray) else p
                 for p in parts)


def randomisation_check(adapter: ModelAdapter, images: np.ndarray, maps: np.ndarray, method: str, layer: str,
                        compute: Callable[[ModelAdapter], np.ndarray]) -> HonestyCheck:
    """Rank correlation of the maps with those of a top-layers-randomised copy; passes below 0.5."""
    key = _key("randomisation", adapter.fingerprint, method, layer, images)
    if key not in _RESULTS:
        try:
            random_maps = compute(randomised_copy(adapter))
        except Exception as exc:  # e.g. a subclassed model clone_model cannot copy
            _RESULTS[key] = HonestyCheck("randomisation", float("nan"), MAX_RANK_CORRELATION, None,
                                         f"not run: the model could not be copied ({type(exc).__name__}: {exc})")
        else:
            _RESULTS[key] = _judged("randomisation", rank_correlation(maps, random_maps),
                                    f"maps vs the same method on a copy with the last {TOP_LAYERS} weighted layers "
                                    "redrawn")
    return _RESULTS[key]


def class_sensitivity_check(adapter: ModelAdapter, images: np.ndarray, maps: np.ndarray, target: int, method: str,
                            layer: str, compute: Callable[[int], np.ndarray]) -> HonestyCheck:
    """Rank correlation with the maps of another class (the model's most likely other class); passes below 0.5."""
    key = _key("class", adapter.fingerprint, method, layer, target, images)
    if key not in _RESULTS:
        if adapter.num_classes < 2:
            _RESULTS[key] = HonestyCheck("class_sensitivity", float("nan"), MAX_RANK_CORRELATION, None,
                                         "not run: the model has a single output")
        else:
            probs = adapter.probabilities(adapter.logits(images)).mean(axis=0)
            probs[target] = -np.inf
            other = int(np.argmax(probs))
            _RESULTS[key] = _judged("class_sensitivity", rank_correlation(maps, compute(other)),
                                    f"maps for '{adapter.class_name(target)}' vs '{adapter.class_name(other)}'")
    return _RESULTS[key]
