"""Images for the report: heatmap overlays, region outlines, thumbnails.

Everything here works from what ``results.json`` holds (data-URI thumbnails, raw heatmap grids,
mask images) and returns small JPEG/PNG data URIs. numpy and Pillow are imported lazily, and
matplotlib only for its colormap tables (Agg backend, no pyplot).
"""
from __future__ import annotations

import base64
import binascii
import functools
import io
import re
from dataclasses import asdict, dataclass

from .memo import memoised

# Largest side of a generated overlay; small thumbnails are upscaled by an integer factor
# until their longest side is at least MIN_SIDE (so a 64 px thumbnail becomes 128 px).
MAX_SIDE = 160
MIN_SIDE = 112
JPEG_QUALITY = 85
# A thumbnail data URI up to this many characters is embedded as it is; a larger one is
# downscaled/re-encoded as JPEG.
KEEP_URI_CHARS = 12_000

COLORMAP = "jet"
OUTLINE_RGB = (255, 0, 220)  # magenta: absent from the colormap, visible on photos
CLIP_PERCENTILES = (0.5, 99.5)

_DATA_URI_RE = re.compile(r"data:image/(png|jpeg|jpg|gif|webp);base64,", re.IGNORECASE)


_NOT_B64 = re.compile(r"[^A-Za-z0-9+/=\s]")


class ImageError(ValueError):
    """An image in the results could not be decoded or drawn."""


def safe_image_uri(uri: object) -> str | None:
    """Return ``uri`` if it is an embeddable ``data:image/...;base64`` URI, else None.

    Anything else (http URLs, ``javascript:``, file paths) is never put into the report.
    """
    if not isinstance(uri, str):
        return None
    uri = uri.strip()
    m = _DATA_URI_RE.match(uri)
    # The payload is checked for plain base64 characters only; decoding validates it fully.
    if m and uri.isascii() and not _NOT_B64.search(uri, m.end()):
        return uri
    return None


def decode_image(uri: object):
    """Decode a data-URI image into a Pillow image (loaded)."""
    from PIL import Image

    uri = safe_image_uri(uri)
    if uri is None:
        raise ImageError("not a data:image URI")
    payload = uri.split(",", 1)[1]
    try:
        raw = base64.b64decode("".join(payload.split()), validate=True)
        img = Image.open(io.BytesIO(raw))
        img.load()
    except (binascii.Error, OSError, ValueError) as exc:
        raise ImageError(f"cannot decode image: {exc}") from exc
    return img


def to_rgb(img):
    """Any Pillow image as RGB; transparency is composited on white."""
    from PIL import Image

    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        bg = Image.new("RGB", rgba.size, (255, 255, 255))
        bg.paste(rgba, mask=rgba.getchannel("A"))
        return bg
    if img.mode in ("I", "I;16", "F"):
        import numpy as np

        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        return Image.fromarray(arr.astype("uint8")).convert("RGB")
    return img.convert("RGB")


def encode_jpeg(img, quality: int = JPEG_QUALITY) -> str:
    """JPEG data URI; no chroma subsampling, so thin coloured outlines stay crisp."""
    buf = io.BytesIO()
    to_rgb(img).save(buf, format="JPEG", quality=quality, optimize=True, subsampling=0)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def encode_png(img) -> str:
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def display_size(size: tuple[int, int]) -> tuple[int, int]:
    """Size (w, h) an overlay is drawn at: at most MAX_SIDE, small images upscaled x k."""
    w, h = max(1, int(size[0])), max(1, int(size[1]))
    side = max(w, h)
    if side > MAX_SIDE:
        s = MAX_SIDE / side
        return max(1, round(w * s)), max(1, round(h * s))
    k = 1
    while side * (k + 1) <= MAX_SIDE and side * k < MIN_SIDE:
        k += 1
    return w * k, h * k


# Thumbnails this small (longest side) are enlarged with visible pixels, not smoothed.
TINY_SIDE = 40


def _enlarge(img, size):
    from PIL import Image

    tiny = max(img.size) <= TINY_SIDE
    return img.resize(size, Image.Resampling.NEAREST if tiny else Image.Resampling.BILINEAR)


def prepare_base(uri: object):
    """Decode a thumbnail and bring it to its display size (RGB): a copy the caller may draw on."""
    if isinstance(uri, str):
        return _prepared_base(uri).copy()
    return _prepare_base(uri)


@functools.lru_cache(maxsize=128)
def _prepared_base(uri: str):
    """One decode per image: each image is drawn under several maps (the audited one and the companions)."""
    return _prepare_base(uri)


def _prepare_base(uri: object):
    img = to_rgb(decode_image(uri))
    size = display_size(img.size)
    if size != img.size:
        img = _enlarge(img, size)
    return img


@memoised()
def thumbnail_uri(uri: object) -> str | None:
    """The thumbnail to embed: the original when small enough, else a downscaled JPEG."""
    from PIL import Image

    safe = safe_image_uri(uri)
    if safe is None:
        return None
    try:
        img = decode_image(safe)
    except ImageError:
        return None
    if max(img.size) <= TINY_SIDE:  # show the pixels, like the overlay next to it
        return encode_png(_enlarge(to_rgb(img), display_size(img.size)))
    if len(safe) <= KEEP_URI_CHARS and max(img.size) <= MAX_SIDE:
        return safe
    img = to_rgb(img)
    if max(img.size) > MAX_SIDE:
        img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return encode_jpeg(img)


def mask_array(uri: object, size: tuple[int, int]):
    """Decode a region mask (white = region) to a bool array of ``size`` (w, h), or None."""
    if uri is None:
        return None
    if isinstance(uri, str):
        return _mask_array(uri, tuple(size)).copy()
    return _decode_mask(uri, size)


@functools.lru_cache(maxsize=128)
def _mask_array(uri: str, size: tuple[int, int]):
    return _decode_mask(uri, size)


def _decode_mask(uri: object, size: tuple[int, int]):
    import numpy as np
    from PIL import Image

    img = decode_image(uri)
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        img = to_rgb(img)
    img = img.convert("L")
    if img.size != tuple(size):
        img = img.resize(tuple(size), Image.Resampling.NEAREST)
    return np.asarray(img) > 127


def _erode(a):
    out = a.copy()
    out[1:, :] &= a[:-1, :]
    out[:-1, :] &= a[1:, :]
    out[:, 1:] &= a[:, :-1]
    out[:, :-1] &= a[:, 1:]
    return out


def _dilate(a):
    out = a.copy()
    out[1:, :] |= a[:-1, :]
    out[:-1, :] |= a[1:, :]
    out[:, 1:] |= a[:, :-1]
    out[:, :-1] |= a[:, 1:]
    return out


def outline(mask, inside: int = 1, outside: int = 1):
    """Boundary band of a bool mask: ``inside`` px within the region plus ``outside`` px around it.

    The frame of the image is not drawn: a region that runs off the picture stays open there
    (a background region would otherwise get a frame around the whole image).
    """
    import numpy as np

    m = np.pad(mask.astype(bool), 1, mode="edge")
    inner, outer = m, m
    for _ in range(inside):
        inner = _erode(inner)
    for _ in range(outside):
        outer = _dilate(outer)
    return (outer & ~inner)[1:-1, 1:-1]


def draw_outline(img, mask, color=OUTLINE_RGB):
    """Paint the outline of ``mask`` (bool, same size) on an RGB image; returns a new image.

    A 2 px line in ``color`` with a thin dark halo on both sides, so it reads on any colour.
    """
    import numpy as np
    from PIL import Image

    if mask is None or not mask.any() or mask.all():
        return img
    arr = np.array(img.convert("RGB"), dtype=np.float64)
    line = outline(mask, 1, 1)
    halo = outline(mask, 2, 2) & ~line
    arr[halo] = arr[halo] * 0.35
    arr[line] = color
    return Image.fromarray(arr.round().astype(np.uint8))


@dataclass
class HeatmapState:
    kind: str  # "ok" | "degenerate" | "uniform" | "invalid"
    caption: str
    peak: float | None


def heatmap_state(heatmap: object, flagged_degenerate: bool = False) -> tuple[HeatmapState, object]:
    """Classify a raw heatmap grid; returns (state, float array or None)."""
    import numpy as np

    try:
        arr = np.asarray(heatmap, dtype=np.float64)
    except (TypeError, ValueError):
        return HeatmapState("invalid", "no heatmap (unreadable grid)", None), None
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2 or arr.size == 0:
        return HeatmapState("invalid", "no heatmap (not a 2-D grid)", None), None
    if not np.isfinite(arr).all():
        return HeatmapState("degenerate", "degenerate (non-finite values)", None), arr
    peak = float(arr.max())
    if flagged_degenerate or not np.any(arr != 0):
        return HeatmapState("degenerate", "degenerate (all zero)", peak), arr
    if float(arr.max() - arr.min()) <= 1e-12 * max(1.0, abs(peak)):
        return HeatmapState("uniform", "uniform map (no spatial signal)", peak), arr
    return HeatmapState("ok", "", peak), arr


def _normalise(up):
    """Percentile-clipped min-max to [0, 1], for display only."""
    import numpy as np

    lo, hi = np.percentile(up, CLIP_PERCENTILES)
    if hi <= lo:
        lo, hi = float(up.min()), float(up.max())
    if hi <= lo:
        return np.zeros_like(up)
    return np.clip((up - lo) / (hi - lo), 0.0, 1.0)


@functools.lru_cache(maxsize=4)
def _lut(name: str = COLORMAP):
    """256-entry uint8 RGB table of a matplotlib colormap (no pyplot, Agg backend)."""
    import numpy as np
    import matplotlib

    matplotlib.use("Agg", force=False)
    cmap = matplotlib.colormaps[name]
    lut = (cmap(np.linspace(0.0, 1.0, 256))[:, :3] * 255.0).round().astype(np.uint8)
    lut.flags.writeable = False
    return lut


def _colormap_rgb(norm):
    """Map [0, 1] values through the colormap (uint8 RGB)."""
    import numpy as np

    return _lut()[np.clip((norm * 255.0).round().astype(int), 0, 255)]


@functools.lru_cache(maxsize=4)
def colormap_css_gradient(stops: int = 9) -> str:
    """A CSS linear-gradient matching the overlay colormap (for the legend)."""
    lut = _lut()
    parts = []
    for i in range(stops):
        r, g, b = (int(v) for v in lut[round(i * 255 / (stops - 1))])
        parts.append(f"rgb({r},{g},{b}) {round(100 * i / (stops - 1))}%")
    return "linear-gradient(to right, " + ", ".join(parts) + ")"


@memoised(encode=lambda r: [r[0], asdict(r[1])], decode=lambda v: (v[0], HeatmapState(**v[1])))
def heatmap_overlay(image_uri: object, heatmap: object, mask_uri: object = None,
                    degenerate: bool = False) -> tuple[str, HeatmapState]:
    """Overlay a raw heatmap grid on a thumbnail, with the region outline.

    The grid is upsampled bilinearly to the display size, normalised per image for display
    (percentile-clipped min-max), coloured and alpha-blended with an alpha that grows with the
    value. A degenerate (all-zero / non-finite) or uniform map is never stretched: the image is
    shown greyed out instead. Returns (JPEG data URI, state).
    """
    import numpy as np
    from PIL import Image

    base = prepare_base(image_uri)
    w, h = base.size
    state, arr = heatmap_state(heatmap, degenerate)
    mask = None
    if mask_uri is not None:
        try:
            mask = mask_array(mask_uri, (w, h))
        except ImageError:
            mask = None

    rgb = np.asarray(base, dtype=np.float64)
    if state.kind == "ok":
        grid = Image.fromarray(arr.astype(np.float32), mode="F")
        up = np.asarray(grid.resize((w, h), Image.Resampling.BILINEAR), dtype=np.float64)
        up = np.maximum(up, 0.0)  # clip at >= 0 after upsampling
        norm = _normalise(up)
        colour = _colormap_rgb(norm).astype(np.float64)
        alpha = (0.2 + 0.5 * norm)[..., None]
        out = rgb * (1.0 - alpha) + colour * alpha
    else:
        grey = rgb.mean(axis=2, keepdims=True)
        out = np.repeat(0.45 * grey + 0.55 * 128.0, 3, axis=2)
    img = Image.fromarray(np.clip(out, 0, 255).round().astype(np.uint8))
    img = draw_outline(img, mask)
    return encode_jpeg(img), state


@memoised()
def outlined_image(image_uri: object, mask_uri: object = None) -> str:
    """A thumbnail at display size with the region outline drawn (JPEG data URI)."""
    base = prepare_base(image_uri)
    mask = None
    if mask_uri is not None:
        try:
            mask = mask_array(mask_uri, base.size)
        except ImageError:
            mask = None
    return encode_jpeg(draw_outline(base, mask))
