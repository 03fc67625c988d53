"""Concept data in the tensorflow/tcav layout: one root, a folder per concept, random folders by prefix."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import ConceptError, closest
from ...paths import shown_path
from .images import IMAGE_SUFFIXES, ImageSet, load_images

MIN_IMAGES = 20
WARN_IMAGES = 50


@dataclass
class ConceptLibrary:
    """A concept root: concept folders, random counterexample folders (by prefix) and target-class folders."""

    root: Path | None
    random_prefix: str = "random500_"
    min_images: int = MIN_IMAGES
    warn_images: int = WARN_IMAGES
    _loaded: dict[tuple[str, tuple[int, int] | None], ImageSet] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.root is None:
            return
        self.root = Path(self.root)
        if not self.root.is_dir():
            raise ConceptError(f"Concept root {str(self.root)!r} does not exist or is not a folder "
                               "(expected one folder per concept, plus random folders such as 'random500_0').")
        if self.min_images < 2:
            raise ConceptError(f"min_images must be at least 2, got {self.min_images}.")

    @classmethod
    def from_arrays(cls, sets: dict[str, np.ndarray | ImageSet], *, random_prefix: str = "random500_",
                    min_images: int = MIN_IMAGES) -> ConceptLibrary:
        """Concept sets given as arrays (or ImageSets) by name instead of folders."""
        lib = cls(None, random_prefix=random_prefix, min_images=min_images)
        for name, images in sets.items():
            s = images if isinstance(images, ImageSet) else ImageSet.from_arrays(np.asarray(images))
            s.source = f"array '{name}'"
            if len(s) < min_images:
                raise ConceptError(f"Concept set '{name}' has {len(s)} image(s); at least {min_images} are needed.")
            lib._loaded[(name, None)] = s
        return lib

    @property
    def where(self) -> str:
        return str(self.root) if self.root is not None else "the concept arrays"

    @property
    def folders(self) -> list[str]:
        names = {name for name, _ in self._loaded}
        if self.root is not None:
            names |= {p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")}
        return sorted(names)

    @property
    def random_sets(self) -> list[str]:
        """Random folders in numeric order of their suffix (random500_2 before random500_10)."""
        names = [f for f in self.folders if f.startswith(self.random_prefix)]

        def order(name: str) -> tuple[int, str]:
            tail = name[len(self.random_prefix):]
            return (int(tail), name) if tail.isdigit() else (10**9, name)

        return sorted(names, key=order)

    def folder(self, name: str) -> Path:
        if self.root is None:
            raise ConceptError(f"There is no concept set '{name}' in {self.where}." + closest(name, self.folders))
        path = self.root / name
        if not path.is_dir():
            raise ConceptError(f"Concept folder {str(path)!r} does not exist." + closest(name, self.folders))
        return path

    def images(self, name: str, size: tuple[int, int] | None = None) -> ImageSet:
        """All images of one folder, checked for size (at least min_images; warn under warn_images)."""
        key = (name, size)
        if key not in self._loaded and (name, None) in self._loaded:
            return self._loaded[(name, None)]
        if key not in self._loaded:
            path = self.folder(name)
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if len(files) < self.min_images:
                raise ConceptError(
                    f"Concept folder {str(path)!r} has {len(files)} image(s); at least {self.min_images} are needed "
                    f"for a CAV (the research recommends 50-200). Lower min_images only if you accept noisier results."
                )
            if len(files) < self.warn_images:
                warnings.warn(f"Concept folder {str(path)!r} has only {len(files)} images; {self.warn_images}+ give "
                              "more stable CAVs.", stacklevel=3)
            self._loaded[key] = load_images(files, size=size)
            self._loaded[key].source = shown_path(path)
        return self._loaded[key]
