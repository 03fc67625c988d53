"""What every saliency method shares: the result type, input preparation, reduction to a pixel map, the cache."""
from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..model.adapter import ModelAdapter
from ..cache.disk import cached, model_identity
from ..data.inputs import Inputs, prepare
from .result import HeatmapResult


@dataclass(kw_only=True)
class SaliencyResult(HeatmapResult):
    """A saliency-family map (gradients, SmoothGrad, Integrated Gradients, Gradient x Input, Grad-CAM++,
    LayerCAM): the method's key, what it explains and its method-specific numbers."""

    method: str
    score: str = "logit"
    extra: dict[str, Any] = field(default_factory=dict)  # method-specific numbers (e.g. completeness error)


@dataclass
class Prepared:
    adapter: ModelAdapter
    inputs: Inputs
    x: np.ndarray  # model-input space
    target: int
    target_name: str


def prepare_inputs(adapter: ModelAdapter, images: Any, target: str | int) -> Prepared:
    inputs = prepare(adapter, images)
    idx = adapter.class_index(target)
    h, w, c = adapter.input_shape
    x = adapter.preprocess(inputs.images) if len(inputs.images) else np.zeros((0, h, w, c), np.float32)
    return Prepared(adapter, inputs, x, idx, adapter.class_name(idx))


def input_range_width(adapter: ModelAdapter, x: np.ndarray) -> float:
    """Width of the model-input range: from input_range, else measured on the images."""
    if adapter.input_range is not None:
        return adapter.input_range[1] - adapter.input_range[0]
    return float(x.max() - x.min()) if x.size else 1.0


def pixel_result(p: Prepared, signed_pixels: np.ndarray, *, method: str, magnitude: bool,
                 extra: dict[str, Any] | None = None) -> SaliencyResult:
    """Reduce [N, H, W, C] attributions to pixel maps: summed over channels; magnitude maps take |.| first."""
    signed = signed_pixels.sum(axis=-1) if signed_pixels.ndim == 4 else signed_pixels
    maps = np.abs(signed_pixels).sum(axis=-1) if magnitude else np.maximum(signed, 0.0)
    return SaliencyResult(maps.astype(np.float32), signed.astype(np.float32), "input", p.target, p.target_name,
                          p.inputs, method=method, extra=extra or {})


def layer_result(p: Prepared, layer: str, signed: np.ndarray, *, method: str) -> SaliencyResult:
    return SaliencyResult(np.maximum(signed, 0.0).astype(np.float32), signed.astype(np.float32), layer, p.target,
                          p.target_name, p.inputs, method=method)


def layer_capture(p: Prepared, layer: str | None, batch_size: int) -> tuple[str, np.ndarray, np.ndarray] | None:
    """The layer (default: the Grad-CAM layer), its activations and target-logit gradients; None for no images."""
    path = p.adapter.resolve(layer) if layer else p.adapter.default_gradcam_layer()
    if not len(p.x):
        return None
    _, (a,), (g,) = p.adapter.capture(p.inputs.images, [path], p.target, batch_size=batch_size)
    return path, a.astype(np.float64), g.astype(np.float64)


Method = Callable[..., SaliencyResult]


def cam_map(adapter: ModelAdapter, images: Any, target: str | int, layer: str | None, batch_size: int, *,
            method: str, combine: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> SaliencyResult:
    """A CAM-family map: `combine(activations, gradients)` -> the signed [N, h, w] map at the layer."""
    p = prepare_inputs(adapter, images, target)
    captured = layer_capture(p, layer, batch_size)
    if captured is None:
        return layer_result(p, layer or "", np.zeros((0, 1, 1), np.float32), method=method)
    path, a, g = captured
    return layer_result(p, path, combine(a, g), method=method)


def cached_method(fn: Method) -> Method:
    """Serve a method's maps from the session cache (memory, then disk), keyed by the model, the images, the
    target and every parameter but batch_size (the maps do not depend on it); an uncached run is unchanged."""
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def run(adapter: ModelAdapter, images: Any, target: str | int, **kwargs: Any) -> SaliencyResult:
        bound = signature.bind(adapter, images, target, **kwargs)
        bound.apply_defaults()
        params = {k: v for k, v in bound.arguments.items() if k not in ("adapter", "images", "target", "batch_size")}
        p = prepare_inputs(adapter, images, target)
        if not len(p.x):
            return fn(adapter, images, target, **kwargs)
        fresh: list[SaliencyResult] = []

        def compute() -> dict[str, np.ndarray]:
            r = fn(adapter, images, target, **kwargs)
            fresh.append(r)
            meta = {"method": r.method, "layer": r.layer, "score": r.score, "extra": r.extra}
            return {"maps": r.maps, "signed": r.signed, "meta": np.array(json.dumps(meta, default=_plain))}

        got = cached(fn.__name__, (model_identity(adapter), p.inputs.images, p.target, params), compute)
        if fresh:
            return fresh[0]
        meta = json.loads(str(got["meta"]))
        return SaliencyResult(got["maps"], got["signed"], meta["layer"], p.target, p.target_name, p.inputs,
                              method=meta["method"], score=meta["score"], extra=meta["extra"])

    return run


def _plain(value: Any) -> Any:
    """NumPy scalars and arrays in a method's extra numbers, as JSON."""
    return np.asarray(value).tolist()
