"""Vanilla gradients: the magnitude of d(target logit)/d(input), summed over channels."""
from __future__ import annotations

from typing import Any

from ..model.adapter import ModelAdapter
from .base import SaliencyResult, cached_method, pixel_result, prepare_inputs


@cached_method
def vanilla_gradients(adapter: ModelAdapter, images: Any, target: str | int, *, batch_size: int = 32) -> SaliencyResult:
    p = prepare_inputs(adapter, images, target)
    _, grads = adapter.input_gradients(p.x, p.target, batch_size=batch_size)
    return pixel_result(p, grads, method="saliency", magnitude=True)
