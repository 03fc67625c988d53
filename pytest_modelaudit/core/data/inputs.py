"""Bring images and regions to the model's input size and channels."""
from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..model.adapter import ModelAdapter
from ...errors import ImageResizeWarning
from .images import ImageSet, as_region, resize_batch, to_model_channels


# An aspect ratio that changes by more than this when images are brought to the model input is warned about.
ASPECT_TOLERANCE = 0.01


@dataclass
class Inputs:
    """Images at model size in [0, 1] (display space), their names, and where they came from."""

    images: np.ndarray
    names: list[str]
    source: str
    notes: list[str]
    original_sizes: list[tuple[int, int]] = field(default_factory=list)  # (H, W) of each image as given
    resize: str = ""  # what resizing did, in words ("" when every image already had the model's size)


def as_image_set(images: Any) -> ImageSet:
    """An ImageSet from an ImageSet, a folder or file path, a list of paths, or an array."""
    import os

    from .images import load_images

    if isinstance(images, ImageSet):
        return images
    if isinstance(images, (str, os.PathLike)):
        return load_images(images)
    if isinstance(images, (list, tuple)) and images and all(isinstance(p, (str, os.PathLike)) for p in images):
        return load_images(images)
    return ImageSet.from_arrays(np.asarray(images))


def prepare(adapter: ModelAdapter, images: Any) -> Inputs:
    """Resize to the model input (bilinear) and convert channels; images stay in [0, 1]."""
    s = as_image_set(images)
    h, w, c = adapter.input_shape
    x = resize_batch(s.images, (h, w)) if len(s) else np.zeros((0, h, w, 3), np.float32)
    sizes = list(s.sizes) if len(s.sizes) == len(s) else [tuple(s.images.shape[1:3])] * len(s)
    resize = describe_resize(sizes, (h, w), s.source)
    return Inputs(to_model_channels(x, c), list(s.names), s.source, list(s.notes), sizes, resize)


def describe_resize(sizes: list[tuple[int, int]], model: tuple[int, int], source: str) -> str:
    """What bringing images of `sizes` to the model's (H, W) did, in words; warns when it stretched them."""
    changed = [sz for sz in sizes if tuple(sz) != tuple(model)]
    if not changed:
        return ""
    counts = Counter(tuple(sz) for sz in changed)
    listed = ", ".join(f"{hh}x{ww}" + (f" ({n})" if n > 1 else "") for (hh, ww), n in sorted(counts.items()))
    text = (f"{len(changed)} of {len(sizes)} image(s) resized (bilinear) from {listed} to the model input "
            f"{model[0]}x{model[1]}")
    target = model[1] / model[0]
    stretched = [sz for sz in changed if abs((sz[1] / sz[0]) / target - 1) > ASPECT_TOLERANCE]
    if stretched:
        text += (f"; {len(stretched)} of them change aspect ratio (the model sees them stretched): crop or pad them "
                 "to the model's shape to audit what it sees in the field")
        warnings.warn(f"model-audit: images from {source}: {text}", ImageResizeWarning, stacklevel=3)
    return text


def prepare_region(region: Any, images: Any, size: tuple[int, int]) -> np.ndarray:
    """A region given for the images (same size as they were given) at model input size."""
    s = as_image_set(images)
    m = as_region(region, s.images.shape[:3])
    return np.clip(resize_batch(m, size), 0.0, 1.0) if len(s) else np.zeros((0,) + size, np.float32)
