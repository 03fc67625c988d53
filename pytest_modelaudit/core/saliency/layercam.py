"""LayerCAM (Jiang et al., 2021): ReLU(sum over channels of ReLU(gradient) x activation), no spatial pooling."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..adapter import ModelAdapter
from .base import SaliencyResult, cached_method, layer_capture, layer_result, prepare_inputs


@cached_method
def layercam(adapter: ModelAdapter, images: Any, target: str | int, *, layer: str | None = None,
             batch_size: int = 32) -> SaliencyResult:
    p = prepare_inputs(adapter, images, target)
    captured = layer_capture(p, layer, batch_size)
    if captured is None:
        return layer_result(p, layer or "", np.zeros((0, 1, 1), np.float32), method="layercam")
    path, a, g = captured
    return layer_result(p, path, (np.maximum(g, 0) * a).sum(axis=-1), method="layercam")
