"""Region metrics on a heatmap: share of positive mass inside a region and its lift over area."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# A heatmap whose positive mass is below this is treated as all zero (degenerate).
ZERO_MASS = 1e-12


def downsample_mask(masks: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """Area-average masks [N, H, W] onto the feature grid (h, w): each cell's covered fraction."""
    n, h, w = masks.shape
    gh, gw = grid
    if h % gh == 0 and w % gw == 0:
        return masks.reshape(n, gh, h // gh, gw, w // gw).mean(axis=(2, 4))
    from PIL import Image

    return np.stack([
        np.asarray(Image.fromarray(m.astype(np.float32)).resize((gw, gh), Image.Resampling.BOX), np.float32) for m in masks
    ]) if n else np.zeros((0, gh, gw), np.float32)


@dataclass
class RegionShare:
    """Per image: share of positive mass in the region, region area share, lift; NaN where undefined."""

    share: np.ndarray
    area: np.ndarray
    lift: np.ndarray
    degenerate: np.ndarray  # all-zero heatmap
    empty_region: np.ndarray  # region covers nothing on the grid
    mask_grid: np.ndarray

    @property
    def valid(self) -> np.ndarray:
        return ~(self.degenerate | self.empty_region)


def region_share(maps: np.ndarray, masks: np.ndarray) -> RegionShare:
    """Share of the positive map mass inside each region, on the maps' grid (masks area-downsampled)."""
    grid = maps.shape[1:3]
    mg = downsample_mask(masks, grid)
    pos = np.maximum(maps, 0.0).astype(np.float64)
    total = pos.sum(axis=(1, 2))
    inside = (pos * mg).sum(axis=(1, 2))
    area = mg.mean(axis=(1, 2))
    degenerate = ~np.isfinite(total) | (total <= ZERO_MASS)
    empty = area <= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(degenerate | empty, np.nan, inside / np.where(total > 0, total, 1))
        lift = np.where(degenerate | empty, np.nan, share / np.where(area > 0, area, 1))
    return RegionShare(share, area, lift, degenerate, empty, mg.astype(np.float32))
