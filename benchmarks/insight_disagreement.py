"""Bench row for audit.disagreement (issue 13): two models on the same images, timed end to end (cold) against
the passes it cannot avoid, timed in the same run: one forward per image per model, and the Grad-CAM forward and
backward passes of the images shown. The naive loop: one model.predict per image per model."""
from __future__ import annotations

from typing import Any

import numpy as np

BATCH = 64


def rows(model: Any, images: np.ndarray) -> list[dict[str, Any]]:
    import keras
    import tensorflow as tf

    from pytest_modelaudit.core.cache.memory import SESSION_CACHE
    from pytest_modelaudit.core.insight.disagreement import disagreement
    from pytest_modelaudit.core.model.adapter import ModelAdapter, load_model

    from run import interleaved, median_time  # benchmarks/run.py, which imports this module

    first = model if isinstance(model, ModelAdapter) else load_model(model, input_range=(-1, 1))
    clone = keras.models.clone_model(first.model)  # the same architecture with other (random) weights
    second = load_model(clone, classes=first.class_names, input_range=first.input_range, name="mobilenetv2_other")
    n, show = len(images), 6
    x = first.preprocess(images)
    forward = [tf.function(lambda t, m=m: m(t, training=False), reduce_retracing=True) for m in (first.model, clone)]
    layer = first.default_gradcam_layer()

    def limit() -> None:
        for f in forward:
            for i in range(0, n, BATCH):
                f(tf.constant(x[i : i + BATCH])).numpy()
        for a in (first, second):  # the Grad-CAM passes of the shown images (one class each, the worst case)
            a.capture(images[:show], [layer], 0)

    before = SESSION_CACHE.enabled
    SESSION_CACHE.enabled = False
    try:
        t = interleaved({"limit": limit, "disagreement": lambda: disagreement([first, second], images, None,
                                                                               show=show, batch_size=BATCH)}, reps=3)
    finally:
        SESSION_CACHE.enabled = before
    naive = median_time(lambda: [m.predict(x[i : i + 1], verbose=0) for m in (first.model, clone)
                                 for i in range(4)], reps=2) / 8
    return [{
        "name": "disagreement_mobilenetv2_224",
        "ratio_to_limit": round(t["disagreement"] / t["limit"], 3),
        "speedup_vs_naive": round(naive * 2 * n / t["disagreement"], 2),
        "detail": (f"2 models x {n} images, Grad-CAM of the {show} most different: end to end {t['disagreement']:.3f}s "
                   f"vs {t['limit']:.3f}s of traced batched forwards (2 x {n}) and the shown images' Grad-CAM passes; "
                   f"naive: one model.predict per image per model, {naive * 1000:.0f} ms each; target ratio <= 1.3"),
    }]
