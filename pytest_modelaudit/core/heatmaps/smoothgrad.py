"""SmoothGrad: vanilla-gradient magnitudes averaged over seeded Gaussian noise (sigma a fraction of the input range)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..model.adapter import ModelAdapter
from ...errors import ModelAuditError
from .base import SaliencyResult, cached_method, input_range_width, pixel_result, prepare_inputs


@cached_method
def smoothgrad(adapter: ModelAdapter, images: Any, target: str | int, *, samples: int = 25, noise: float = 0.15,
               seed: int = 0, batch_size: int = 32) -> SaliencyResult:
    """Mean |gradient| over `samples` noisy copies; noise sigma = `noise` x (width of the model-input range)."""
    if samples < 1:
        raise ModelAuditError(f"samples must be at least 1, got {samples}.")
    if not noise >= 0:
        raise ModelAuditError(f"noise must be a non-negative fraction of the input range, got {noise!r}.")
    p = prepare_inputs(adapter, images, target)
    sigma = noise * input_range_width(adapter, p.x)
    rng = np.random.default_rng(seed)
    total = np.zeros_like(p.x)
    # every (sample, image) pair in fixed-size batches; noise drawn pair by pair in a fixed order, so the
    # maps do not depend on the batch size
    jobs = np.array([i for _ in range(samples) for i in range(len(p.x))], dtype=int)
    for s in range(0, len(jobs), batch_size):
        idx = jobs[s : s + batch_size]
        noise_ = np.stack([rng.normal(0.0, sigma, size=p.x.shape[1:]) for _ in idx]).astype(np.float32)
        _, g = adapter.input_gradients(p.x[idx] + noise_, p.target, batch_size=batch_size)
        for k, i in enumerate(idx):  # in order, as np.add.at adds, at a fraction of its cost
            total[i] += np.abs(g[k])
    return pixel_result(p, total / samples, method="smoothgrad", magnitude=True,
                        extra={"samples": samples, "noise_sigma": sigma, "seed": seed})
