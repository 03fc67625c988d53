"""Labelled images for data-level audits: a folder of class folders, or arrays with labels."""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ImageLoadError
from ...paths import shown_path
from .images import IMAGE_SUFFIXES, ImageSet, load_images


@dataclass
class LabelledSet:
    """Images with one class name per image; names map to a model's classes only when audited."""

    images: ImageSet
    labels: list[str]
    source: str = "arrays"

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def classes(self) -> list[str]:
        """The class names present, in first-seen order."""
        return list(dict.fromkeys(self.labels))

    def indices(self, adapter: Any) -> np.ndarray:
        """Each image's label as an index into `adapter`'s classes; an unknown name is a clear error."""
        from ...errors import ClassNotFoundError

        known = {name: i for i, name in enumerate(adapter.labels)}
        unknown = sorted(set(self.labels) - set(known))
        if unknown:
            raise ClassNotFoundError(
                f"The labelled images {self.source!r} hold class(es) {', '.join(map(repr, unknown))} that model "
                f"{adapter.name!r} does not have; its classes are {', '.join(map(repr, adapter.labels))}. Name the "
                "class folders (or labels) after the model's classes.")
        return np.array([known[name] for name in self.labels], np.int64)


def load_labelled(folder: str | os.PathLike, *, size: tuple[int, int] | None = None) -> LabelledSet:
    """A folder holding one folder of PNG/JPEG images per class (the folder's name is the class)."""
    root = Path(folder)
    if not root.is_dir():
        raise ImageLoadError(f"Labelled image folder {str(root)!r} does not exist or is not a folder; expected one "
                             "folder of images per class.")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    files: list[Path] = []
    labels: list[str] = []
    for d in class_dirs:
        found = sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.stem.endswith("_mask"))
        files += found
        labels += [d.name] * len(found)
    if not files:
        raise ImageLoadError(f"Labelled image folder {str(root)!r} holds no class folder with PNG or JPEG images; "
                             "expected e.g. leopard/*.png, fox/*.png.")
    images = load_images(files, size=size)
    images.names = [f"{lab}/{p.name}" for lab, p in zip(labels, files)]
    images.source = shown_path(root)
    return LabelledSet(images, labels, images.source)


def as_labelled(data: Any, labels: Sequence[str | int] | np.ndarray | None = None, *,
                class_names: Sequence[str] | None = None) -> LabelledSet:
    """A LabelledSet from a LabelledSet, a class-folder path, or images (ImageSet / array) plus `labels`
    (class names, or indices into `class_names`)."""
    from .inputs import as_image_set

    if isinstance(data, LabelledSet):
        if labels is not None:
            raise ImageLoadError("labels=... was given with a LabelledSet that already holds its labels.")
        return data
    if isinstance(data, (str, os.PathLike)) and labels is None:
        return load_labelled(data)
    if isinstance(data, tuple) and len(data) == 2 and labels is None:
        data, labels = data
    if labels is None:
        raise ImageLoadError("Labelled data needs labels: give a folder of class folders, a LabelledSet, "
                             "or images with labels=... (one class name or index per image).")
    images = as_image_set(data)
    labs = list(np.asarray(labels).tolist()) if isinstance(labels, np.ndarray) else list(labels)
    if len(labs) != len(images):
        raise ImageLoadError(f"{len(labs)} labels for {len(images)} images; give one label per image.")
    names: list[str] = []
    for lab in labs:
        if isinstance(lab, str):
            names.append(lab)
        elif isinstance(lab, (int, np.integer)) and not isinstance(lab, bool):
            if class_names is None or not 0 <= int(lab) < len(class_names):
                raise ImageLoadError(f"Label {lab} is an index, but it does not index the model's classes "
                                     f"({0 if class_names is None else len(class_names)}); give class names.")
            names.append(str(class_names[int(lab)]))
        else:
            raise ImageLoadError(f"Label {lab!r} is neither a class name nor a class index.")
    return LabelledSet(images, names, images.source)


def is_class_folder(data: Any) -> bool:
    """A folder whose sub-folders hold the images: labelled by folder name."""
    if not isinstance(data, (str, os.PathLike)) or not Path(data).is_dir():
        return False
    return any(p.is_dir() for p in Path(data).iterdir())


def images_and_labels(data: Any, labels: Any, adapter: Any) -> tuple[Any, np.ndarray | None]:
    """For evidence that takes images with or without labels: (images, each image's class index in the model's
    classes) when `data` is labelled (labels given, a LabelledSet or a class folder), else (data, None)."""
    if labels is None and not isinstance(data, LabelledSet) and not is_class_folder(data):
        return data, None
    labelled = as_labelled(data, labels, class_names=adapter.labels)
    return labelled.images, labelled.indices(adapter)
