"""Downscaled images as data URIs for results.json (Pillow only)."""
from __future__ import annotations

import base64
import io

import numpy as np

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
