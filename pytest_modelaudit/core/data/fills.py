"""Fills for removal-based evidence, in model-input space: flat, blurred and in-distribution content."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ModelAuditError

NAMED_FILLS = ("mean", "blur", "shuffle", "images")
DEFAULT_FILLS = ("mean", "blur", "shuffle")


@dataclass
class Fill:
    """Replacement content for every image: [N, H, W, C] in model-input space."""

    name: str
    description: str
    content: np.ndarray
    coverage: float = 1.0  # share of the region this fill had content for (shuffle: what its donors could give)
    keeps_shape: str = ""  # why this fill may leave the region's shape in place (a flat colour, a blur); "" if not


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


# Fills whose content does not depend on the mask: built for one mask, they serve another as they are.
MASK_FREE = ("mean", "blur")


def make_fills(specs: Sequence[Any] | None, x: np.ndarray, masks: np.ndarray, *, fill_images: np.ndarray | None,
               rng: np.random.Generator, reuse: Sequence[Fill] = (), region_only: bool = False) -> tuple[list[Fill], list[str]]:
    """Build each requested fill for the images x [N, H, W, C] (model space); returns fills and notes. Fills in
    `reuse` (built for the same images and another mask) are taken as they are where the mask does not matter;
    `region_only`: `masks` is everything but the region kept (see donor_content)."""
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
        same = [f for f in reuse if f.name == spec] if isinstance(spec, str) and spec in MASK_FREE else []
        if same:
            fills.append(same[0])
            continue
        if isinstance(spec, str):
            if spec not in NAMED_FILLS:
                raise ModelAuditError(f"Unknown fill {spec!r}; expected one of {', '.join(map(repr, NAMED_FILLS))}, a number or a callable.")
            if spec == "mean":
                mean = x.reshape(-1, c).mean(axis=0) if n else np.zeros(c, np.float32)
                fills.append(Fill("mean", "per-channel mean of the image set (flat, out of distribution)",
                                  np.broadcast_to(mean.astype(np.float32), x.shape),
                                  keeps_shape="it is flat: one colour keeps the region's outline (a removed object's "
                                              "silhouette) and is out of distribution"))
            elif spec == "blur":
                s = blur_sigma((h, w))
                fills.append(Fill("blur", f"the image itself, Gaussian-blurred (sigma {s:g} px)", gaussian_blur(x, s),
                                  keeps_shape=f"a blur keeps everything coarser than {s:g} px, the region's own "
                                              "blob of colour included"))
            elif spec == "shuffle":
                if n < 2:
                    notes.append("fill 'shuffle' skipped: it needs at least two images")
                    continue
                content, coverage = donor_content(x, masks, rng, region_only)
                how = ("their own region there, from images that differ there (a background swap)"
                       if swaps_surroundings(masks, region_only)
                       else "only where it lies outside the donor's own region")
                fills.append(Fill("shuffle", f"content of other images of the set at the same place: {how} "
                                  "(in distribution)", content, coverage))
            else:  # images
                if fill_images is None or not len(fill_images):
                    raise ModelAuditError("fill 'images' needs fill_images=... (a folder, an ImageSet or an array of images).")
                fills.append(Fill("images", f"content from {len(fill_images)} user fill image(s), for each image the one "
                                  "that best matches its surroundings (in distribution)",
                                  fill_images[_best_matches(x, masks, fill_images, rng)]))
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


MAX_DONORS = 32  # other images tried, closest surroundings first, for each image's region


# Candidates are ranked by how well they match what the image keeps only when it keeps at least this share
# of itself (removing an object: match the background). Matching on a small kept part (an object, when the
# background is removed) would pick camouflage, content that resembles the object, so the order stays seeded.
MIN_KEPT_TO_MATCH = 0.5


def _by_match(x_i: np.ndarray, keep_i: np.ndarray, candidates: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Candidate indices (from the seeded `order`), closest first on the kept pixels when enough is kept."""
    if keep_i.mean() < MIN_KEPT_TO_MATCH:
        return order
    diff = (((candidates[order] - x_i[None]) ** 2) * keep_i[None, ..., None]).sum(axis=(1, 2, 3))
    return order[np.argsort(diff, kind="stable")]


def _grid(a: np.ndarray) -> np.ndarray:
    """Every k-th pixel, at most 64 per side: matching compares what images look like, not their detail."""
    k = max(1, max(a.shape[1:3]) // 64)
    return a[:, ::k, ::k]


def _best_matches(x: np.ndarray, masks: np.ndarray, candidates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per image, the fill image that best matches what the image keeps (seeded when it keeps little)."""
    xs, keep, cs = _grid(x), _grid(masks < 0.5), _grid(candidates)
    return np.array([_by_match(xs[i], keep[i], cs, rng.permutation(len(candidates)))[0] for i in range(len(x))], int)


def _closest_donors(xs: np.ndarray, keep: np.ndarray, i: int, rng: np.random.Generator) -> np.ndarray:
    """Other images, those that look most like image i where it is kept first (a snowy donor for a snowy image)."""
    others = np.delete(np.arange(len(xs)), i)[rng.permutation(len(xs) - 1)]
    return _by_match(xs[i], keep[i], xs, others)[:MAX_DONORS]


def _different_donors(xs: np.ndarray, region: np.ndarray, i: int, rng: np.random.Generator) -> np.ndarray:
    """Other images whose content in image i's region differs from image i's at least as much as the median
    other image's does (sand or grass for snow, not the closest snow), in seeded order, then the rest."""
    others = np.delete(np.arange(len(xs)), i)[rng.permutation(len(xs) - 1)]
    diff = (((xs[others] - xs[i][None]) ** 2) * region[i][None, ..., None]).sum(axis=(1, 2, 3))
    far = diff >= np.median(diff)
    return np.concatenate([others[far], others[~far]])[:MAX_DONORS]


# A region covering at least this share of the images on average is their surroundings (a background).
SURROUNDINGS_SHARE = 0.5


def swaps_surroundings(masks: np.ndarray, region_only: bool = False) -> bool:
    """Whether `shuffle` swaps the region for other images' own region (a background being removed) rather
    than filling it with what lies outside theirs (an object, a mark; and always for "only the region kept",
    whose "everything else" holds the very objects of the set)."""
    return not region_only and bool(len(masks)) and float(masks.mean()) >= SURROUNDINGS_SHARE


def donor_content(x: np.ndarray, masks: np.ndarray, rng: np.random.Generator,
                  region_only: bool = False) -> tuple[np.ndarray, float]:
    """Per image, content from other images at the same place that cannot bring back what is removed.

    An object or a mark (a small region) takes what lies outside the donors' own region there: a donor's
    background fills the hole, never another object of the set. Removed surroundings (a region covering most
    of the image) are swapped for other images' own surroundings, only where the donor's region lies (never a
    piece of its object), from donors whose content there differs from the image's: the background swap.
    "Only the region kept" (`region_only`) never swaps: its "everything else" holds the set's objects. Whether that removed anything is for the removal judge (a set whose backgrounds are all snow
    swaps snow for snow). Pixels no donor can give take the mean of what donors gave. Returns the content
    and the region share donors covered."""
    n = len(x)
    swap = swaps_surroundings(masks, region_only)
    region = masks >= 0.5
    source = region if swap else ~region  # where each donor may give
    given = x[source] if source.any() else x.reshape(-1, x.shape[-1])
    mean = given.reshape(-1, x.shape[-1]).mean(axis=0).astype(np.float32)
    content = np.empty_like(x, dtype=np.float32)
    covered_mass = total_mass = 0.0
    xs, keep, reg = _grid(x), _grid(~region), _grid(region)
    for i in range(n):
        donors = _different_donors(xs, reg, i, rng) if swap else _closest_donors(xs, keep, i, rng)
        out = np.broadcast_to(mean, x.shape[1:]).copy()
        covered = np.zeros(x.shape[1:3], bool)
        needed = masks[i] > 0  # only what the region's composite uses: stop once that is covered
        for j in donors:
            take = source[j] & ~covered
            out[take] = x[j][take]
            covered |= take
            if covered[needed].all():
                break
        content[i] = out
        covered_mass += float((masks[i] * covered).sum())
        total_mass += float(masks[i].sum())
    return content, (covered_mass / total_mass if total_mass > 0 else 0.0)
