"""One masked-forward engine: the logits of images whose masked part is replaced by a fill,
x * (1 - m) + f * m, in one traced function per model and batches built by the caller. Region ablation
(a region replaced, or only it kept), occlusion (a window replaced) and the deletion / insertion curves (the
map's top pixels replaced, or put back on the fill) all run on it."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .model import passes
from .model.adapter import ModelAdapter
from .model.tracing import AnyBatch

# A batch of jobs -> (images, fills, masks) in model-input space: [B, H, W, C] each, masks [B, H, W, 1] float
# (soft regions) or bool (windows).
BuildBatch = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


def _mix_function(adapter: ModelAdapter) -> Any:
    def build() -> Any:
        import tensorflow as tf

        logits_fn = adapter._logits_function()

        def run(x: Any, f: Any, m: Any) -> Any:
            m = tf.cast(m, x.dtype)  # boolean masks (occlusion windows) travel at a byte per pixel
            return logits_fn(x * (1.0 - m) + f * m)

        return AnyBatch(run)

    return adapter.built(("mix",), build)


def masked_logits(adapter: ModelAdapter, jobs: np.ndarray, build_batch: BuildBatch, *, batch_size: int,
                  pad: bool = False) -> np.ndarray:
    """[len(jobs), K] logits, one row per job, in batches of `batch_size`; `pad` fills the last batch up to the
    batch size (one traced shape for many batches of the same size)."""
    import tensorflow as tf

    mix = _mix_function(adapter)
    passes.count(forward=len(jobs), model=adapter.passes_key)
    out = []
    for s in range(0, len(jobs), batch_size):
        chunk = jobs[s : s + batch_size]
        real = len(chunk)
        if pad and real < batch_size and len(jobs) > batch_size:
            chunk = np.concatenate([chunk, np.repeat(chunk[-1:], batch_size - real, 0)])
        x, f, m = build_batch(chunk)
        out.append(np.asarray(mix(tf.constant(x), tf.constant(f), tf.constant(m)))[:real])
    logits = np.concatenate(out) if out else np.zeros((0, adapter.num_classes), np.float32)
    adapter._check_output(logits)  # as adapter.logits: warn once when the outputs look like probabilities
    return logits
