"""What a channel or a class looks for: its top-activating images among the user's images, with a crop around
where it peaks. One batched traced pass (forward for channels, forward+backward for a class), cached by content."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import ModelAuditError
from ..cache.disk import cached, model_identity
from ..data.inputs import Inputs, prepare
from ..model.adapter import ModelAdapter, Target

BOX_CELLS = 3  # the crop spans this many layer-grid cells around the peak (a receptive-field-sized box) ...
MIN_BOX_SHARE = 0.25  # ... and at least this share of the image side


@dataclass
class TopImage:
    """One of a unit's top images: which image, its score, where the unit peaks (image pixels) and the crop box."""

    index: int
    name: str
    value: float
    peak: tuple[int, int]  # (y, x) in image pixels, the centre of the peak grid cell
    box: tuple[int, int, int, int]  # (y0, x0, y1, x1) in image pixels, end exclusive


@dataclass
class Unit:
    """A channel at the layer or a class: its score on every image and its top images, best first."""

    kind: str  # "channel" or "class"
    index: int
    label: str
    scores: np.ndarray  # [N] mean activation over H, W (channel) or class logit (class)
    top: list[TopImage]

    @property
    def constant(self) -> bool:
        """The score is (numerically) the same on every image: its ranking says nothing."""
        s = self.scores
        return s.size < 2 or float(s.max() - s.min()) <= 1e-6 * max(1.0, float(np.abs(s).max()))


@dataclass
class FeaturesResult:
    """Top-activating images per unit at one layer, plus the (illustrative) maximisation images if asked."""

    layer: str
    mode: str  # "channels" or "class"
    units: list[Unit]
    inputs: Inputs
    grid: tuple[int, int]  # (h, w) of the layer's feature map
    labels: list[str] | None = None  # per image, when the images are a LabelledSet
    maximised: Any = None  # a maximise.Maximised, or None
    notes: list[str] = field(default_factory=list)


def peak_box(grid_yx: tuple[int, int], grid: tuple[int, int], size: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    """The peak's pixel centre and a crop box of BOX_CELLS layer cells (at least MIN_BOX_SHARE of the side)."""
    (gy, gx), (gh, gw), (h, w) = grid_yx, grid, size
    cy, cx = int((gy + 0.5) * h / gh), int((gx + 0.5) * w / gw)
    bh = min(h, max(int(round(BOX_CELLS * h / gh)), int(round(MIN_BOX_SHARE * h)), 1))
    bw = min(w, max(int(round(BOX_CELLS * w / gw)), int(round(MIN_BOX_SHARE * w)), 1))
    y0 = int(np.clip(cy - bh // 2, 0, h - bh))
    x0 = int(np.clip(cx - bw // 2, 0, w - bw))
    return (cy, cx), (y0, x0, y0 + bh, x0 + bw)


def _tops(scores: np.ndarray, maps: np.ndarray, names: list[str], top: int, size: tuple[int, int]) -> list[TopImage]:
    """The `top` images by score (ties by index), each with the peak of its map [N, h, w] and the crop box."""
    order = np.lexsort((np.arange(len(scores)), -scores))[:top]
    out = []
    for i in order:
        m = maps[i]
        gy, gx = np.unravel_index(int(np.argmax(m)), m.shape)
        peak, box = peak_box((int(gy), int(gx)), m.shape, size)
        out.append(TopImage(int(i), names[i] if i < len(names) else f"image {i}", float(scores[i]), peak, box))
    return out


def _labelled(images: Any) -> tuple[Any, list[str] | None]:
    from ..data.labelled import LabelledSet

    if isinstance(images, LabelledSet):
        return images.images, list(images.labels)
    return images, None


def top_features(adapter: ModelAdapter, images: Any, *, layer: str | None = None,
                 channels: Sequence[int] | None = None, target: Target | None = None, top: int = 6,
                 batch_size: int = 64) -> FeaturesResult:
    """Per requested channel (mean activation over H, W) or for the target class (its logit), the top images
    and a crop where the channel (or the class's Grad-CAM at the layer) peaks."""
    if (channels is None) == (target is None):
        raise ModelAuditError("Give exactly one of channels=[...] (indices at the layer) or target=<class>.")
    if not isinstance(top, int) or isinstance(top, bool) or top < 1:
        raise ModelAuditError(f"top must be a positive integer, got {top!r}.")
    raw, labels = _labelled(images)
    inputs = prepare(adapter, raw)
    if len(inputs.images) == 0:
        raise ModelAuditError("audit.features needs at least one image.")
    path = adapter.resolve(layer) if layer is not None else adapter.default_gradcam_layer()
    size = inputs.images.shape[1:3]
    ident = model_identity(adapter)
    if channels is not None:
        got = cached("features_acts", (ident, path, inputs.images),
                     lambda: {"acts": adapter.activations(inputs.images, [path], batch_size=batch_size)[0]})
        acts = got["acts"]
        if acts.ndim != 4:
            raise ModelAuditError(f"Layer {path!r} outputs shape {tuple(acts.shape[1:])}, not (H, W, C): pick a "
                                  "convolution / activation / pooling layer for channels=[...].")
        n_ch = acts.shape[-1]
        chans = [int(c) for c in channels]
        if not chans:
            raise ModelAuditError("channels=[...] is empty; give at least one channel index.")
        bad = [c for c in chans if not 0 <= c < n_ch]
        if bad:
            raise ModelAuditError(f"Channel(s) {bad} out of range: layer {path!r} has {n_ch} channels (0..{n_ch - 1}).")
        units = []
        for c in chans:
            maps = acts[..., c]
            scores = maps.mean(axis=(1, 2))
            units.append(Unit("channel", c, f"channel {c}", scores, _tops(scores, maps, inputs.names, top, size)))
        grid = tuple(acts.shape[1:3])
    else:
        idx = target.index

        def compute() -> dict[str, np.ndarray]:
            logits, acts, grads = adapter.capture(inputs.images, [path], idx, batch_size=min(batch_size, 32))
            a, g = acts[0], grads[0]
            if a.ndim != 4:
                raise ModelAuditError(f"Layer {path!r} outputs shape {tuple(a.shape[1:])}, not (H, W, C): pick a "
                                      "spatial layer for the class crop.")
            weights = g.mean(axis=(1, 2), keepdims=True)
            cam = np.maximum((weights * a).sum(-1), 0)
            return {"logits": logits, "cam": cam}

        got = cached("features_cam", (ident, path, idx, inputs.images), compute)
        scores = got["logits"][:, idx]
        units = [Unit("class", idx, f"class {target.name!r}", scores,
                      _tops(scores, got["cam"], inputs.names, top, size))]
        grid = tuple(got["cam"].shape[1:3])
    return FeaturesResult(path, "channels" if channels is not None else "class", units, inputs, grid, labels)


def label_share(result: FeaturesResult, unit: Unit, of: str) -> float:
    """Share of the unit's top images whose label is `of` (needs labelled images)."""
    if result.labels is None:
        raise ModelAuditError("A class claim on top images needs labelled images (a LabelledSet or a folder of class "
                              "folders via load_labelled); these images have no labels.")
    hits = [result.labels[t.index] == of for t in unit.top]
    return float(np.mean(hits)) if hits else float("nan")
