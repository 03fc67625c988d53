"""Predictions under small, label-preserving changes (brightness, noise, JPEG, optionally a horizontal
flip): how many predictions flip and how much accuracy drops. Batched, seeded, cached by content."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..cache.disk import cached, model_identity
from ..data.inputs import prepare
from ..model.adapter import ModelAdapter

BRIGHTNESS = 0.10  # ±10% of every pixel value
NOISE_SIGMA = 0.02  # Gaussian noise, in units of the [0, 1] image range
JPEG_QUALITY = 75
PERTURBATIONS = ("brightness+10%", "brightness-10%", "noise", "jpeg", "hflip")
DEFAULT = PERTURBATIONS[:4]  # a flip changes the label of some tasks: only when the user allows it


def perturb(images: np.ndarray, name: str, rng: np.random.Generator) -> np.ndarray:
    """One label-preserving change of images in [0, 1] (display space)."""
    if name == "brightness+10%":
        return np.clip(images * (1 + BRIGHTNESS), 0, 1).astype(np.float32)
    if name == "brightness-10%":
        return np.clip(images * (1 - BRIGHTNESS), 0, 1).astype(np.float32)
    if name == "noise":
        return np.clip(images + rng.normal(0, NOISE_SIGMA, images.shape), 0, 1).astype(np.float32)
    if name == "jpeg":
        return np.stack([_jpeg(im) for im in images]) if len(images) else images
    if name == "hflip":
        return images[:, :, ::-1].copy()
    raise ValueError(f"unknown perturbation {name!r}; expected one of {', '.join(PERTURBATIONS)}")


def _jpeg(image: np.ndarray) -> np.ndarray:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)).save(buf, format="JPEG", quality=JPEG_QUALITY)
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        return np.asarray(im.convert("RGB"), np.float32) / 255.0


@dataclass
class RobustnessResult:
    """Predicted classes on the images and on each changed copy, with labels when known."""

    names: list[str]
    predicted: np.ndarray  # [N] on the originals
    changed: dict[str, np.ndarray]  # perturbation -> [N] predicted classes
    labels: np.ndarray | None  # [N] class indices, or None for unlabelled images
    class_names: list[str]
    source: str
    perturbations: tuple[str, ...] = field(default=DEFAULT)

    def flip_rate(self, name: str) -> float:
        return float(np.mean(self.changed[name] != self.predicted)) if len(self.predicted) else float("nan")

    def accuracy(self, predicted: np.ndarray) -> float | None:
        if self.labels is None or not len(predicted):
            return None
        return float(np.mean(predicted == self.labels))


def robustness(adapter: ModelAdapter, images: Any, labels: np.ndarray | None, *, seed: int,
               perturbations: tuple[str, ...] = DEFAULT, batch_size: int = 64) -> RobustnessResult:
    """Predictions on the images and on each perturbed copy, in one batched pass per copy (cached)."""
    for name in perturbations:
        if name not in PERTURBATIONS:
            from ...errors import ModelAuditError

            raise ModelAuditError(f"Unknown perturbation {name!r}; expected some of {', '.join(PERTURBATIONS)}.")
    inputs = prepare(adapter, images)
    rng = np.random.default_rng(seed)
    copies = {name: perturb(inputs.images, name, rng) for name in perturbations}

    def compute() -> dict[str, np.ndarray]:
        stack = np.concatenate([inputs.images, *copies.values()]) if len(inputs.images) else inputs.images
        return {"predicted": adapter.logits(stack, batch_size=batch_size).argmax(-1)}

    got = cached("robustness", (model_identity(adapter), inputs.images, list(perturbations), seed), compute)
    n = len(inputs.images)
    pred = got["predicted"]
    return RobustnessResult(list(inputs.names), pred[:n], {p: pred[n * (i + 1): n * (i + 2)]
                                                          for i, p in enumerate(perturbations)},
                            labels, list(adapter.labels), inputs.source, tuple(perturbations))
