"""Stability of a region metric under small input noise: a verdict that one noise draw could flip is
not a verdict (it would pass on one run and fail on the next)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..model.adapter import ModelAdapter
from ..model.passes import phase
from ..cache.disk import SESSION_CACHE, image_digest, model_identity
from ..data.regions import region_share

NOISE = 0.02  # standard deviation, as a fraction of the [0, 1] display range
DRAWS = 3


@dataclass(frozen=True)
class Stability:
    """The audited metric on the clean images and on `draws` noisy copies of them."""

    metric: str
    clean: float
    noisy: tuple[float, ...]
    noise: float

    @property
    def values(self) -> tuple[float, ...]:
        return (self.clean, *self.noisy)

    @property
    def spread(self) -> tuple[float, float]:
        finite = [v for v in self.values if np.isfinite(v)]
        return (min(finite), max(finite)) if finite else (float("nan"), float("nan"))


def noisy_maps(adapter: ModelAdapter, images01: np.ndarray, target: int, method: str,
               compute: Callable[[ModelAdapter, np.ndarray, int], np.ndarray], *, seed: int = 0,
               draws: int = DRAWS, noise: float = NOISE) -> list[np.ndarray]:
    """Maps of the images with Gaussian noise added (seeded, clipped to [0, 1]); once per method and image set."""
    def run() -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        out = []
        for _ in range(draws):
            noisy = np.clip(images01 + rng.normal(0.0, noise, images01.shape), 0.0, 1.0).astype(np.float32)
            out.append(compute(adapter, noisy, target))
        return out

    key = ("noisy_maps", model_identity(adapter), method, image_digest(images01), target, seed, draws, noise)
    with phase("stability"):
        return SESSION_CACHE.memo(key, run)


def region_metric_stability(clean: float, maps: list[np.ndarray], mask: np.ndarray, metric: str,
                            noise: float = NOISE) -> Stability:
    """The mean region share (or lift) on each noisy draw's maps, beside the clean value."""
    noisy = []
    for m in maps:
        rs = region_share(m, mask)
        values = rs.share if metric == "share" else rs.lift
        noisy.append(float(np.nanmean(values)) if rs.valid.any() else float("nan"))
    return Stability(metric, float(clean), tuple(noisy), noise)
