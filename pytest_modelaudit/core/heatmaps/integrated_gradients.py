"""Integrated Gradients: (x - baseline) times the mean gradient along the straight path; completeness reported."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..model.adapter import ModelAdapter
from ...errors import ModelAuditError
from .base import SaliencyResult, cached_method, pixel_result, prepare_inputs


@cached_method
def integrated_gradients(adapter: ModelAdapter, images: Any, target: str | int, *, steps: int = 32,
                         baseline: Any = "zeros", batch_size: int = 32) -> SaliencyResult:
    """Midpoint Riemann sum over `steps`; baseline 'zeros', 'mean' or a number / array in model-input space.

    Completeness: the attributions of an image should sum to S(x) - S(baseline); the largest relative
    error over the images is reported as `completeness_error`.
    """
    if steps < 1:
        raise ModelAuditError(f"steps must be at least 1, got {steps}.")
    p = prepare_inputs(adapter, images, target)
    if isinstance(baseline, str):
        if baseline == "zeros":
            base = np.zeros_like(p.x)
        elif baseline == "mean":
            base = np.broadcast_to(p.x.reshape(-1, p.x.shape[-1]).mean(0) if len(p.x) else 0.0, p.x.shape).astype(np.float32)
        else:
            raise ModelAuditError(f"Unknown baseline {baseline!r}; expected 'zeros', 'mean', a number or an array.")
    else:
        try:
            base = np.broadcast_to(np.asarray(baseline, np.float32), p.x.shape).astype(np.float32)
        except ValueError as exc:
            raise ModelAuditError(f"baseline must broadcast to the inputs {p.x.shape}: {exc}") from exc
    alphas = (np.arange(steps, dtype=np.float32) + 0.5) / steps
    n = len(p.x)
    total = np.zeros_like(p.x)
    # every (image, step) point in fixed-size batches
    points = [(i, a) for i in range(n) for a in alphas]
    for s in range(0, len(points), batch_size):
        chunk = points[s : s + batch_size]
        idx = np.array([c[0] for c in chunk])
        a = np.array([c[1] for c in chunk], np.float32)[:, None, None, None]
        path = base[idx] + a * (p.x[idx] - base[idx])
        _, g = adapter.input_gradients(path, p.target, batch_size=batch_size)
        for k, i in enumerate(idx):  # in order, as np.add.at adds, at a fraction of its cost
            total[i] += g[k]
    attributions = (p.x - base) * total / steps
    extra: dict[str, Any] = {"steps": steps, "completeness_error": float("nan")}
    if n:
        ends, _ = adapter.input_gradients(np.concatenate([p.x, base]), p.target, batch_size=batch_size)
        delta = ends[:n] - ends[n:]
        sums = attributions.reshape(n, -1).sum(1)
        extra["completeness_error"] = float((np.abs(sums - delta) / np.maximum(np.abs(delta), 1e-6)).max())
    return pixel_result(p, attributions, method="integrated_gradients", magnitude=False, extra=extra)
