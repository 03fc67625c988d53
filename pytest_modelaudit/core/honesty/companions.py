"""The other kinds of heatmap for the same images, so a reader can compare methods side by side.

Whatever method an audit used, its report shows Grad-CAM (gradient-weighted activations), occlusion
(what removing a patch costs) and Integrated Gradients (a path-integrated input gradient) beside it.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..model.adapter import ModelAdapter
from ..model.passes import phase
from ..cache.disk import SESSION_CACHE, array_digest, image_digest, model_identity
from .faithfulness import Curves, deletion_insertion
from .sanity import MAX_IMAGES

COMPANIONS = ("gradcam", "occlusion", "integrated_gradients")
OCCLUSION_PATCH_FRACTION = 8  # patch = an eighth of the image side


def method_key(result: Any) -> str:
    """The result's method as the curves and companion maps name it ("gradcam" for Grad-CAM)."""
    return "gradcam" if result.method == "Grad-CAM" else result.method


def _own_name(result: Any) -> str | None:
    key = method_key(result)
    return key if key in COMPANIONS else None


def companion_images(n: int, shown: Sequence[int]) -> list[int]:
    """The images that need companion maps: the ones a card shows and the first ones the curves run on."""
    return sorted(set(range(min(n, MAX_IMAGES))) | {int(i) for i in shown if 0 <= int(i) < n})


def companion_maps(adapter: ModelAdapter, result: Any, images: Sequence[int]) -> dict[str, dict[int, np.ndarray]]:
    """Grad-CAM, occlusion and Integrated Gradients maps [h, w] of the result's target, per image index, for the
    given images only; the audited method's own maps (with the audited parameters) take its place.

    Each image's map is kept for the session, so audits that show other images of the same set only pay for
    those. Every map is the one the whole set would give: a map depends on its own image only (occlusion's
    flat fill is the whole set's mean colour, as it would be for the full set)."""
    from ..heatmaps.gradcam import gradcam
    from ..heatmaps.occlusion import occlusion
    from ..heatmaps import saliency

    x01 = result.inputs.images
    wanted = sorted({int(i) for i in images})
    own = _own_name(result)
    h, c = adapter.input_shape[0], adapter.input_shape[2]
    patch = max(2, h // OCCLUSION_PATCH_FRACTION)
    mean = adapter.preprocess(x01).reshape(-1, c).mean(axis=0).astype(np.float32) if len(x01) else None
    set_mean = lambda x_, m_: mean  # noqa: E731  the 'mean' fill of the whole set, whatever images are asked
    compute = {
        "gradcam": (lambda x: gradcam(adapter, x, result.target).maps, None),
        "occlusion": (lambda x: occlusion(adapter, x, result.target, patch=patch, fill=set_mean).maps,
                      array_digest(mean) if mean is not None else None),
        "integrated_gradients": (lambda x: saliency(adapter, x, result.target, method="integrated_gradients").maps,
                                 None),
    }
    ident = model_identity(adapter)
    maps: dict[str, dict[int, np.ndarray]] = {}
    for name, (fn, fill_key) in compute.items():
        if name == own:
            maps[name] = {i: result.maps[i] for i in wanted}
            continue
        keys = {i: ("companion_map", ident, array_digest(x01[i]), result.target, name, fill_key) for i in wanted}
        got = {i: SESSION_CACHE.recall(k) for i, k in keys.items()}
        todo = [i for i in wanted if got[i] is None]
        if todo:
            with phase("companions"):
                fresh = fn(x01[todo])
            for i, m in zip(todo, fresh):
                got[i] = m
                SESSION_CACHE.keep(keys[i], m)
        maps[name] = got
    return maps


def companion_curves(adapter: ModelAdapter, result: Any, maps: dict[str, np.ndarray], *,
                     seed: int = 0) -> dict[str, Curves]:
    """Deletion and insertion curves of each map method [N, h, w] on the first images (as the honesty checks use)."""
    images = result.inputs.images[:MAX_IMAGES]
    digest = image_digest(images)
    out = {}
    for name, m in maps.items():
        key = ("companion_curves", model_identity(adapter), digest, result.target, name, image_digest(m[:MAX_IMAGES]),
               seed)
        with phase("companions"):
            out[name] = SESSION_CACHE.memo(key, lambda m=m: deletion_insertion(adapter, images, m[:MAX_IMAGES],
                                                                               result.target, seed=seed))
    return out
