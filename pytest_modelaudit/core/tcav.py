"""TCAV: the fraction of target images whose target-logit gradient points along the concept's CAV.

Gradients are computed once per (model, layer, class, image set) in batched traced passes; every CAV
is then scored from them with one matrix product. Activations, gradients, CAVs and the
random-vs-random baseline live in the session cache (memory, then disk: disk_cache.py) keyed by the
model's identity and image content, so claims sharing a random pool share the baseline.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .adapter import ModelAdapter
from .cache import SESSION_CACHE, ArrayCache
from .disk_cache import model_identity
from .cav import CAV, train_cav
from .concepts import ConceptError, ConceptLibrary
from .errors import ModelAuditError
from .inputs import as_image_set, prepare

MODES = ("default", "tcav-reference")
POOLINGS = (None, "mean")
REFERENCE_MAX_PAIRS = 100  # tensorflow/tcav pairs each set with at most 100 random sets


@dataclass
class LayerTCAV:
    """One layer's runs: the concept against each random set, and the random-vs-random baseline."""

    layer: str
    dims: int
    concept_scores: np.ndarray  # [R] TCAV score per run
    concept_magnitudes: np.ndarray  # [R] mean directional derivative per run (unit CAV in default mode)
    concept_accuracies: np.ndarray  # [R] held-out CAV accuracy per run
    random_scores: np.ndarray  # [B] baseline runs
    random_accuracies: np.ndarray  # [B]
    pairs: list[tuple[str, str]]
    random_pairs: list[tuple[str, str]]


@dataclass
class TCAVResult:
    target: int
    target_name: str
    concept: str
    mode: str
    pooling: str | None
    score: str  # which output the gradient is taken of
    layers: list[LayerTCAV]
    n_target: int
    n_concept: int
    random_sets: list[str]
    n_random: list[int]
    target_source: str
    concept_images: np.ndarray = field(repr=False)  # a few thumbnails' worth, [0, 1]
    seed: int = 0

    @property
    def sign_convention(self) -> str:
        if self.mode == "tcav-reference":
            return ("tensorflow/tcav 0.2.2: gradient of the cross-entropy loss (= minus the gradient of the target's "
                    "log-softmax); an image counts when its loss-gradient . CAV < 0 (CAV = -coef_, not normalised)")
        return "gradient of the target logit; an image counts when its directional derivative along the unit CAV is > 0"


_DIGESTS: dict[int, tuple[Any, str]] = {}


def _hash_images(images: np.ndarray) -> str:
    """Content digest of an image set, memoised per array object (sets are hashed once, not per claim)."""
    import weakref

    memo = _DIGESTS.get(id(images))
    if memo is not None and memo[0]() is images:
        return memo[1]
    digest = hashlib.blake2b(np.ascontiguousarray(images, np.float32).tobytes(), digest_size=12).hexdigest()
    try:
        _DIGESTS[id(images)] = (weakref.ref(images), digest)
    except TypeError:  # not weak-referenceable: just don't memoise
        pass
    return digest


def _pool(a: np.ndarray, pooling: str | None) -> np.ndarray:
    if pooling == "mean" and a.ndim == 4:
        return a.mean(axis=(1, 2))
    return a.reshape(len(a), -1)


def _pool_grad(g: np.ndarray, pooling: str | None) -> np.ndarray:
    # moving every position along v moves the pooled activation along v: the derivative sums over positions
    if pooling == "mean" and g.ndim == 4:
        return g.sum(axis=(1, 2))
    return g.reshape(len(g), -1)


def set_activations(adapter: ModelAdapter, images: np.ndarray, layers: Sequence[str], pooling: str | None,
                    cache: ArrayCache) -> list[np.ndarray]:
    """Flattened (or mean-pooled) activations of an image set at each layer, once per content."""
    h = _hash_images(images)
    keys = [("acts", model_identity(adapter), layer, pooling, h) for layer in layers]
    found = [cache.get(k) for k in keys]
    missing = [layer for layer, f in zip(layers, found) if f is None]
    if missing:
        computed = dict(zip(missing, adapter.activations(images, missing)))
        for i, layer in enumerate(layers):
            if found[i] is None:
                found[i] = _pool(computed[layer], pooling).astype(np.float32)
                cache.put(keys[i], found[i])
    return found  # type: ignore[return-value]


def target_gradients(adapter: ModelAdapter, images: np.ndarray, layers: Sequence[str], target: int, score: str,
                     pooling: str | None, cache: ArrayCache) -> list[np.ndarray]:
    """d(target score)/d(activation) per image at each layer: one batched forward+backward for all layers."""
    h = _hash_images(images)
    keys = [("grads", model_identity(adapter), layer, pooling, score, target, h) for layer in layers]
    found = [cache.get(k) for k in keys]
    missing = [layer for layer, f in zip(layers, found) if f is None]
    if missing:
        _, acts, grads = adapter.capture(images, missing, target, score=score)
        for layer, a, g in zip(missing, acts, grads):
            i = list(layers).index(layer)
            found[i] = _pool_grad(g, pooling).astype(np.float32)
            cache.put(keys[i], found[i])
            cache.put(("acts", model_identity(adapter), layer, pooling, h), _pool(a, pooling).astype(np.float32))
    return found  # type: ignore[return-value]


def directional_derivatives(grads: np.ndarray, cavs: np.ndarray) -> np.ndarray:
    """[N, D] gradients x [D, P] CAVs -> [N, P] directional derivatives: every CAV in one product."""
    return np.asarray(grads, np.float64) @ np.asarray(cavs, np.float64)


def tcav_scores(dd: np.ndarray, mode: str = "default") -> np.ndarray:
    """Fraction of images counted per CAV; the reference counts negative loss-gradient products."""
    return (dd < 0).mean(axis=0) if mode == "tcav-reference" else (dd > 0).mean(axis=0)


def _seed(root: int, *parts: Any) -> int:
    digest = hashlib.sha256(":".join(map(str, (root, *parts))).encode()).digest()
    return int.from_bytes(digest[:8], "little")


def _cav(adapter: ModelAdapter, layer: str, pos_name: str, pos: np.ndarray, pos_hash: str, neg_name: str,
         neg: np.ndarray, neg_hash: str, *, seed: int, mode: str, pooling: str | None, cache: ArrayCache) -> CAV:
    key = ("cav", model_identity(adapter), layer, pooling, mode, seed, pos_hash, neg_hash)
    hit = cache.get(key)
    if hit is not None:
        return CAV(pos_name, neg_name, hit[:-1], float(hit[-1]), {"overall": float(hit[-1])})
    cav = train_cav(pos, neg, concept=pos_name, negative=neg_name, mode=mode,
                    seed=_seed(seed, mode, layer, pos_hash, neg_hash))
    cache.put(key, np.concatenate([cav.vector, [cav.accuracy]]).astype(np.float32))
    return cav


def _baseline_pairs(names: list[str], mode: str, seed: int) -> list[tuple[int, int]]:
    """Random-vs-random runs: the reference's enumeration, or one run per random set against a seeded partner."""
    r = len(names)
    if mode == "tcav-reference":
        return [(i, j) for i in range(r) for j in [k for k in range(r) if k != i][:REFERENCE_MAX_PAIRS]]
    rng = np.random.default_rng(_seed(seed, "baseline", *names))
    shift = int(rng.integers(1, r))
    return [((j + shift) % r, j) for j in range(r)]


def tcav(adapter: ModelAdapter, target: str | int, concept: str, *, layers: Sequence[str],
         concepts: ConceptLibrary, target_images: Any = None, runs: int | None = None,
         pooling: str | None = None, mode: str = "default", seed: int = 0,
         cache: ArrayCache = SESSION_CACHE) -> TCAVResult:
    """TCAV of `concept` for class `target` at each layer, against runs random sets and the random baseline."""
    if mode not in MODES:
        raise ModelAuditError(f"Unknown TCAV mode {mode!r}; expected one of {', '.join(map(repr, MODES))}.")
    if pooling not in POOLINGS:
        raise ModelAuditError(f"Unknown pooling {pooling!r}; expected None (flatten) or 'mean' (spatial mean).")
    if not layers:
        raise ModelAuditError("TCAV needs at least one layer, e.g. layers=['conv3'].")
    idx = adapter.class_index(target)
    target_name = adapter.class_name(idx)
    paths = [adapter.resolve(layer) for layer in layers]
    size = adapter.input_shape[:2]
    if target_images is None:
        try:
            tset = concepts.images(target_name, size)
        except ConceptError as exc:
            raise ConceptError(f"{exc} (target images default to the concept root's folder named after the class "
                               f"'{target_name}'; pass images=... to use others)") from None
    else:
        tset = as_image_set(target_images)
    timgs = prepare(adapter, tset).images
    if len(timgs) < concepts.min_images:
        raise ConceptError(f"Target image set {tset.source!r} has {len(timgs)} image(s); at least "
                           f"{concepts.min_images} are needed.")
    randoms = concepts.random_sets
    if concept.startswith(concepts.random_prefix):
        randoms = [r for r in randoms if r != concept]
    if runs is not None:
        if runs < 2:
            raise ModelAuditError(f"runs must be at least 2 random sets, got {runs}.")
        randoms = randoms[:runs]
    if len(randoms) < 2:
        raise ConceptError(f"Concept root {concepts.where!r} has {len(randoms)} random folder(s) named "
                           f"'{concepts.random_prefix}N'; at least 2 are needed (10-20 or more for stable tests).")
    if runs is not None and len(randoms) < runs:
        raise ConceptError(f"runs={runs} but concept root {concepts.where!r} has only {len(randoms)} random folders.")
    cimgs = prepare(adapter, concepts.images(concept, size)).images
    rimgs = [prepare(adapter, concepts.images(r, size)).images for r in randoms]
    score = "log_softmax" if mode == "tcav-reference" else "logit"

    grads = target_gradients(adapter, timgs, paths, idx, score, pooling, cache)
    cacts = set_activations(adapter, cimgs, paths, pooling, cache)
    racts = [set_activations(adapter, r, paths, pooling, cache) for r in rimgs]
    chash = _hash_images(cimgs)
    rhash = [_hash_images(r) for r in rimgs]
    concept_partners = list(range(len(randoms)))[: REFERENCE_MAX_PAIRS if mode == "tcav-reference" else None]
    baseline = _baseline_pairs(randoms, mode, seed)
    out = []
    for li, layer in enumerate(paths):
        g = grads[li]
        cavs = [_cav(adapter, layer, concept, cacts[li], chash, randoms[j], racts[j][li], rhash[j], seed=seed,
                     mode=mode, pooling=pooling, cache=cache) for j in concept_partners]
        dd = directional_derivatives(-g if mode == "tcav-reference" else g, np.stack([c.vector for c in cavs], 1))
        bkey = ("baseline", model_identity(adapter), layer, pooling, mode, seed, score, idx, _hash_images(timgs), *rhash)
        hit = cache.get(bkey)
        if hit is None:
            bcavs = [_cav(adapter, layer, randoms[i], racts[i][li], rhash[i], randoms[j], racts[j][li], rhash[j],
                          seed=seed, mode=mode, pooling=pooling, cache=cache) for i, j in baseline]
            bdd = directional_derivatives(-g if mode == "tcav-reference" else g, np.stack([c.vector for c in bcavs], 1))
            hit = np.stack([tcav_scores(bdd, mode), [c.accuracy for c in bcavs]])
            cache.put(bkey, hit)
        out.append(LayerTCAV(
            layer=layer, dims=int(g.shape[1]),
            concept_scores=tcav_scores(dd, mode), concept_magnitudes=dd.mean(axis=0),
            concept_accuracies=np.array([c.accuracy for c in cavs]),
            random_scores=np.asarray(hit[0]), random_accuracies=np.asarray(hit[1]),
            pairs=[(concept, randoms[j]) for j in concept_partners],
            random_pairs=[(randoms[i], randoms[j]) for i, j in baseline],
        ))
    return TCAVResult(
        target=idx, target_name=target_name, concept=concept, mode=mode, pooling=pooling,
        score="log-softmax (tcav-reference)" if mode == "tcav-reference" else "logit",
        layers=out, n_target=len(timgs), n_concept=len(cimgs), random_sets=randoms,
        n_random=[len(r) for r in rimgs], target_source=tset.source, concept_images=cimgs[:6], seed=seed,
    )
