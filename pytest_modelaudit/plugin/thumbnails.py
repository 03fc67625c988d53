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
