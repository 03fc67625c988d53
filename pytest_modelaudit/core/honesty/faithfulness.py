"""Deletion and insertion curves (Petsiuk et al., 2018): how fast the target's probability falls as pixels
are removed in the map's order, and rises as they are put back onto a blank canvas.

A faithful map ranks first the pixels the model needs: its deletion curve falls fast (small area) and
its insertion curve rises fast (large area). Removal never trusts one fill: each curve is computed with
a blur of the image (closest to the data), the flat mean and flat black (both out of distribution, but a
model that reads brightness, like a snow shortcut, is only moved by a dark fill), and all are reported.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..model.adapter import ModelAdapter, logit_margin
from ..data.fills import make_fills
from ..perturbation import masked_logits

STEPS = 10  # fractions 0, 0.1, ..., 1.0 of the pixels
FILLS = ("blur", "mean", "black")


@dataclass(frozen=True)
class Curves:
    """Mean deletion and insertion curves of one map method, per fill."""

    fractions: np.ndarray  # [S + 1] share of pixels removed (deletion) or restored (insertion)
    fills: tuple[str, ...]
    deletion: np.ndarray  # [F, S + 1] mean target probability over images
    insertion: np.ndarray  # [F, S + 1]
    images: int

    @property
    def deletion_auc(self) -> np.ndarray:
        return _auc(self.fractions, self.deletion)

    @property
    def insertion_auc(self) -> np.ndarray:
        return _auc(self.fractions, self.insertion)

    @property
    def margin(self) -> np.ndarray:
        """Insertion area minus deletion area, per fill: above 0 the map's order beats its own reverse."""
        return self.insertion_auc - self.deletion_auc


def _auc(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.trapezoid(y, x, axis=-1) if hasattr(np, "trapezoid") else np.trapz(y, x, axis=-1)


def to_input_size(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Maps [N, h, w] brought to the input size (bilinear), so every pixel has a rank."""
    if maps.shape[1:3] == tuple(size):
        return maps.astype(np.float32)
    import tensorflow as tf

    return tf.image.resize(maps[..., None].astype(np.float32), size, method="bilinear").numpy()[..., 0]


def pixel_order(maps: np.ndarray) -> np.ndarray:
    """Per image, pixel indices from the highest map value to the lowest (ties in raster order)."""
    flat = maps.reshape(len(maps), -1)
    return np.argsort(-flat, axis=1, kind="stable")


def deletion_insertion(adapter: ModelAdapter, images01: np.ndarray, maps: np.ndarray, target: int, *,
                       steps: int = STEPS, fills: Sequence[str] = FILLS, seed: int = 0,
                       batch_size: int = 64) -> Curves:
    """Deletion and insertion curves of the target's probability for maps [N, h, w] over images [N, H, W, C];
    the composites are scored on the masked-forward engine (core/perturbation.py)."""
    from ..cache.disk import cached, model_identity

    n, h, w = len(images01), *adapter.input_shape[:2]
    fractions = np.linspace(0.0, 1.0, steps + 1)

    def compute() -> dict[str, np.ndarray]:
        x = adapter.preprocess(images01)
        black = adapter.preprocess(np.zeros_like(images01))  # a black picture, in model-input space
        specs = [(lambda x_, m_: black) if f == "black" else f for f in fills]
        fill_list, _ = make_fills(specs, x, np.zeros((n, h, w), np.float32), fill_images=None,
                                  rng=np.random.default_rng(seed))
        content = np.stack([np.asarray(f.content, np.float32) for f in fill_list])  # [F, N, H, W, C]
        order = pixel_order(to_input_size(maps, (h, w)))
        rank = np.empty_like(order)  # rank[i, p]: place of pixel p in image i's order
        rank[np.arange(n)[:, None], order] = np.arange(h * w)
        counts = np.round(fractions * h * w).astype(int)
        # jobs: (fill, image, insertion?, step), one image's deletion then insertion composites together
        jobs = np.array([(f, i, back, s) for f in range(len(fill_list)) for i in range(n) for back in (0, 1)
                         for s in range(steps + 1)], np.int64).reshape(-1, 4)

        def batch(chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            f, i, back, s = chunk.T
            top = (rank[i] < counts[s][:, None]).reshape(-1, h, w, 1)  # the first counts[s] pixels of the order
            own, fill = x[i], content[f, i]
            back = back.astype(bool)[:, None, None, None]
            # deletion: the top pixels replaced by the fill; insertion: the top pixels put back on the fill
            return np.where(back, fill, own), np.where(back, own, fill), top

        # at most one (fill, image) pair's composites per batch: an image's curve does not depend on the others
        logits = masked_logits(adapter, jobs, batch, batch_size=min(batch_size, 2 * (steps + 1)))
        probs = adapter.probabilities(logits)[:, target].reshape(len(fill_list), n, 2, steps + 1)
        total = probs.astype(np.float64).sum(axis=1)  # [F, 2, S + 1], added up image by image
        return {"deletion": total[:, 0] / max(n, 1), "insertion": total[:, 1] / max(n, 1)}

    parts = (model_identity(adapter), np.asarray(images01, np.float32), np.asarray(maps, np.float32), int(target),
             steps, tuple(fills), seed)
    got = cached("deletion_insertion", parts, compute)
    return Curves(fractions, tuple(fills), got["deletion"], got["insertion"], n)


# Removing every pixel must move the target's probability by at least this under some fill, or the score
# does not respond to the image and no heatmap of it can back a verdict (the same bound the curves use).
MIN_RESPONSE = 0.1
# ... or, where the probability is saturated (1.000 before and after), move the target's logit margin over the
# next class by at least this many nats (a factor e**2 in the odds): the logit, which the maps explain, responds.
MIN_MARGIN_RESPONSE = 2.0


@dataclass(frozen=True)
class Response:
    """How much the target's mean probability, and its mean logit margin, move when every pixel is removed."""

    before: float
    after: dict[str, float]
    predicted_share: float = float("nan")  # share of the images the model assigns to the target class
    margin_before: float = float("nan")  # mean of (target logit - largest other logit)
    margin_after: dict[str, float] = field(default_factory=dict)

    @property
    def largest(self) -> float:
        return max((abs(self.before - v) for v in self.after.values()), default=0.0)

    @property
    def largest_margin(self) -> float:
        return max((abs(self.margin_before - v) for v in self.margin_after.values()), default=0.0)

    @property
    def responds(self) -> bool:
        return self.largest >= MIN_RESPONSE or self.largest_margin >= MIN_MARGIN_RESPONSE

    def why_not(self, target_name: str) -> str:
        after = ", ".join(f"{k} {v:.3f}" for k, v in self.after.items())
        margin = ", ".join(f"{k} {v:+.2f}" for k, v in self.margin_after.items())
        return (f"the score of '{target_name}' does not respond to the image: its mean probability is "
                f"{self.before:.3f} and stays within {MIN_RESPONSE:g} of it with every pixel removed ({after}), and "
                f"its logit margin over the next class ({self.margin_before:+.2f}) within {MIN_MARGIN_RESPONSE:g} "
                f"({margin}), so no map of it can show where the evidence is; check the model's head and input range")


def score_response(adapter: ModelAdapter, images01: np.ndarray, target: int, *, fills: Sequence[str] = FILLS,
                   seed: int = 0) -> Response:
    """The target's mean probability on the images and with every pixel removed by each fill (one batched pass)."""
    from ..cache.disk import cached, model_identity

    n, h, w = len(images01), *adapter.input_shape[:2]
    if n == 0:
        return Response(float("nan"), {})

    def compute() -> dict[str, np.ndarray]:
        x = adapter.preprocess(images01)
        black = adapter.preprocess(np.zeros_like(images01))
        specs = [(lambda x_, m_: black) if f == "black" else f for f in fills]
        fill_list, _ = make_fills(specs, x, np.ones((n, h, w), np.float32), fill_images=None,
                                  rng=np.random.default_rng(seed))
        batch = np.concatenate([x] + [np.asarray(f.content, np.float32) for f in fill_list])
        logits = adapter.logits(batch, preprocessed=True)
        return {"probs": adapter.probabilities(logits), "logits": logits}

    # every expectation on the same images asks: one batched pass per model, images and fills
    got = cached("score_response", (model_identity(adapter), np.asarray(images01, np.float32), tuple(fills), seed),
                 compute)
    all_probs, logits = got["probs"], got["logits"]
    probs = all_probs[:, target].reshape(len(fills) + 1, n)
    margins = logit_margin(logits, target).reshape(len(fills) + 1, n)
    share = float((all_probs[:n].argmax(axis=-1) == target).mean())
    return Response(float(probs[0].mean()), {f: float(p.mean()) for f, p in zip(fills, probs[1:])}, share,
                    float(margins[0].mean()), {f: float(m.mean()) for f, m in zip(fills, margins[1:])})

