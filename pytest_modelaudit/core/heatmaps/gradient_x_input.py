"""Gradient x Input: the gradient times the input (model-input space), summed over channels; positive part."""
from __future__ import annotations

from typing import Any

from ..model.adapter import ModelAdapter
from .base import SaliencyResult, cached_method, pixel_result, prepare_inputs


@cached_method
def gradient_x_input(adapter: ModelAdapter, images: Any, target: str | int, *, batch_size: int = 32) -> SaliencyResult:
    p = prepare_inputs(adapter, images, target)
    _, grads = adapter.input_gradients(p.x, p.target, batch_size=batch_size)
    return pixel_result(p, grads * p.x, method="gradient_x_input", magnitude=False)
