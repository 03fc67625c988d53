"""Bench rows for the data-level evidence (issue 13): audit.performance and audit.embedding, each timed end to
end (cold: no cache) against the passes it cannot avoid, timed in the same run as plain traced batched forwards:
one forward per image (the logits, and for the embedding the layer's activations in the same pass).
The naive loop a user would write: one model.predict per image."""
from __future__ import annotations

from typing import Any

import numpy as np

BATCH = 64


def rows(model: Any, images: np.ndarray) -> list[dict[str, Any]]:
    """Two rows: performance and embedding (PCA, default layer) on `images` with round-robin labels."""
    import tensorflow as tf

    from pytest_modelaudit.core.cache.memory import SESSION_CACHE
    from pytest_modelaudit.core.data.labelled import as_labelled
    from pytest_modelaudit.core.insight.embedding import default_embedding_layer, embedding
    from pytest_modelaudit.core.insight.performance import performance
    from pytest_modelaudit.core.model.adapter import ModelAdapter, load_model

    from run import interleaved, median_time  # benchmarks/run.py, which imports this module

    adapter = model if isinstance(model, ModelAdapter) else load_model(model, input_range=(-1, 1))
    n = len(images)
    labels = [adapter.labels[i % len(adapter.labels)] for i in range(n)]
    data = as_labelled(images, labels)
    x = adapter.preprocess(images)
    forward = tf.function(lambda t: adapter.model(t, training=False), reduce_retracing=True)

    def limit() -> None:
        for i in range(0, n, BATCH):
            forward(tf.constant(x[i : i + BATCH])).numpy()

    default_embedding_layer(adapter)  # found once per model (one probe pass), not per audit
    before = SESSION_CACHE.enabled
    SESSION_CACHE.enabled = False  # time the computation, not cache hits
    try:
        t = interleaved({
            "limit": limit,
            "performance": lambda: performance(adapter, data, batch_size=BATCH),
            "embedding": lambda: embedding(adapter, data, batch_size=BATCH),
        }, reps=3)
    finally:
        SESSION_CACHE.enabled = before
    n_naive = 8
    naive_per_image = median_time(lambda: [adapter.model.predict(x[i : i + 1], verbose=0) for i in range(n_naive)],
                                  reps=2) / n_naive
    layer = default_embedding_layer(adapter)
    out = []
    for key, what in (("performance", "accuracy, per-class recall / precision, confusion matrix"),
                      ("embedding", f"pooled activations at '{layer}' + logits in the same pass, k-NN, silhouette, PCA")):
        out.append({
            "name": f"{key}_mobilenetv2_224",
            "ratio_to_limit": round(t[key] / t["limit"], 3),
            "speedup_vs_naive": round(naive_per_image * n / t[key], 2),
            "detail": (f"{n} labelled images, {what}: end to end {t[key]:.3f}s vs the {n} forwards in traced batches "
                       f"of {BATCH} {t['limit']:.3f}s; naive: one model.predict per image, "
                       f"{naive_per_image * 1000:.0f} ms each; target ratio <= 1.3"),
        })
    return out
