"""Grad-CAM on logits: mean-pooled gradients, ReLU, bilinear upsampling; raw grid maps kept."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..model.adapter import ModelAdapter
from ..cache.disk import cached, model_identity
from ..data.inputs import prepare
from .result import HeatmapResult


@dataclass(kw_only=True)
class GradCAMResult(HeatmapResult):
    """Grad-CAM maps for one target class over an image set: after ReLU, not normalised (the raw map)."""

    logits: np.ndarray  # [N, K]

    method = "Grad-CAM"
    score = "logit"

    def upsampled(self) -> np.ndarray:
        """Maps bilinearly upsampled to the input size and clipped at 0 (for display and overlays)."""
        import tensorflow as tf

        h, w = self.inputs.images.shape[1:3]
        if not len(self.maps):
            return np.zeros((0, h, w), np.float32)
        up = tf.image.resize(self.maps[..., None], (h, w), method="bilinear").numpy()[..., 0]
        return np.maximum(up, 0.0)


def cam_from(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """Signed CAM: sum over channels of activations weighted by spatially averaged gradients."""
    weights = gradients.mean(axis=(1, 2), keepdims=True)
    return (activations * weights).sum(axis=-1)


def gradcam(adapter: ModelAdapter, images: Any, target: str | int, *, layer: str | None = None,
            batch_size: int = 32) -> GradCAMResult:
    """Grad-CAM of the target class logit at `layer` (default: last spatial layer before pooling)."""
    inputs = prepare(adapter, images)
    idx = adapter.class_index(target)
    path = adapter.resolve(layer) if layer else adapter.default_gradcam_layer()
    if len(inputs.images) == 0:
        empty = np.zeros((0, 1, 1), np.float32)
        return GradCAMResult(empty, empty, path, idx, adapter.class_name(idx), inputs,
                             logits=np.zeros((0, adapter.num_classes)))

    def compute() -> dict[str, np.ndarray]:
        logits, (acts,), (grads,) = adapter.capture(inputs.images, [path], idx, batch_size=batch_size)
        if acts.ndim != 4:
            from ...errors import LayerUnsuitableError

            raise LayerUnsuitableError(
                f"Layer {path!r} of model {adapter.name!r} outputs shape {acts.shape[1:]}, not a spatial map (H, W, C); "
                "Grad-CAM needs a convolutional layer."
            )
        return {"signed": cam_from(acts.astype(np.float32), grads.astype(np.float32)), "logits": logits}

    got = cached("gradcam", (model_identity(adapter), inputs.images, idx, path), compute)
    signed = got["signed"]
    return GradCAMResult(np.maximum(signed, 0.0), signed, path, idx, adapter.class_name(idx), inputs,
                         logits=got["logits"])
