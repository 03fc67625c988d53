"""Traced functions that take any batch size from their first trace: the last, partial batch of a run (16 of
64 images, 7 of 32) reuses the trace instead of paying a second one (0.05-0.15 s per function and model)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any


class AnyBatch:
    """`tf.function(run)` traced once per shape after the batch dimension and dtype of its tensor arguments."""

    def __init__(self, run: Callable[..., Any]):
        self._run = run
        self._traced: dict[tuple[Any, ...], Any] = {}

    def __call__(self, *args: Any) -> Any:
        key = tuple((tuple(a.shape[1:]), str(a.dtype)) for a in args)
        fn = self._traced.get(key)
        if fn is None:
            import tensorflow as tf

            specs = [tf.TensorSpec((None, *a.shape[1:]), a.dtype) for a in args]
            fn = self._traced[key] = tf.function(self._run, input_signature=specs)
        return fn(*args)

    def tracing_count(self) -> int:
        """How many times `run` was traced (one per distinct argument shape after the batch)."""
        return sum(f.experimental_get_tracing_count() for f in self._traced.values())
