"""Bench rows for audit.features: top-activating images per channel / class and activation maximisation, each
timed (uncached) against the passes it cannot avoid, measured in the same run on the same model and batch."""
from __future__ import annotations

import time
from typing import Any

import numpy as np

STEPS = 16  # maximisation steps in the bench (the audit default is 128; the ratio per step is what counts)


def _median(fn: Any, reps: int = 3) -> float:
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def rows(model: Any, images: np.ndarray) -> list[dict[str, Any]]:
    """Three rows: channels (1 forward pass), class (1 forward+backward), maximisation (STEPS backward of U)."""
    import tensorflow as tf

    import pytest_modelaudit.core.insight.features as feats
    import pytest_modelaudit.core.insight.maximise as mx
    from pytest_modelaudit.core.model.adapter import ModelAdapter, load_model

    adapter = model if isinstance(model, ModelAdapter) else load_model(model, input_range=(-1, 1))
    layer = adapter.default_gradcam_layer()
    x = adapter.preprocess(images)
    batch = 64
    forward = tf.function(lambda t: adapter.model(t, training=False), reduce_retracing=True)

    def fwd_bwd(t: Any) -> Any:
        with tf.GradientTape() as tape:
            tape.watch(t)
            out = adapter.model(t, training=False)
            s = tf.reduce_sum(out[:, 0])
        return tape.gradient(s, t)

    backward = tf.function(fwd_bwd, reduce_retracing=True)
    units = list(range(4))
    xu = tf.constant(np.repeat(x[:1], len(units), axis=0))
    # Maximisation's own unavoidable pass: the readable-image parametrisation the method prescribes (spectrum ->
    # decorrelated colour image, as in core/insight/maximise.py) and the model, forward and backward to the spectrum.
    h, w, _ = adapter.input_shape
    _, to_image = mx._step_function(adapter, adapter.resolve(layer), (h, w))
    lo, hi = adapter.input_range

    def param_fwd_bwd(spec: Any) -> Any:
        with tf.GradientTape() as tape:
            tape.watch(spec)
            out = adapter.model(lo + to_image(spec) * (hi - lo), training=False)
            s = tf.reduce_sum(out[:, 0])
        return tape.gradient(s, spec)

    param_backward = tf.function(param_fwd_bwd, reduce_retracing=True)
    spec_u = tf.constant(np.random.default_rng(0).standard_normal((len(units), 3, h, w // 2 + 1, 2)).astype(np.float32))
    uncached = lambda kind, parts, compute: compute()  # noqa: E731  (time the computation, not a cache hit)
    real = feats.cached, mx.cached
    feats.cached = mx.cached = uncached
    try:
        t_ch = _median(lambda: feats.top_features(adapter, images, layer=layer, channels=list(range(8)), top=6))
        t_f = _median(lambda: [forward(tf.constant(x[i:i + batch])).numpy() for i in range(0, len(x), batch)])
        t_cl = _median(lambda: feats.top_features(adapter, images, layer=layer, target=adapter.target(0), top=6))
        t_b = _median(lambda: [backward(tf.constant(x[i:i + 32])).numpy() for i in range(0, len(x), 32)])
        t_mx = _median(lambda: mx.maximise(adapter, units, layer=layer, seed=0, steps=STEPS))
        t_mb = _median(lambda: [backward(xu).numpy() for _ in range(STEPS)])
        t_mp = _median(lambda: [param_backward(spec_u).numpy() for _ in range(STEPS)])
    finally:
        feats.cached, mx.cached = real
    n = len(images)
    return [
        {"name": "features: top images, 8 channels", "ratio_to_limit": t_ch / t_f, "speedup_vs_naive": None,
         "detail": f"{n} images, layer {layer}; limit: one batched forward pass ({t_f:.3f}s)"},
        {"name": "features: top images, class + crop", "ratio_to_limit": t_cl / t_b, "speedup_vs_naive": None,
         "detail": f"{n} images; limit: one batched forward+backward pass ({t_b:.3f}s)"},
        {"name": "features: maximisation, 4 channels", "ratio_to_limit": t_mx / t_mp, "speedup_vs_naive": None,
         "detail": f"{STEPS} steps x {len(units)} units in one batch, {t_mx:.3f}s; limit: {STEPS} forward+backward "
                   f"passes of {len(units)} images through the image parametrisation ({t_mp:.3f}s); against the bare "
                   f"model's passes ({t_mb:.3f}s) {t_mx / t_mb:.2f}"},
    ]
