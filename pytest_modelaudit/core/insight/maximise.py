"""Activation maximisation (illustrative, not evidence): synthetic inputs that excite a channel or a class.

Readable by construction (after Olah et al., "Feature Visualization", 2017): the image is a Fourier spectrum
scaled by 1/frequency in a decorrelated colour space passed through a sigmoid; each step applies a random
jitter (roll) and a random scale, and the loss subtracts a total-variation penalty. Every unit is optimised
in ONE batch by ONE traced gradient step (`tf.function`), a fixed number of steps; the start and every random
transform derive from one seed, so the same seed gives the same images. No prior is downloaded.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ModelAuditError
from ..cache.disk import cached, model_identity
from ..model import passes
from ..model.adapter import ModelAdapter

STEPS = 128  # fixed step count (documented in README)
LEARNING_RATE = 0.05
JITTER = 2  # pixels of random roll per step (at 64 px input; scaled with the input side)
SCALES = (0.95, 1.05)  # random zoom range per step
TV_WEIGHT = 0.05  # weight of the total-variation penalty (per pixel, images in [0, 1])
START_SCALE = 0.01  # spread of the seeded start spectrum
# Colour decorrelation (the square root of ImageNet's colour covariance, as in lucid), normalised.
_COLOR = np.array([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], np.float32)
_COLOR = _COLOR / np.max(np.linalg.norm(_COLOR, axis=0))


@dataclass
class Maximised:
    """Synthetic images [U, H, W, 3] in [0, 1], one per unit, and how they were made."""

    images: np.ndarray
    start: np.ndarray  # the seeded start images (same parametrisation, before any step)
    objective: np.ndarray  # [U] the unit's objective on its final image (mean activation or logit)
    steps: int
    seed: int

    def describe(self) -> str:
        return (f"{self.steps} Adam steps (lr {LEARNING_RATE}) on a 1/f Fourier, colour-decorrelated image, with "
                f"±{JITTER}px jitter, scale {SCALES[0]}–{SCALES[1]} and a total-variation penalty ({TV_WEIGHT}); "
                f"seed {self.seed}")


def _freq_scale(h: int, w: int) -> np.ndarray:
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.sqrt(fy * fy + fx * fx)
    return (1.0 / np.maximum(f, 1.0 / max(h, w))).astype(np.float32)


def _step_function(adapter: ModelAdapter, path: str | None, size: tuple[int, int]) -> Any:
    """The traced gradient of the objective (minus the TV penalty) w.r.t. the spectrum, for all units at once."""
    key = ("maximise_grad", path, size)

    def build() -> Any:
        import tensorflow as tf

        from ..model.capture import Recorder, resolve_layer

        h, w = size
        scale = tf.constant(_freq_scale(h, w) * np.sqrt(h * w).astype(np.float32))
        color = tf.constant(_COLOR.T)
        layers = {path: resolve_layer(adapter.model, path)[1]} if path else {}
        lo, hi = adapter.input_range  # type: ignore[misc]

        def to_image(spec: Any) -> Any:
            re, im = spec[..., 0], spec[..., 1]  # [U, 3, h, w//2+1]
            c = tf.complex(re * scale, im * scale)
            x = tf.signal.irfft2d(c, fft_length=[h, w])  # [U, 3, h, w]
            x = tf.transpose(x, [0, 2, 3, 1]) / 4.0
            x = tf.tensordot(x, color, axes=[[3], [0]])
            return tf.sigmoid(x)

        def grad(spec: Any, units: Any, shifts: Any, zoom: Any) -> Any:
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(spec)
                img = to_image(spec)
                tv = tf.reduce_mean(tf.abs(img[:, 1:] - img[:, :-1])) + tf.reduce_mean(tf.abs(img[:, :, 1:] - img[:, :, :-1]))
                x = tf.roll(img, shift=shifts, axis=[1, 2])
                zh = tf.cast(tf.round(h * zoom), tf.int32)
                zw = tf.cast(tf.round(w * zoom), tf.int32)
                x = tf.image.resize(x, tf.stack([zh, zw]))
                x = tf.image.resize_with_crop_or_pad(x, h, w)
                x = lo + x * (hi - lo)
                with Recorder(adapter.model, layers, adapter.head, tape) as rec:
                    out = adapter.model(x, training=False)
                if path:
                    a = rec.last(path)  # [U, gh, gw, C]
                    per = tf.reduce_mean(tf.gather(a, units, axis=3, batch_dims=1), axis=[1, 2])
                else:
                    logits = out if adapter.head.how == "output" else rec.logits
                    per = tf.gather(logits, units, axis=1, batch_dims=1)
                loss = tf.reduce_sum(per) - TV_WEIGHT * tf.cast(tf.shape(spec)[0], tf.float32) * tv
            return per, tape.gradient(loss, spec)

        return tf.function(grad, reduce_retracing=True), tf.function(to_image)

    return adapter.built(key, build)


def maximise(adapter: ModelAdapter, units: Sequence[int], *, layer: str | None, seed: int, steps: int = STEPS) -> Maximised:
    """Synthetic images maximising each channel's mean activation at `layer` (or, with layer=None, each class's
    logit), all units in one batch, `steps` traced gradient steps, deterministic for a seed."""
    if adapter.input_range is None:
        raise ModelAuditError("Activation maximisation needs a linear input range (a preprocess callable cannot be "
                              "differentiated here); load the model with input_range=(low, high).")
    h, w, c = adapter.input_shape
    if c != 3:
        raise ModelAuditError(f"Activation maximisation draws RGB images; model {adapter.name!r} reads {c} channels.")
    path = adapter.resolve(layer) if layer is not None else None
    units = [int(u) for u in units]

    def compute() -> dict[str, np.ndarray]:
        import tensorflow as tf

        rng = np.random.default_rng(seed)
        n = len(units)
        spec0 = (rng.standard_normal((n, 3, h, w // 2 + 1, 2)) * START_SCALE).astype(np.float32)
        jitter = max(1, round(JITTER * max(h, w) / 64))
        shifts = rng.integers(-jitter, jitter + 1, size=(steps, 2)).astype(np.int32)
        zooms = rng.uniform(SCALES[0], SCALES[1], size=steps).astype(np.float32)
        grad_fn, to_image = _step_function(adapter, path, (h, w))
        spec = spec0.copy()
        m = np.zeros_like(spec)
        v = np.zeros_like(spec)
        b1, b2, eps = 0.9, 0.999, 1e-8
        u_t = tf.constant(np.asarray(units, np.int32))
        per = None
        for t in range(1, steps + 1):  # Adam in NumPy: exact and deterministic, one traced gradient per step
            per, g = grad_fn(tf.constant(spec), u_t, tf.constant(shifts[t - 1]), tf.constant(zooms[t - 1]))
            g = -np.asarray(g)  # ascend the objective
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            spec = spec - LEARNING_RATE * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        passes.count(backward=n * steps, model=adapter.passes_key)
        return {"images": np.asarray(to_image(tf.constant(spec))), "start": np.asarray(to_image(tf.constant(spec0))),
                "objective": np.asarray(per) if per is not None else np.zeros(n, np.float32)}

    got = cached("maximise", (model_identity(adapter), path, tuple(units), int(seed), int(steps), STEPS,
                              LEARNING_RATE, JITTER, SCALES, TV_WEIGHT), compute)
    return Maximised(got["images"].astype(np.float32), got["start"].astype(np.float32),
                     got["objective"].astype(np.float32), steps, seed)
