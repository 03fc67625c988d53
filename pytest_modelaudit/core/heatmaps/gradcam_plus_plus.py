"""Grad-CAM++ (Chattopadhay et al., 2018, eq. 19) on the exponential of the target logit.

With Y = exp(S), the second and third derivatives are powers of the first (g = dS/dA), so
alpha = g^2 / (2 g^2 + sum_ab A_ab g^3); channel weight = sum_ij alpha_ij relu(g_ij); map = ReLU(sum_k w_k A_k).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..model.adapter import ModelAdapter
from .base import SaliencyResult, cached_method, cam_map


def _weighted(a: np.ndarray, g: np.ndarray) -> np.ndarray:
    g2, g3 = g**2, g**3
    denom = 2 * g2 + a.sum(axis=(1, 2), keepdims=True) * g3
    alpha = np.where(denom != 0, g2 / np.where(denom != 0, denom, 1), 0.0)
    weights = (alpha * np.maximum(g, 0)).sum(axis=(1, 2), keepdims=True)
    return (weights * a).sum(axis=-1)


@cached_method
def gradcam_plus_plus(adapter: ModelAdapter, images: Any, target: str | int, *, layer: str | None = None,
                      batch_size: int = 32) -> SaliencyResult:
    return cam_map(adapter, images, target, layer, batch_size, method="gradcam++", combine=_weighted)
