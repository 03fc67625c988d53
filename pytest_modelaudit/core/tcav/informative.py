"""Is a layer informative for a class: TCAV counts only the sign of each image's gradient along a CAV, so a
layer where every target image's gradient points the same way (a linear head after global pooling) cannot
tell concepts apart. The message names an earlier spatial layer to use instead."""
from __future__ import annotations

import numpy as np

from ..model.adapter import ModelAdapter

# Below this gradient variation (mean squared distance of the unit gradients from their mean: 0 when every
# target image's gradient points the same way) a layer is not informative. A layer feeding a linear head
# after global pooling gives ~1e-13 (round-off); the starter's conv layers 0.34-0.86; its conv4, whose
# gradient varies only through one ReLU'd Dense layer, 7e-4-3e-2, where ~90 % of random CAVs score exactly
# 0 or 1. At 0.05 (unit gradients about 13 degrees apart on average) most random CAVs still split the images.
GRADIENT_VARIATION_MIN = 0.05


def gradient_variation(grads: np.ndarray) -> float:
    """How much the gradient's direction varies across images: mean_i |u_i - mean u|^2 = 1 - |mean u|^2 for the
    unit gradients u_i of the images whose gradient is not zero (0: all parallel); NaN when every gradient is 0.

    Directions, not magnitudes: the sign of g_i . CAV, which is all TCAV counts, depends only on u_i.
    """
    g = np.asarray(grads, np.float64).reshape(len(grads), -1)
    norms = np.linalg.norm(g, axis=1)
    nonzero = norms > 0
    if not nonzero.any():
        return float("nan")
    u = g[nonzero] / norms[nonzero, None]
    return float(max(0.0, 1.0 - float(np.sum(u.mean(axis=0) ** 2))))


def execution_order(adapter: ModelAdapter) -> list[tuple[str, bool]]:
    """Leaf layers in execution order, each with whether its output is spatial (N, H, W, C; H, W > 1)."""
    def build() -> list[tuple[str, bool]]:
        from ..model.capture import Recorder, is_container, layer_paths

        leaves = {p: l for p, l in layer_paths(adapter.model) if not is_container(l)}
        with Recorder(adapter.model, leaves) as rec:
            adapter.model(np.zeros((1,) + adapter.input_shape, np.float32), training=False)
        order: list[tuple[str, bool]] = []
        for path, out in rec.order:
            shape = getattr(out, "shape", None)
            if all(path != p for p, _ in order):
                order.append((path, shape is not None and len(shape) == 4 and shape[1] > 1 and shape[2] > 1))
        return order

    return adapter.built(("tcav_execution_order",), build)


def earlier_spatial_layer(adapter: ModelAdapter, layer: str) -> str | None:
    """The last spatial layer run before `layer` (what to suggest when `layer` is not informative), or None."""
    try:
        order = execution_order(adapter)
    except Exception:  # a suggestion only: never fail an audit over it
        return None
    names = [p for p, _ in order]
    if layer not in names:
        return None
    spatial = [p for p, is_spatial in order[: names.index(layer)] if is_spatial]
    return spatial[-1] if spatial else None


def informativeness(adapter: ModelAdapter, layer: str, grads: np.ndarray, target_name: str, *,
                    variation: float | None = None) -> tuple[float, bool, str]:
    """(gradient variation, informative?, reason when not) of one layer for one class (variation: when known)."""
    variation = gradient_variation(grads) if variation is None else variation
    if np.isnan(variation):
        return variation, False, (f"the gradient of '{target_name}' at this layer is zero for every target image: "
                                  "no direction moves its logit, so every TCAV score there is 0")
    if variation >= GRADIENT_VARIATION_MIN:
        return variation, True, ""
    earlier = earlier_spatial_layer(adapter, layer)
    return variation, False, (
        f"the gradient of '{target_name}' at this layer is the same for every image (relative variation "
        f"{variation:.2g} < {GRADIENT_VARIATION_MIN}); TCAV there only measures the sign of <{target_name} "
        "weights, CAV>" + (f"; use an earlier layer, e.g. '{earlier}'" if earlier else "; use an earlier layer"))
