"""LayerCAM (Jiang et al., 2021): ReLU(sum over channels of ReLU(gradient) x activation), no spatial pooling."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..model.adapter import ModelAdapter
from .base import SaliencyResult, cached_method, cam_map


@cached_method
def layercam(adapter: ModelAdapter, images: Any, target: str | int, *, layer: str | None = None,
             batch_size: int = 32) -> SaliencyResult:
    return cam_map(adapter, images, target, layer, batch_size, method="layercam",
                   combine=lambda a, g: (np.maximum(g, 0) * a).sum(axis=-1))
