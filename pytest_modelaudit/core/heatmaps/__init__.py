"""The saliency family: one method per file over one base; every method returns a SaliencyResult."""
from __future__ import annotations

from typing import Any

from ..model.adapter import ModelAdapter
from ...errors import ModelAuditError
from .base import SaliencyResult
from .gradcam_plus_plus import gradcam_plus_plus
from .gradient_x_input import gradient_x_input
from .integrated_gradients import integrated_gradients
from .layercam import layercam
from .smoothgrad import smoothgrad
from .vanilla_gradients import vanilla_gradients

METHODS = {
    "saliency": vanilla_gradients,
    "smoothgrad": smoothgrad,
    "integrated_gradients": integrated_gradients,
    "gradient_x_input": gradient_x_input,
    "gradcam++": gradcam_plus_plus,
    "layercam": layercam,
}


def saliency(adapter: ModelAdapter, images: Any, target: str | int, *, method: str, **kwargs: Any) -> SaliencyResult:
    """Run the saliency method named `method` (see METHODS)."""
    if method not in METHODS:
        raise ModelAuditError(f"Unknown heatmap method {method!r}; expected one of "
                              + ", ".join(map(repr, ["gradcam", "occlusion", *METHODS])) + ".")
    return METHODS[method](adapter, images, target, **kwargs)


__all__ = ["METHODS", "SaliencyResult", "saliency", *(f.__name__ for f in METHODS.values())]
