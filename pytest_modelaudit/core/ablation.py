"""Region ablation, the causal check: replace a region and measure the target's logit and probability."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .model.adapter import ModelAdapter, logit_margin
from .perturbation import masked_logits
from .cache.disk import cached, model_identity
from .data.fills import Fill, make_fills
from .data.inputs import Inputs, prepare, prepare_region
from .data.removal import Removal, RemovalJudge

# A fill that had content for less than this share of the region (shuffle's donors) cannot remove it.
MIN_COVERAGE = 0.9


@dataclass
class AblationResult:
    """Scores with the region replaced (and with only the region kept), for every fill, and whether each fill
    really removed what it replaced (the region, or everything else)."""

    target: int
    target_name: str
    inputs: Inputs
    region: np.ndarray  # [N, H, W] at model size
    fills: list[Fill]  # content for the region (region replaced)
    base_logit: np.ndarray  # [N]
    base_prob: np.ndarray  # [N]
    ablated_logit: np.ndarray  # [K, N]
    ablated_prob: np.ndarray  # [K, N]
    region_only_logit: np.ndarray  # [K, N]
    region_only_prob: np.ndarray  # [K, N]
    x_model: np.ndarray  # [N, H, W, C] model-input space
    only_fills: list[Fill] = field(default_factory=list)  # content for everything else (region only), same names
    removal: list[Removal] = field(default_factory=list)  # per fill: did it remove the region?
    only_removal: list[Removal] = field(default_factory=list)  # per fill: did it remove everything else?
    base_margin: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [N] target logit - best other logit
    predicted: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # [N] the model's class is the target
    ablated_margin: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # [K, N]
    region_only_margin: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # [K, N]
    notes: list[str] = field(default_factory=list)

    @property
    def area(self) -> np.ndarray:
        return self.region.mean(axis=(1, 2)) if len(self.region) else np.zeros(0)

    @property
    def valid(self) -> np.ndarray:
        """Images whose region covers something."""
        return self.area > 0

    @property
    def logit_drop(self) -> np.ndarray:
        return self.base_logit[None] - self.ablated_logit

    @property
    def prob_drop(self) -> np.ndarray:
        return self.base_prob[None] - self.ablated_prob

    @property
    def margin_drop(self) -> np.ndarray:
        """Loss of the target's logit margin over the best other class when the region is replaced [K, N]."""
        return self.base_margin[None] - self.ablated_margin

    def admissible(self, only: bool = False) -> list[bool]:
        """Per fill: may it back a verdict (it removed what it replaced)?"""
        return [r.admissible for r in (self.only_removal if only else self.removal)]

    def ablated(self, k: int, i: int) -> np.ndarray:
        """Image i with its region replaced by fill k, in model-input space (the composite that was scored)."""
        m = self.region[i][..., None]
        return self.x_model[i] * (1 - m) + self.fills[k].content[i] * m

    def kept(self, k: int, i: int) -> np.ndarray:
        """Image i with only its region kept, everything else replaced by fill k (the composite that was scored)."""
        m = self.region[i][..., None]
        return self.x_model[i] * m + self.only_fills[k].content[i] * (1 - m)


def _judge(x: np.ndarray, fills: list[Fill], masks: np.ndarray, seed: int, span: float,
           named: bool) -> list[Removal]:
    """Removal of each fill over `masks`; a fill that had content for too little of the region cannot count, nor,
    unless named in fills=, one that may leave the region's shape in place (the mean, the blur)."""
    out = []
    judge = RemovalJudge(x, masks, seed=seed, span=span)
    for f in fills:
        r = judge.judge(f.content)
        if f.keeps_shape and not named:
            r = Removal(r.ratio, r.per_image, False,
                        f"is shown, not counted: {f.keeps_shape} (name it in fills= to count it)", r.change)
        elif f.coverage < MIN_COVERAGE:
            r = Removal(r.ratio, r.per_image, False,
                        f"other images could give content that cannot bring it back for only {f.coverage:.0%} of it "
                        f"(needs {MIN_COVERAGE:.0%})", r.change)
        out.append(r)
    return out


def input_span(adapter: ModelAdapter) -> float:
    """Width of the input range [0, 1] in model-input space, averaged over channels (1 for [0, 1] inputs)."""
    h, w, c = adapter.input_shape
    lo, hi = adapter.preprocess(np.zeros((1, h, w, c), np.float32)), adapter.preprocess(np.ones((1, h, w, c), np.float32))
    return float(np.abs(hi - lo).mean()) or 1.0


def region_ablation(adapter: ModelAdapter, images: Any, target: str | int, region: Any, *,
                    fills: Sequence[Any] | None = None, fill_images: Any = None, seed: int = 0,
                    batch_size: int = 64) -> AblationResult:
    """Base score once, then every (image, fill) variant in batched traced passes: region replaced and region kept."""
    inputs = prepare(adapter, images)
    h, w, _ = adapter.input_shape
    m = prepare_region(region, images, (h, w))
    idx = adapter.class_index(target)
    x = adapter.preprocess(inputs.images)
    fill_x = None if fill_images is None else adapter.preprocess(prepare(adapter, fill_images).images)
    fill_list, notes = make_fills(fills, x, m, fill_images=fill_x, rng=np.random.default_rng(seed))
    only_list, _ = make_fills(fills, x, 1.0 - m, fill_images=fill_x, rng=np.random.default_rng(seed), reuse=fill_list,
                              region_only=True)
    n, k = len(x), len(fill_list)
    span = input_span(adapter)

    def compute() -> dict[str, np.ndarray]:
        base = adapter.logits(x, preprocessed=True, batch_size=batch_size) if n else np.zeros((0, adapter.num_classes), np.float32)
        # jobs: (fill, image, keep_region_only)
        jobs = np.array([(kk, i, only) for only in (0, 1) for kk in range(k) for i in range(n)], np.int64).reshape(-1, 3)

        def batch(chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            kk, ii, only = chunk[:, 0], chunk[:, 1], chunk[:, 2].astype(bool)
            fb = np.stack([(only_list if o else fill_list)[a].content[b] for a, b, o in zip(kk, ii, only)])
            mb = m[ii][..., None]
            return x[ii], fb, np.where(only[:, None, None, None], 1.0 - mb, mb).astype(np.float32)

        out = np.zeros((2, k, n, base.shape[-1]), np.float32)
        if len(jobs):
            out[jobs[:, 2], jobs[:, 0], jobs[:, 1]] = masked_logits(adapter, jobs, batch, batch_size=batch_size)
        return {"base": base, "out": out}

    # keyed by the fills' content (seeded shuffles, user images, callables alike) and the region
    got = cached("ablation", (model_identity(adapter), inputs.images, m, [f.content for f in fill_list],
                              [f.content for f in only_list]), compute)
    base, out = got["base"], got["out"]
    probs = adapter.probabilities(out.reshape(-1, out.shape[-1])).reshape(out.shape) if out.size else out
    base_prob = adapter.probabilities(base) if n else np.zeros((0, adapter.num_classes))
    return AblationResult(
        target=idx, target_name=adapter.class_name(idx), inputs=inputs, region=m, fills=fill_list,
        base_logit=base[:, idx], base_prob=base_prob[:, idx],
        ablated_logit=out[0, :, :, idx], ablated_prob=probs[0, :, :, idx],
        region_only_logit=out[1, :, :, idx], region_only_prob=probs[1, :, :, idx],
        x_model=x, only_fills=only_list,
        removal=_judge(x, fill_list, m, seed, span, fills is not None),
        only_removal=_judge(x, only_list, 1.0 - m, seed, span, fills is not None),
        base_margin=logit_margin(base, idx), ablated_margin=logit_margin(out[0], idx),
        region_only_margin=logit_margin(out[1], idx),
        predicted=(base.argmax(axis=-1) == idx) if n else np.zeros(0, bool),
        notes=notes,
    )
