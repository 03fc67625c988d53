"""Downscaled images as data URIs for results.json (Pillow only)."""
from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..core.model.adapter import ModelAdapter

MAX_SIDE = 160


def _fit(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    h, w = size
    scale = min(1.0, max_side / max(h, w))
    return max(1, round(w * scale)), max(1, round(h * scale))


def image_uri(image01: np.ndarray, max_side: int = MAX_SIDE) -> str:
    """An RGB (or single-channel) image in [0, 1] as a downscaled JPEG data URI."""
    from PIL import Image

    arr = np.clip(np.asarray(image01, np.float32), 0, 1)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    im = Image.fromarray((arr * 255 + 0.5).astype(np.uint8))
    im = im.resize(_fit(arr.shape[:2], max_side), Image.Resampling.LANCZOS) if max(arr.shape[:2]) > max_side else im
    buf = io.BytesIO()
    im.convert("RGB").save(buf, format="JPEG", quality=90)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def mask_uri(mask01: np.ndarray, max_side: int = MAX_SIDE) -> str:
    """A region mask (white = inside) as a downscaled PNG data URI."""
    from PIL import Image

    m = (np.clip(np.asarray(mask01, np.float32), 0, 1) > 0.5).astype(np.uint8) * 255
    im = Image.fromarray(m)
    if max(m.shape) > max_side:
        im = im.resize(_fit(m.shape, max_side), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


MAX_FILTERS = 64
FILTER_CELL = 24  # pixels per filter in the grid


def filter_grid_uri(kernels: np.ndarray, columns: int = 8, cell: int = FILTER_CELL) -> str:
    """Convolution kernels [kh, kw, in, out] as a grid PNG data URI: each filter in colour when it reads 3 input
    channels (RGB), else its mean over the input channels in grey, scaled to its own range (weak filters stay
    visible), enlarged without smoothing so each weight is a block."""
    from PIL import Image

    k = np.asarray(kernels, np.float32)[..., :MAX_FILTERS]
    n = k.shape[-1]
    tiles = np.moveaxis(k, -1, 0)  # [n, kh, kw, in]
    tiles = tiles if tiles.shape[-1] == 3 else tiles.mean(axis=-1, keepdims=True).repeat(3, axis=-1)
    lo = tiles.min(axis=(1, 2, 3), keepdims=True)
    span = tiles.max(axis=(1, 2, 3), keepdims=True) - lo
    tiles = np.where(span > 0, (tiles - lo) / np.where(span > 0, span, 1), 0.5)
    cols = min(columns, n)
    rows = -(-n // cols)
    gap = 2
    grid = np.ones((rows * (cell + gap) + gap, cols * (cell + gap) + gap, 3), np.float32)
    for i, t in enumerate(tiles):
        im = Image.fromarray((t * 255 + 0.5).astype(np.uint8)).resize((cell, cell), Image.Resampling.NEAREST)
        r, c = divmod(i, cols)
        y, x = gap + r * (cell + gap), gap + c * (cell + gap)
        grid[y : y + cell, x : x + cell] = np.asarray(im, np.float32) / 255
    buf = io.BytesIO()
    Image.fromarray((grid * 255 + 0.5).astype(np.uint8)).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def filters_record(adapter: ModelAdapter) -> dict[str, Any] | None:
    """The first convolution layer's filters for the model details (once per model), or None without one."""
    from ..core.model.summary import first_conv_filters

    def build() -> dict[str, Any] | None:
        found = first_conv_filters(adapter)
        if found is None:
            return None
        path, kernels = found
        kh, kw, cin, n = kernels.shape
        return {"layer": path, "count": int(n), "shown": int(min(n, MAX_FILTERS)), "shape": [int(kh), int(kw), int(cin)],
                "rgb": cin == 3, "image": filter_grid_uri(kernels)}

    return adapter.built(("filters_record",), build)


MAX_PANEL_STAGES = 24  # stages recorded per model


def _map_uri(m: np.ndarray, cell: int = 32) -> str:
    """One feature map scaled to its own range, enlarged without smoothing to `cell` px, as a PNG data URI."""
    from PIL import Image

    m = np.asarray(m, np.float32)
    lo, hi = float(m.min()), float(m.max())
    g = (m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)
    im = Image.fromarray((g * 255 + 0.5).astype(np.uint8))
    h, w = m.shape
    f = max(1, cell // max(h, w))
    im = im.resize((w * f, h * f), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def feature_maps_record(adapter: ModelAdapter, images01: np.ndarray | None) -> dict[str, Any] | None:
    """The model panel's layer-wise feature maps for the first image given (top channels per stage), or None."""
    from ..core.model.feature_maps import feature_maps

    if images01 is None or len(images01) == 0:
        return None
    x = np.asarray(images01, np.float32)[:1]
    stages = feature_maps(adapter, x)
    if not stages:
        return None
    return {
        "image": image_uri(x[0], 64), "stages_total": len(stages),
        "stages": [{"path": s.path, "kind": s.kind, "shape": list(s.shape),
                    "channels": [{"index": c, "mean": float(mv), "image": _map_uri(s.maps[0, j])}
                                 for j, (c, mv) in enumerate(zip(s.channels, s.means))]}
                   for s in stages[:MAX_PANEL_STAGES]],
    }


def _audit_images(audit: Any, fp: str) -> np.ndarray | None:
    """The images the model panel shows for model `fp`: those picked by audit.show_features / audit.features,
    else the first images any of the audit's checks on that model recorded (their inputs at model size)."""
    picked = audit.panel_images.get(fp)
    if picked is not None:
        return picked
    for check in getattr(audit, "checks", ()):
        model = getattr(check, "model", None)
        if model is None or getattr(model, "fingerprint", None) != fp:
            continue
        ev = getattr(check, "evidence", None)
        for holder in (ev, getattr(ev, "result", None)):
            for name in ("inputs", "images"):
                x = getattr(holder, name, None)
                x = getattr(x, "images", x)
                if isinstance(x, np.ndarray) and x.ndim == 4 and len(x) and tuple(x.shape[1:]) == tuple(model.input_shape):
                    return x[:1]
    return None


def panel_feature_maps(adapter: ModelAdapter, audit: Any) -> dict[str, Any] | None:
    """The model panel's feature maps; a courtesy that never costs an audit its record (None on any problem)."""
    try:
        return feature_maps_record(adapter, _audit_images(audit, adapter.fingerprint))
    except Exception:
        return None
