"""A model's logits on a set of images: one batched, traced forward pass per image, cached by content."""
from __future__ import annotations

import numpy as np

from ..cache.disk import cached, model_identity
from ..data.inputs import Inputs, prepare
from ..model.adapter import ModelAdapter


def predict(adapter: ModelAdapter, images: object, *, batch_size: int = 64) -> tuple[Inputs, np.ndarray]:
    """The images at model size and their logits [N, K] (forward passes only, cached)."""
    inputs = prepare(adapter, images)
    got = cached("logits", (model_identity(adapter), inputs.images),
                 lambda: {"logits": adapter.logits(inputs.images, batch_size=batch_size)})
    return inputs, got["logits"]
