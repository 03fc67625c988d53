"""What the model is, layer by layer: path, type, output shape, parameters, trainable; nested backbones included,
the shapes read from one forward pass on a zero image (nothing is rebuilt, so Sequential models without an
Input work as everywhere else)."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .adapter import ModelAdapter


@dataclass(frozen=True)
class LayerRow:
    path: str  # '/'-joined through nested models, as layers are named everywhere else
    kind: str  # the layer's class
    output_shape: list[int | None]  # without the batch axis; [] when the layer was not called
    params: int
    trainable_params: int
    trainable: bool
    container: bool  # a nested model: its rows follow it
    depth: int  # nesting level (0: the model's own layers)


def _count(weights: list[Any]) -> int:
    return int(sum(int(np.prod(w.shape)) for w in weights))


def layer_summary(adapter: ModelAdapter) -> list[LayerRow]:
    """One row per layer in the model's own order (a nested model's layers right after it), with the output
    shape each produced on the forward pass."""
    def build() -> list[LayerRow]:
        from .capture import Recorder, is_container, layer_paths

        paths = layer_paths(adapter.model)
        with Recorder(adapter.model, dict(paths)) as rec:
            adapter.model(np.zeros((1,) + adapter.input_shape, np.float32), training=False)
        shapes: dict[str, list[int | None]] = {}
        for path, out in rec.order:
            shape = getattr(out, "shape", None)
            if shape is not None:
                shapes[path] = [None if d is None else int(d) for d in list(shape)[1:]]
        # input layers are left out: their shape is the model's input shape, and their auto-generated names
        # (input_layer_7) would make two loads of one model differ
        return [LayerRow(p, type(layer).__name__, shapes.get(p, []), _count(layer.weights),
                         _count(layer.trainable_weights), bool(layer.trainable), is_container(layer), p.count("/"))
                for p, layer in paths if type(layer).__name__ != "InputLayer"]

    return adapter.built(("layer_summary",), build)


def summary_json(adapter: ModelAdapter) -> list[dict[str, Any]]:
    """The summary as results.json stores it; `logits` marks the layer the logits are read at."""
    head = adapter.head.path if adapter.head.how != "output" else None
    return [{**asdict(r), "logits": r.path == head} for r in layer_summary(adapter)]


def first_conv_filters(adapter: ModelAdapter) -> tuple[str, np.ndarray] | None:
    """The first 2-D convolution in the model's order (nested backbones included) and its kernels
    [kh, kw, in channels, filters]; None when the model has none."""
    from .capture import is_container, layer_paths

    for path, layer in layer_paths(adapter.model):
        if not is_container(layer) and type(layer).__name__ == "Conv2D" and layer.weights:
            kernel = np.asarray(layer.kernel)
            if kernel.ndim == 4:
                return path, kernel
    return None
