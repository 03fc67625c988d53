"""Occlusion: slide a patch over each image, replace it with a fill, and map the drop of the target logit.

Windows cover the whole image, borders included (a last, clipped-back window per axis); where windows
overlap their drops are averaged. The base score is computed once; every (image, window) variant runs on
the one masked-forward engine (core/perturbation.py) in fixed-size batches, so memory is bounded by one
batch whatever the number of windows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..ablation import input_span
from ..model.adapter import ModelAdapter
from ..perturbation import masked_logits
from ..cache.disk import SESSION_CACHE, array_digest, cached, model_identity
from ...errors import ModelAuditError
from ..data.fills import make_fills
from ..data.inputs import prepare
from .result import HeatmapResult
from ..data.removal import Removal, RemovalJudge


@dataclass(kw_only=True)
class OcclusionResult(HeatmapResult):
    """Occlusion maps for one target class: mean logit drop per pixel (`maps`, signed; `signed` is the same),
    the probability drop beside it, and the fill the windows put in (to judge whether it removed a region)."""

    prob_maps: np.ndarray  # [N, H, W] mean probability drop
    base_logit: np.ndarray  # [N]
    base_prob: np.ndarray  # [N]
    patch: tuple[int, int]
    stride: tuple[int, int]
    fill: str
    windows: int
    x_model: np.ndarray | None = field(default=None, repr=False)  # the images in model-input space
    fill_content: np.ndarray | None = field(default=None, repr=False)  # what the windows put in, [N, H, W, C]
    span: float = 1.0  # width of the input range in model-input space
    seed: int = 0

    method = "occlusion"
    score = "logit drop"


def window_starts(size: int, patch: int, stride: int) -> list[int]:
    """Start offsets covering [0, size): every stride, plus a last window flush with the border."""
    starts = list(range(0, size - patch + 1, stride))
    if starts[-1] + patch < size:
        starts.append(size - patch)
    return starts


def _pair(v: int | tuple[int, int], name: str) -> tuple[int, int]:
    pair = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(pair) != 2 or any(isinstance(p, bool) or not isinstance(p, (int, np.integer)) for p in pair):
        raise ModelAuditError(f"{name} must be an int or a pair of ints, got {v!r}.")
    return int(pair[0]), int(pair[1])


def occlusion(adapter: ModelAdapter, images: Any, target: str | int, *, patch: int | tuple[int, int] = 8,
              stride: int | tuple[int, int] | None = None, fill: Any = "mean", batch_size: int = 64,
              seed: int = 0) -> OcclusionResult:
    """Occlusion map of the target logit: mean drop over the windows covering each pixel."""
    inputs = prepare(adapter, images)
    h, w, _ = adapter.input_shape
    ph, pw = _pair(patch, "patch")
    sh, sw = _pair(stride if stride is not None else (max(1, ph // 2), max(1, pw // 2)), "stride")
    if ph < 1 or pw < 1 or ph > h or pw > w:
        raise ModelAuditError(f"patch {ph}x{pw} must be at least 1x1 and fit the {h}x{w} model input.")
    if sh < 1 or sw < 1:
        raise ModelAuditError(f"stride must be at least 1 in each direction, got {sh}x{sw}.")
    if sh > ph or sw > pw:
        raise ModelAuditError(f"stride {sh}x{sw} is larger than the patch {ph}x{pw}: some pixels would be covered by "
                              "no window; use a stride of at most the patch size (default: half of it).")
    if isinstance(fill, (list, tuple)):
        raise ModelAuditError("occlusion takes one fill ('mean', 'blur', a number or a callable), not a list.")
    idx = adapter.class_index(target)
    n = len(inputs.images)
    x = adapter.preprocess(inputs.images) if n else np.zeros((0, h, w, adapter.input_shape[2]), np.float32)
    fills, _ = make_fills([fill], x, np.zeros((n, h, w), np.float32), fill_images=None, rng=np.random.default_rng(seed))
    content = fills[0].content
    ys, xs = window_starts(h, ph, sh), window_starts(w, pw, sw)

    def compute() -> dict[str, np.ndarray]:
        per_image = _window_logits(adapter, x, content, ys, xs, (ph, pw), batch_size)
        base = np.stack([b for b, _ in per_image]) if n else np.zeros((0, adapter.num_classes))
        lg = np.concatenate([w for _, w in per_image]) if n else np.zeros((0, adapter.num_classes))
        base_prob = adapter.probabilities(base) if n else base
        pr = adapter.probabilities(lg) if n else lg
        logit_drop = np.zeros((n, h, w), np.float64)
        prob_drop = np.zeros((n, h, w), np.float64)
        count = np.zeros((h, w), np.float64)
        for y in ys:
            for x0 in xs:
                count[y : y + ph, x0 : x0 + pw] += 1
        windows = [(y, x0) for y in ys for x0 in xs]
        for j, (l, p) in enumerate(zip(lg[:, idx], pr[:, idx])):
            i, k = divmod(j, len(windows))
            y, x0 = windows[k]
            logit_drop[i, y : y + ph, x0 : x0 + pw] += base[i, idx] - l
            prob_drop[i, y : y + ph, x0 : x0 + pw] += base_prob[i, idx] - p
        return {"maps": (logit_drop / count).astype(np.float32), "prob_maps": (prob_drop / count).astype(np.float32),
                "base_logit": base[:, idx] if n else np.zeros(0), "base_prob": base_prob[:, idx] if n else np.zeros(0)}

    # keyed by the fill's content, so any fill (a callable's output, a seeded shuffle) is addressed exactly
    got = cached("occlusion", (model_identity(adapter), inputs.images, idx, (ph, pw), (sh, sw), content), compute)
    return OcclusionResult(
        maps=got["maps"], signed=got["maps"],
        layer=f"input (patch {ph}x{pw}, stride {sh}x{sw}, fill '{fills[0].name}')",
        prob_maps=got["prob_maps"], base_logit=got["base_logit"], base_prob=got["base_prob"],
        target=idx, target_name=adapter.class_name(idx), patch=(ph, pw), stride=(sh, sw), fill=fills[0].name,
        windows=len(ys) * len(xs), inputs=inputs, x_model=x, fill_content=np.asarray(content, np.float32),
        span=input_span(adapter), seed=seed,
    )


def _window_logits(adapter: ModelAdapter, x: np.ndarray, content: np.ndarray, ys: list[int], xs: list[int],
                   patch: tuple[int, int], batch_size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per image, the logits of every class on the image and on each window variant ([K], [windows, K]).

    Kept per image for the session, keyed by the image's and its fill's content: the honesty checks' maps of
    the first images and of the other classes are the same windows, so they cost no pass."""
    ph, pw = patch
    ident = model_identity(adapter)
    keys = [("occlusion_windows", ident, array_digest(x[i]), array_digest(content[i]), patch, tuple(ys), tuple(xs))
            for i in range(len(x))]
    found = [SESSION_CACHE.recall(k) for k in keys]
    todo = [i for i, f in enumerate(found) if f is None]
    if not todo:
        return found
    rows, cols = np.arange(x.shape[1])[None, :, None], np.arange(x.shape[2])[None, None, :]

    def batch(chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ii, y0, c0 = chunk[:, 0], chunk[:, 1, None, None], chunk[:, 2, None, None]
        inside = (rows >= y0) & (rows < y0 + ph) & (cols >= c0) & (cols < c0 + pw)
        return x[ii], content[ii], inside[..., None]

    jobs = np.array([(i, y, x0) for i in todo for y in ys for x0 in xs], dtype=np.int32).reshape(-1, 3)
    base = adapter.logits(x[todo], preprocessed=True, batch_size=batch_size)
    # padded to the fixed batch size: one traced shape for every batch
    lg = masked_logits(adapter, jobs, batch, batch_size=batch_size, pad=True)
    per = len(ys) * len(xs)
    for j, i in enumerate(todo):
        found[i] = (base[j], lg[j * per : (j + 1) * per])
        SESSION_CACHE.keep(keys[i], found[i])
    return found


def fill_removal(result: OcclusionResult, masks: np.ndarray) -> Removal | None:
    """Whether the occlusion fill removes the content of region `masks` [N, H, W] (model input size): a fill
    like what is there (the set's mean over snow) cannot show that the region matters, nor that it does not."""
    if result.x_model is None or result.fill_content is None or not len(result.x_model):
        return None
    return RemovalJudge(result.x_model, masks, seed=result.seed, span=result.span).judge(result.fill_content)
