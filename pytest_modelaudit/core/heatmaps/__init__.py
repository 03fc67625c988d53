"""The registry of heatmap methods: Grad-CAM, occlusion and the saliency family, one method per file.

Every method returns a HeatmapResult. Each entry also says how to recompute exactly the maps it gave on another
model, image set or class (its MapRecipe), which the honesty checks need, so every method takes one path.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..model.adapter import ModelAdapter
from ...errors import ModelAuditError
from . import gradcam, occlusion  # as modules: heatmaps.gradcam and heatmaps.occlusion stay the modules
from .base import SaliencyResult
from .gradcam_plus_plus import gradcam_plus_plus
from .gradient_x_input import gradient_x_input
from .integrated_gradients import integrated_gradients
from .layercam import layercam
from .result import HeatmapResult
from .smoothgrad import smoothgrad
from .vanilla_gradients import vanilla_gradients


@dataclass(frozen=True)
class MapRecipe:
    """How to recompute the audited maps on another model, image set or class (for the honesty checks)."""

    key: str  # names the method and its parameters
    compute: Callable[[ModelAdapter, np.ndarray, int], np.ndarray]
    params: tuple[Any, ...] = ()  # the parameter values, for the persistent cache


# (method name, its result, the arguments it ran with) -> the recipe's key and params; the key is recorded (the
# honesty checks' method) and keys the session caches, so each method's stays as it is
Describe = Callable[[str, Any, dict[str, Any]], tuple[str, tuple[Any, ...]]]


@dataclass(frozen=True)
class HeatmapMethod:
    """A registered method: the function, how its recipe is named, and what the caller must supply."""

    run: Callable[..., HeatmapResult]
    describe: Describe
    seeded: bool = False  # it draws random numbers: the caller passes a seed derived from the root seed
    on_layer: bool = False  # its maps are on a layer's grid: that layer is reported and pinned for the re-runs

    def recipe(self, name: str, result: HeatmapResult, kwargs: dict[str, Any]) -> MapRecipe:
        """The recipe of `result`, computed with `kwargs`: the same arguments, the layer it chose pinned."""
        if self.on_layer and result.layer:
            kwargs = {**kwargs, "layer": result.layer}
        key, params = self.describe(name, result, kwargs)
        return MapRecipe(key, lambda a, x, t: self.run(a, x, t, **kwargs).maps, params)


def _gradcam(name: str, result: gradcam.GradCAMResult, kwargs: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    return f"gradcam layer={result.layer}", (result.layer,)


def _occlusion(name: str, result: occlusion.OcclusionResult, kwargs: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    # the fill as given (a callable has no stable digest and keeps the randomised maps uncached), not its name
    fill = kwargs.get("fill", inspect.signature(occlusion.occlusion).parameters["fill"].default)
    return (f"occlusion patch={result.patch} stride={result.stride} fill={result.fill}",
            (result.patch, result.stride, fill, result.seed))


def _saliency(name: str, result: HeatmapResult, kwargs: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    return (f"{name} " + " ".join(f"{k}={v!r}" for k, v in sorted(kwargs.items())),
            tuple(sorted((k, v) for k, v in kwargs.items() if k != "batch_size")))


METHODS: dict[str, HeatmapMethod] = {
    "gradcam": HeatmapMethod(gradcam.gradcam, _gradcam, on_layer=True),
    "occlusion": HeatmapMethod(occlusion.occlusion, _occlusion, seeded=True),
    "saliency": HeatmapMethod(vanilla_gradients, _saliency),
    "smoothgrad": HeatmapMethod(smoothgrad, _saliency, seeded=True),
    "integrated_gradients": HeatmapMethod(integrated_gradients, _saliency),
    "gradient_x_input": HeatmapMethod(gradient_x_input, _saliency),
    "gradcam++": HeatmapMethod(gradcam_plus_plus, _saliency, on_layer=True),
    "layercam": HeatmapMethod(layercam, _saliency, on_layer=True),
}


def heatmap_method(name: str) -> HeatmapMethod:
    """The registered method `name`; a ModelAuditError naming the known ones otherwise."""
    if name not in METHODS:
        raise ModelAuditError(f"Unknown heatmap method {name!r}; expected one of "
                              + ", ".join(map(repr, METHODS)) + ".")
    return METHODS[name]


def saliency(adapter: ModelAdapter, images: Any, target: str | int, *, method: str, **kwargs: Any) -> HeatmapResult:
    """Run the heatmap method named `method` (see METHODS)."""
    return heatmap_method(method).run(adapter, images, target, **kwargs)


__all__ = ["METHODS", "HeatmapMethod", "HeatmapResult", "MapRecipe", "SaliencyResult", "heatmap_method", "saliency",
           "gradcam_plus_plus", "gradient_x_input", "integrated_gradients", "layercam", "smoothgrad",
           "vanilla_gradients"]
