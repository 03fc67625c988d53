"""The one result type of every heatmap method: what the heatmap checks, honesty checks and records read."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.inputs import Inputs


@dataclass
class HeatmapResult:
    """A heatmap per image for one target class, on the input grid or on a layer's grid.

    Each method's result adds its own fields (keyword-only); `method` (its key or label) and `score` (what
    the map explains) are set by each method."""

    maps: np.ndarray  # [N, h, w] the map the region metrics use (positive = evidence for the target)
    signed: np.ndarray  # [N, h, w] before ReLU / magnitudes (occlusion: the same signed drops)
    layer: str  # the layer whose grid the maps are on, or "input ..." for pixel maps
    target: int
    target_name: str
    inputs: Inputs

    @property
    def grid(self) -> tuple[int, int]:
        return int(self.maps.shape[1]), int(self.maps.shape[2])
