"""Bring images and regions to the model's input size and channels."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .adapter import ModelAdapter
from .images import ImageSet, as_region, resize_batch, to_model_channels


@dataclass
class Inputs:
    """Images at model size in [0, 1] (display space), their names, and where they came from."""

    images: np.ndarray
    names: list[str]
    source: str
    notes: list[str]


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
    return Inputs(to_model_channels(x, c), list(s.names), s.source, list(s.notes))


def prepare_region(region: Any, images: Any, size: tuple[int, int]) -> np.ndarray:
    """A region given for the images (same size as they were given) at model input size."""
    s = as_image_set(images)
    m = as_region(region, s.images.shape[:3])
    return np.clip(resize_batch(m, size), 0.0, 1.0) if len(s) else np.zeros((0,) + size, np.float32)
