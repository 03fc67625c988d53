"""Layer-wise feature maps for the model panel: for a few images, the output of every conv / activation / pooling
stage (leaf layers with a 4-D output), its top channels by mean activation, in ONE batched traced pass, cached."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..cache.disk import cached, model_identity
from .adapter import ModelAdapter
from .capture import Recorder, is_container, layer_paths

TOP_K = 8  # channels per stage, by mean activation
MAX_SIDE = 32  # px per channel thumbnail


@dataclass
class Stage:
    """One stage: its path, layer type, output shape (H, W, C), top channels and their maps [n_img, k, h, w]."""

    path: str
    kind: str
    shape: tuple[int, int, int]
    channels: list[int]
    means: list[float]
    maps: np.ndarray


def spatial_stages(adapter: ModelAdapter) -> list[tuple[str, str]]:
    """Leaf layers whose output is (N, H, W, C), in execution order (nested backbones addressed as a/b)."""
    def build() -> list[tuple[str, str]]:
        leaves = {p: l for p, l in layer_paths(adapter.model) if not is_container(l)}
        with Recorder(adapter.model, leaves) as rec:
            adapter.model(np.zeros((1,) + adapter.input_shape, np.float32), training=False)
        seen, out = set(), []
        for path, value in rec.order:
            shape = getattr(value, "shape", None)
            if path in seen or shape is None or len(shape) != 4:
                continue
            if type(leaves[path]).__name__ == "InputLayer":
                continue
            seen.add(path)
            out.append((path, type(leaves[path]).__name__))
        return out

    return adapter.built(("feature_map_stages",), build)


def _downscale(m: np.ndarray, side: int) -> np.ndarray:
    """[..., h, w] area-averaged so the long side is at most `side` (integer factor)."""
    h, w = m.shape[-2:]
    f = max(1, -(-max(h, w) // side))
    if f == 1:
        return m
    hh, ww = h // f * f, w // f * f
    m = m[..., :hh, :ww]
    return m.reshape(*m.shape[:-2], hh // f, f, ww // f, f).mean(axis=(-3, -1))


def feature_maps(adapter: ModelAdapter, images01: np.ndarray, *, k: int = TOP_K, side: int = MAX_SIDE) -> list[Stage]:
    """For images at model size in [0, 1], every spatial stage's top-k channels (mean activation over the images
    and H, W), each map downscaled to <= `side` px; one batched traced forward pass for all stages."""
    stages = spatial_stages(adapter)
    if not stages or len(images01) == 0:
        return []
    paths = [p for p, _ in stages]
    x = np.asarray(images01, np.float32)

    def compute() -> dict[str, np.ndarray]:
        acts = adapter.activations(x, paths)
        out: dict[str, np.ndarray] = {}
        for i, a in enumerate(acts):
            means = a.mean(axis=(0, 1, 2))
            top = np.argsort(-means, kind="stable")[:k]
            out[f"c{i}"] = top.astype(np.int64)
            out[f"m{i}"] = means[top].astype(np.float32)
            out[f"s{i}"] = np.asarray(a.shape[1:], np.int64)
            out[f"x{i}"] = _downscale(np.moveaxis(a[..., top], -1, 1), side).astype(np.float32)
        return out

    got = cached("feature_maps", (model_identity(adapter), tuple(paths), x, k, side), compute)
    return [Stage(p, kind, tuple(int(v) for v in got[f"s{i}"]), [int(c) for c in got[f"c{i}"]],
                  [float(v) for v in got[f"m{i}"]], got[f"x{i}"]) for i, (p, kind) in enumerate(stages)]
