"""Image sets and region masks: load PNG/JPEG from a folder or a list, masks next to images."""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import ImageLoadError
from ...paths import shown_path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass
class ImageSet:
    """Images as float32 [N, H, W, 3] in [0, 1], their names, optional masks [N, H, W] in [0, 1]."""

    images: np.ndarray
    names: list[str]
    masks: np.ndarray | None = None
    source: str = "arrays"
    notes: list[str] = field(default_factory=list)
    sizes: list[tuple[int, int]] = field(default_factory=list)  # each file's own (H, W) before loading resized it

    def __len__(self) -> int:
        return len(self.names)

    @classmethod
    def from_arrays(cls, images: np.ndarray, masks: np.ndarray | None = None, names: Sequence[str] | None = None) -> ImageSet:
        """Wrap arrays: images [N, H, W, C] (uint8 0-255 or float 0-1), masks [N, H, W] or [H, W]."""
        arr = np.asarray(images)
        if arr.ndim == 3:
            arr = arr[None]
        if arr.ndim != 4 or arr.shape[-1] not in (1, 3, 4):
            raise ImageLoadError(f"Images must be an array of shape (N, H, W, C) with C in 1, 3, 4; got {arr.shape}.")
        if arr.dtype == np.uint8:
            arr = arr.astype(np.float32) / 255.0
        arr = arr.astype(np.float32)
        if arr.size and (arr.min() < -1e-6 or arr.max() > 1 + 1e-6):
            raise ImageLoadError(
                f"Float images must lie in [0, 1] (got values in [{arr.min():.3g}, {arr.max():.3g}]); "
                "the model's input range is set on load_model, not by scaling the images."
            )
        if arr.shape[-1] == 1:
            arr = np.repeat(arr, 3, axis=-1)
        elif arr.shape[-1] == 4:
            arr = arr[..., :3] * arr[..., 3:] + (1.0 - arr[..., 3:])
        names = list(names) if names is not None else [f"image_{i:03d}" for i in range(len(arr))]
        m = None if masks is None else as_region(masks, arr.shape[:3], what="masks")
        return cls(images=arr, names=names, masks=m)


def as_region(region: np.ndarray, shape: tuple[int, ...], what: str = "region") -> np.ndarray:
    """A region as float [N, H, W] in [0, 1]; [H, W] is broadcast to every image."""
    m = np.asarray(region)
    if m.dtype == bool:
        m = m.astype(np.float32)
    m = m.astype(np.float32)
    if m.ndim == 4 and m.shape[-1] == 1:
        m = m[..., 0]
    n, h, w = shape
    if m.ndim == 2:
        m = np.broadcast_to(m, (n,) + m.shape)
    if m.shape != (n, h, w):
        raise ImageLoadError(f"The {what} have shape {m.shape}, but the images need ({n}, {h}, {w}) (one mask per image, same size).")
    if m.size and (m.min() < 0 or m.max() > 1):
        raise ImageLoadError(f"The {what} must hold values in [0, 1] (1 = inside the region); got [{m.min():g}, {m.max():g}].")
    return np.ascontiguousarray(m)


def _read_image(path: Path, size: tuple[int, int] | None) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
                rgba = im.convert("RGBA")
                bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                im = Image.alpha_composite(bg, rgba).convert("RGB")
            else:
                im = im.convert("RGB")
            if size is not None and im.size != (size[1], size[0]):
                im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            return np.asarray(im, np.float32) / 255.0
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageLoadError(f"Image file {str(path)!r} could not be read ({type(exc).__name__}: {exc}); expected a PNG or JPEG.") from exc


def _read_mask(path: Path, image_path: Path, shape: tuple[int, int]) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise ImageLoadError(f"Mask file {str(path)!r} for image {str(image_path)!r} does not exist.")
    try:
        with Image.open(path) as im:
            im.load()
            m = np.asarray(im.convert("L"), np.float32) / 255.0
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageLoadError(f"Mask file {str(path)!r} could not be read ({type(exc).__name__}: {exc}).") from exc
    if m.shape != shape:
        raise ImageLoadError(
            f"Mask file {str(path)!r} is {m.shape[1]}x{m.shape[0]} but its image {str(image_path)!r} is {shape[1]}x{shape[0]}."
        )
    if not (m > 0.5).any():
        raise ImageLoadError(f"Mask file {str(path)!r} is empty (no pixel is white): its region covers nothing.")
    return m


def load_images(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    masks: bool = False,
    mask_suffix: str = "_mask",
    size: tuple[int, int] | None = None,
) -> ImageSet:
    """Load PNG/JPEG images (RGB, grayscale, RGBA composited on white) from a folder or a list of files.

    With masks=True each image `foo.png` needs a mask `foo<mask_suffix>.png` of the same size
    (white = inside the region). Images are resized to `size` (H, W) if given, else to the first
    image's size. An empty folder gives an empty set (audits on it are INCONCLUSIVE).
    """
    if isinstance(source, (str, os.PathLike)):
        folder = Path(source)
        if not folder.exists():
            raise ImageLoadError(f"Image folder {str(folder)!r} does not exist.")
        if folder.is_file():
            files = [folder]
        else:
            files = sorted(
                p for p in folder.iterdir()
                if p.suffix.lower() in IMAGE_SUFFIXES and not p.stem.endswith(mask_suffix)
            )
        label = shown_path(folder)
    else:
        files = [Path(p) for p in source]
        label = f"{len(files)} files"
        for p in files:
            if not p.is_file():
                raise ImageLoadError(f"Image file {str(p)!r} does not exist.")
    if not files:  # an empty set (with empty masks when asked): its audits are INCONCLUSIVE, naming the folder
        return ImageSet(np.zeros((0, 1, 1, 3), np.float32), [], np.zeros((0, 1, 1), np.float32) if masks else None,
                        label, [f"no PNG or JPEG images in {label}"])
    arrays, mask_arrays, sizes = [], [], []
    for p in files:
        img = _read_image(p, size)
        if size is None:
            size = img.shape[:2]
        arrays.append(img)
        sizes.append(_native_size(p))
        if masks:
            mask_path = p.with_name(p.stem + mask_suffix + ".png")
            if not mask_path.exists():
                alt = [q for q in p.parent.glob(p.stem + mask_suffix + ".*") if q.suffix.lower() in IMAGE_SUFFIXES]
                mask_path = alt[0] if alt else mask_path
            m = _read_mask(mask_path, p, _native_size(p))
            if m.shape != img.shape[:2]:
                from PIL import Image

                m = np.asarray(Image.fromarray(m).resize((img.shape[1], img.shape[0]), Image.Resampling.BILINEAR), np.float32)
            mask_arrays.append(m)
    return ImageSet(
        images=np.stack(arrays).astype(np.float32),
        names=[p.name for p in files],
        masks=np.stack(mask_arrays).astype(np.float32) if masks else None,
        source=label,
        sizes=sizes,
    )


def _native_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        return im.size[1], im.size[0]


def resize_batch(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of [N, H, W, C] (or [N, H, W]) to (h, w); a no-op when already that size."""
    if images.shape[1:3] == tuple(size):
        return images
    from PIL import Image

    out = []
    for im in images:
        chans = [im] if im.ndim == 2 else [im[..., c] for c in range(im.shape[-1])]
        r = [np.asarray(Image.fromarray(c.astype(np.float32)).resize((size[1], size[0]), Image.Resampling.BILINEAR)) for c in chans]
        out.append(r[0] if im.ndim == 2 else np.stack(r, -1))
    return np.stack(out).astype(np.float32) if out else np.zeros((0,) + tuple(size) + images.shape[3:], np.float32)


def to_model_channels(images: np.ndarray, channels: int) -> np.ndarray:
    """RGB [N, H, W, 3] to the model's channel count (1 = luminance)."""
    if channels == 3:
        return images
    if channels == 1:
        return (images @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
    raise ImageLoadError(f"Models with {channels} input channels are not supported; expected 1 (grayscale) or 3 (RGB).")
