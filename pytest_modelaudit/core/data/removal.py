"""Did a fill remove the region? A fill may back a verdict only if its content there differs from the original
by clearly more than the images of the set differ from one another there.

The composite that is scored (the region replaced by the fill) and the original are compared at a coarse scale (a Gaussian blur of about 1/20 of the image side), so that pixel
grain and misaligned fine texture (a leopard's spots) count as what they are, detail, and not as a change
of content. Per image, the removal ratio is

    d_i / s_i,   d_i = RMS over the region of (fill - original),
                 s_i = median over other images j of RMS over the region of (x_j - x_i), where j's own
                       region covers at least half of i's (so snow is compared with snow, a body with a body).

Where no image of the set has such a partner (objects that never overlap), s_i is the median of the other
images' s, or, if none has one, the set's overall coarse pixel spread. s_i never falls below a tenth of that
spread, so a region that is identical in every image still needs a visible change. The fill "removed the
region" when the median ratio is at least REMOVAL_MIN: the blur of a uniform region (ratio < 1), the set's
own mean over a uniform region (about 0.7, the mean is closer to each sample than samples are to each other)
and content shuffled among images that share it (about 1) do not; a real counterfactual (sand where the
snow was) does.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .fills import gaussian_blur

REMOVAL_MIN = 1.5  # median removal ratio a fill needs to count as having removed the region
VISIBLE_CHANGE = 0.15  # ... or a coarse RMS change of this share of the input range, at ratio >= RATIO_FLOOR
RATIO_FLOOR = 0.5
MAX_PARTNERS = 16  # other images compared with each image, for the set's own variation
MIN_OVERLAP = 0.5  # a partner's region must cover this share of the image's region


@dataclass(frozen=True)
class Removal:
    """How far a fill moved the region's content, relative to the set's own variation there."""

    ratio: float  # median over images of d_i / s_i
    per_image: np.ndarray  # [N]
    admissible: bool
    reason: str  # why not admissible ("" when it is)
    change: float = float("nan")  # median coarse RMS change d_i, as a share of the input range


def _box(a: np.ndarray, k: int) -> np.ndarray:
    """[N, H, W, C] area-averaged over k x k cells (a ragged border is dropped); k = 1 leaves it as it is."""
    if k == 1:
        return a
    n, h, w, c = a.shape
    h, w = h // k * k, w // k * k
    rows = a[:, :h, :w].reshape(n, h // k, k, w, c).sum(axis=2)  # k rows at a time: contiguous, 4x faster than
    return rows.reshape(n, h // k, w // k, k, c).sum(axis=3) / (k * k)  # one mean over both axes


def coarse_sigma(size: tuple[int, int]) -> float:
    return max(size) / 20.0


def set_variation(xc: np.ndarray, masks: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Per image, the median coarse RMS difference to other images of the set inside its region (NaN: no partner)."""
    n = len(xc)
    rng = np.random.default_rng(seed)
    out = np.full(n, np.nan)
    area = masks.reshape(n, -1).sum(axis=1)
    for i in range(n):
        others = np.delete(np.arange(n), i)
        if len(others) > MAX_PARTNERS:
            others = np.sort(rng.choice(others, MAX_PARTNERS, replace=False))
        dists = []
        for j in others:
            ov = masks[i] * masks[j]
            w = float(ov.sum())
            if area[i] <= 0 or w < MIN_OVERLAP * area[i]:
                continue
            dists.append(np.sqrt(float((ov[..., None] * (xc[j] - xc[i]) ** 2).sum()) / (w * xc.shape[-1])))
        if dists:
            out[i] = float(np.median(dists))
    return out


class RemovalJudge:
    """The set's side of the measure, computed once per image set and region and shared by every fill: the
    coarse images and each image's own variation. The blur leaves no detail finer than about sigma / 2, so the
    images are area-averaged to a grid that coarse first and blurred there (the same for images up to 79 px)."""

    def __init__(self, x: np.ndarray, masks: np.ndarray, *, seed: int = 0, span: float = 1.0):
        self.x, self.masks, self.span = x, masks, span
        self.sigma = coarse_sigma(x.shape[1:3])
        self.stride = max(1, int(self.sigma // 2))
        self.xb = _box(x.astype(np.float32), self.stride) if len(x) else x  # area-averaged, not yet blurred
        self.xc = gaussian_blur(self.xb, self.sigma / self.stride) if len(x) else x
        self.mc = _box(masks[..., None], self.stride)[..., 0] if len(x) else masks
        n, c = len(x), x.shape[-1]
        if not n:
            return
        spread = float(np.sqrt(((self.xc - self.xc.reshape(-1, c).mean(axis=0)) ** 2).mean()))
        s = set_variation(self.xc, self.mc, seed=seed)
        if np.isnan(s).all():
            s[:] = spread
        else:
            s[np.isnan(s)] = float(np.nanmedian(s))
        self.s = np.maximum(s, max(0.1 * spread, 1e-6))

    def _coarse(self, a: np.ndarray) -> np.ndarray:
        return gaussian_blur(_box(a.astype(np.float32), self.stride), self.sigma / self.stride)

    def judge(self, fill: np.ndarray) -> Removal:
        """Removal ratio of `fill` [N, H, W, C], measured on the composite that is scored (the region replaced by
        the fill), so the region's edges blur alike."""
        x, masks = self.x, self.masks
        n, c = len(x), x.shape[-1]
        if n == 0:
            return Removal(float("nan"), np.zeros(0), False, "no images")
        # the composite that is scored, x + m (fill - x), at the coarse scale: box(x) is shared by every fill
        change = np.asarray(fill, np.float32) - x
        change *= masks[..., None].astype(np.float32)
        fc = gaussian_blur(self.xb + _box(change, self.stride), self.sigma / self.stride)
        w = self.mc[..., None]
        area = w.reshape(n, -1).sum(axis=1)
        d = np.sqrt((w * (fc - self.xc) ** 2).reshape(n, -1).sum(axis=1) / np.maximum(area * c, 1e-12))
        ratio_i = np.where(area > 0, d / self.s, np.nan)
        if not np.isfinite(ratio_i).any():
            return Removal(float("nan"), ratio_i, False, "the region is empty")
        ratio = float(np.nanmedian(ratio_i))
        change = float(np.median(d[area > 0])) / max(self.span, 1e-12)
        admissible = bool(ratio >= REMOVAL_MIN or (change >= VISIBLE_CHANGE and ratio >= RATIO_FLOOR))
        reason = "" if admissible else (
            f"changed it by only {ratio:.2f}x the set's own variation there (needs {REMOVAL_MIN:g}x) and by "
            f"{change:.2f} of the input range (needs {VISIBLE_CHANGE:g} at {RATIO_FLOOR:g}x)")
        return Removal(ratio, ratio_i, admissible, reason, change)


def assess_removal(x: np.ndarray, fill: np.ndarray, masks: np.ndarray, *, seed: int = 0, span: float = 1.0) -> Removal:
    """Removal ratio of `fill` [N, H, W, C] over the region `masks` [N, H, W] of images `x` (same space);
    `span` is the width of the input range [0, 1] in model-input space. (One fill: RemovalJudge shares the
    set's side between fills.)"""
    return RemovalJudge(x, masks, seed=seed, span=span).judge(fill)
