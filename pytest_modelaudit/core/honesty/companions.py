"""The other kinds of heatmap for the same images, so a reader can compare methods side by side.

Whatever method an audit used, its report shows Grad-CAM (gradient-weighted activations), occlusion
(what removing a patch costs) and Integrated Gradients (a path-integrated input gradient) beside it.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..model.adapter import ModelAdapter
from ..model.passes import phase
from ..cache.disk import SESSION_CACHE, image_digest, model_identity
from .faithfulness import Curves, deletion_insertion
from .sanity import MAX_IMAGES

COMPANIONS = ("gradcam", "occlusion", "integrated_gradients")
OCCLUSION_PATCH_FRACTION = 8  # patch = an eighth of the image side



def _own_name(result: Any) -> str | None:
    if result.method == "Grad-CAM":
        return "gradcam"
    return result.method if result.method in COMPANIONS else None


def companion_maps(adapter: ModelAdapter, result: Any) -> dict[str, np.ndarray]:
    """Grad-CAM, occlusion and Integrated Gradients maps [N, h, w] of the result's images and target; the
    audited method's own maps (with the audited parameters) take its place."""
    from ..heatmaps.gradcam import gradcam
    from ..heatmaps.occlusion import occlusion
    from ..heatmaps import saliency

    images = result.inputs.images
    own = _own_name(result)
    digest = image_digest(images)
    h = adapter.input_shape[0]
    patch = max(2, h // OCCLUSION_PATCH_FRACTION)
    compute = {
        "gradcam": lambda: gradcam(adapter, images, result.target).maps,
        "occlusion": lambda: occlusion(adapter, images, result.target, patch=patch).maps,
        "integrated_gradients": lambda: saliency(adapter, images, result.target, method="integrated_gradients").maps,
    }
    maps = {}
    for name, fn in compute.items():
        if name == own:
            maps[name] = result.maps
            continue
        with phase("companions"):
            maps[name] = SESSION_CACHE.memo(("companion_maps", model_identity(adapter), digest, result.target, name), fn)
    return maps


def companion_curves(adapter: ModelAdapter, result: Any, maps: dict[str, np.ndarray], *,
                     seed: int = 0) -> dict[str, Curves]:
    """Deletion and insertion curves of each companion map on the first images (as the honesty checks use)."""
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
