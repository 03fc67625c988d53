"""Fills for removal-based evidence, in model-input space: flat, blurred and in-distribution content."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ModelAuditError

NAMED_FILLS = ("mean", "blur", "shuffle", "images")
DEFAULT_FILLS = ("mean", "blur", "shuffle")


@dataclass
class Fill:
    """Replacement content for every image: [N, H, W, C] in model-input space."""

    name: str
    description: str
    content: np.ndarray


def blur_sigma(size: tuple[int, int]) -> float:
    return max(size) / 8.0


def gaussian_blur(x: np.ndarray, sigma: float, passes: int = 3) -> np.ndarray:
    """Blur [N, H, W, C] over H and W: three box passes with the Gaussian's variance (cost independent of sigma)."""
    from scipy.ndimage import uniform_filter1d

    width = max(1, int(round(np.sqrt(12.0 * sigma**2 / passes + 1.0))))
    width += 1 - width % 2  # odd, so the blur stays centred
    out = np.asarray(x, np.float32)
    for _ in range(passes):
        for axis in (1, 2):
            out = uniform_filter1d(out, size=width, axis=axis, mode="reflect")
    return out


def _fill_name(spec: Any) -> str:
    if isinstance(spec, str):
        return spec
    if callable(spec):
        return getattr(spec, "__name__", "callable")
    return f"value {float(spec):g}"


def make_fills(specs: Sequence[Any] | None, x: np.ndarray, masks: np.ndarray, *, fill_images: np.ndarray | None,
               rng: np.random.Generator) -> tuple[list[Fill], list[str]]:
    """Build each requested fill for the images x [N, H, W, C] (model space); returns fills and notes."""
    if specs is None:
        specs = DEFAULT_FILLS + (("images",) if fill_images is not None else ())
    elif isinstance(specs, (str, int, float)) or callable(specs):
        specs = (specs,)
    if len(specs) == 0:
        raise ModelAuditError("fills=() is empty; give at least one fill (e.g. 'mean', 'blur', 'shuffle', 'images', a value or a callable).")
    n, h, w, c = x.shape
    fills: list[Fill] = []
    notes: list[str] = []
    for spec in specs:
        if isinstance(spec, str):
            if spec not in NAMED_FILLS:
                raise ModelAuditError(f"Unknown fill {spec!r}; expected one of {', '.join(map(repr, NAMED_FILLS))}, a number or a callable.")
            if spec == "mean":
                mean = x.reshape(-1, c).mean(axis=0) if n else np.zeros(c, np.float32)
                fills.append(Fill("mean", "per-channel mean of the image set (flat, out of distribution)",
                                  np.broadcast_to(mean.astype(np.float32), x.shape)))
            elif spec == "blur":
                s = blur_sigma((h, w))
                fills.append(Fill("blur", f"the image itself, Gaussian-blurred (sigma {s:g} px)", gaussian_blur(x, s)))
            elif spec == "shuffle":
                if n < 2:
                    notes.append("fill 'shuffle' skipped: it needs at least two images")
                    continue
                perm = _derangement(n, rng)
                fills.append(Fill("shuffle", "the same region taken from another image of the set (in distribution)",
                                  x[perm]))
            else:  # images
                if fill_images is None or not len(fill_images):
                    raise ModelAuditError("fill 'images' needs fill_images=... (a folder, an ImageSet or an array of images).")
                pick = rng.integers(0, len(fill_images), size=n)
                fills.append(Fill("images", f"content from {len(fill_images)} user fill image(s) (in distribution)",
                                  fill_images[pick]))
        elif callable(spec):
            try:
                content = np.asarray(spec(x.copy(), masks.copy()), np.float32)
                content = np.broadcast_to(content, x.shape)
            except Exception as exc:
                raise ModelAuditError(f"Fill callable {_fill_name(spec)!r} failed or returned the wrong shape (need broadcastable to {x.shape}): {exc}") from exc
            fills.append(Fill(_fill_name(spec), "user callable", content))
        elif isinstance(spec, (int, float)) and not isinstance(spec, bool) and np.isfinite(spec):
            fills.append(Fill(_fill_name(spec), f"constant {float(spec):g} in model-input space (flat, out of distribution)",
                              np.full(x.shape, float(spec), np.float32)))
        else:
            raise ModelAuditError(f"Fill {spec!r} is not understood; expected 'mean', 'blur', 'shuffle', 'images', a number or a callable.")
    names = [f.name for f in fills]
    if len(set(names)) != len(names):
        raise ModelAuditError(f"Fills must have distinct names, got {names}.")
    return fills, notes


def _derangement(n: int, rng: np.random.Generator) -> np.ndarray:
    """A seeded permutation with no fixed point: every image gets another image's content."""
    shift = int(rng.integers(1, n))
    order = rng.permutation(n)
    perm = np.empty(n, int)
    perm[order] = order[(np.arange(n) + shift) % n]
    return perm

