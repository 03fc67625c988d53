"""The cache of computed arrays, behind one small interface; SESSION_CACHE adds the disk layer (disk.py)."""
from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol

import numpy as np

from .disk import SESSION_CACHE, TieredCache  # the session's cache lives with its disk layer


class ArrayCache(Protocol):
    def get(self, key: Hashable) -> np.ndarray | None: ...

    def put(self, key: Hashable, value: np.ndarray) -> None: ...


class MemoryCache:
    """A plain in-memory store: tests and benchmarks pass a fresh one to compute everything afresh."""

    def __init__(self) -> None:
        self._data: dict[Hashable, np.ndarray] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> np.ndarray | None:
        value = self._data.get(key)
        if value is None:
            self.misses += 1
        else:
            self.hits += 1
        return value

    def put(self, key: Hashable, value: np.ndarray) -> None:
        value = np.asarray(value)
        value.setflags(write=False)
        self._data[key] = value

    def clear(self) -> None:
        self._data.clear()
        self.hits = self.misses = 0

__all__ = ["SESSION_CACHE", "ArrayCache", "MemoryCache", "TieredCache"]
