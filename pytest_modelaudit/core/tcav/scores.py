"""TCAV: the fraction of target images whose target-logit gradient points along the concept's CAV.

Gradients are computed once per (model, layer, class, image set) in batched traced passes; every CAV
is then scored from them with one matrix product. Activations, gradients, CAVs and the
random-vs-random pair matrix live in the session cache (memory, then disk: core/cache/disk.py) keyed by
the model's identity and image content, so claims sharing a random pool share the baseline.

The default null treats every random set as a pseudo-concept scored with the concept's own procedure
(its CAVs against the other random sets): the concept set is fixed across runs, so its mean score is
compared with the spread of other fixed sets' mean scores (tcav_stats.prediction_test), not with the
runs' standard error. A layer whose target gradient points the same way for every image is reported
as not informative: TCAV there only measures the sign of <class weights, CAV>.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import ModelAuditError
from ..cache.disk import image_digest, model_identity
from ..cache.memory import SESSION_CACHE, ArrayCache
from ..data.concepts import ConceptError, ConceptLibrary
from ..data.inputs import as_image_set, prepare
from ..model.adapter import ModelAdapter
from .cav import cached_cav, directional_derivatives, one_blas_thread, tcav_scores
from .informative import gradient_variation, informativeness
from .null import REFERENCE_MAX_PAIRS, baseline_pairs, pair_matrix, pseudo_concepts, pseudo_contrasts, reference_null

MODES = ("default", "tcav-reference")
POOLINGS = (None, "mean")
_EMPTY = np.zeros(0)


@dataclass
class LayerTCAV:
    """One layer's runs: the concept against each random set, the random-vs-random baseline, the
    pseudo-concept null and, with `contrast`, the concept against each sibling concept."""

    layer: str
    dims: int
    concept_scores: np.ndarray  # [R] TCAV score per run
    concept_magnitudes: np.ndarray  # [R] mean directional derivative per run (unit CAV in default mode)
    concept_accuracies: np.ndarray  # [R] held-out CAV accuracy per run
    random_scores: np.ndarray  # [B] baseline runs (display; the reference's test)
    random_accuracies: np.ndarray  # [B]
    pairs: list[tuple[str, str]]
    random_pairs: list[tuple[str, str]]
    gradient_variation: float = float("nan")  # 1 - |mean unit gradient|^2 over images with a non-zero gradient
    informative: bool = True
    informative_reason: str = ""  # why not, when not
    zero_derivatives: float = 0.0  # share of the concept's directional derivatives that are exactly 0
    null_scores: np.ndarray = field(default_factory=lambda: _EMPTY)  # [P] pseudo-concept mean scores
    null_magnitudes: np.ndarray = field(default_factory=lambda: _EMPTY)  # [P] their mean directional derivatives
    one_sided_share: float = float("nan")  # share of random-vs-random runs putting every target image on one side
    contrast: list[str] = field(default_factory=list)  # sibling concepts
    contrast_scores: np.ndarray = field(default_factory=lambda: _EMPTY)  # [k] score along CAV(concept vs sibling)
    contrast_accuracies: np.ndarray = field(default_factory=lambda: _EMPTY)  # [k]
    contrast_null: np.ndarray = field(default_factory=lambda: _EMPTY)  # [P] random set i vs k other random sets
    contrast_magnitudes: np.ndarray = field(default_factory=lambda: _EMPTY)  # [k] mean directional derivatives
    contrast_null_magnitudes: np.ndarray = field(default_factory=lambda: _EMPTY)  # [P] the same for pseudo-contrasts
    contrast_zero_derivatives: float = 0.0  # share of the contrast CAVs' directional derivatives that are exactly 0


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
    contrast: list[str] = field(default_factory=list)
    n_contrast: list[int] = field(default_factory=list)
    target_share: float = float("nan")  # share of the target images the model assigns to the target class
    target_prob: float = float("nan")  # their mean P(target)

    @property
    def sign_convention(self) -> str:
        if self.mode == "tcav-reference":
            return ("tensorflow/tcav 0.2.2: gradient of the cross-entropy loss (= minus the gradient of the target's "
                    "log-softmax); an image counts when its loss-gradient . CAV < 0 (CAV = -coef_, not normalised)")
        return "gradient of the target logit; an image counts when its directional derivative along the unit CAV is > 0"


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
    h = image_digest(images)
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
    h = image_digest(images)
    keys = [("grads", model_identity(adapter), layer, pooling, score, target, h) for layer in layers]
    found = [cache.get(k) for k in keys]
    missing = [layer for layer, f in zip(layers, found) if f is None]
    if missing:
        logits, acts, grads = adapter.capture(images, missing, target, score=score)
        _fit_from_logits(adapter, logits, target, h, cache)  # the target share comes free with the pass
        for layer, a, g in zip(missing, acts, grads):
            i = list(layers).index(layer)
            found[i] = _pool_grad(g, pooling).astype(np.float32)
            cache.put(keys[i], found[i])
            cache.put(("acts", model_identity(adapter), layer, pooling, h), _pool(a, pooling).astype(np.float32))
    return found  # type: ignore[return-value]


def _fit_from_logits(adapter: ModelAdapter, logits: np.ndarray, target: int, images_hash: str,
                     cache: ArrayCache) -> np.ndarray:
    p = adapter.probabilities(np.asarray(logits))
    found = np.array([float((p.argmax(-1) == target).mean()), float(p[:, target].mean())], np.float64)
    cache.put(("target_fit", model_identity(adapter), target, images_hash), found)
    return found


def target_fit(adapter: ModelAdapter, images: np.ndarray, target: int, images_hash: str,
               cache: ArrayCache) -> tuple[float, float]:
    """Share of the target images classified as the target, and their mean P(target): from the gradient pass's
    logits when it ran, else one forward pass; cached."""
    found = cache.get(("target_fit", model_identity(adapter), target, images_hash))
    if found is None:
        found = _fit_from_logits(adapter, adapter.logits(images), target, images_hash, cache)
    return float(found[0]), float(found[1])


def layer_informativeness(adapter: ModelAdapter, layer: str, g: np.ndarray, target: int, target_name: str,
                          key: tuple[Any, ...], cache: ArrayCache) -> tuple[float, bool, str]:
    """informativeness() of a layer for a class, its gradient variation computed once per target set."""
    vkey = ("grad_variation", model_identity(adapter), layer, target, *key)
    hit = cache.get(vkey)
    if hit is None:
        hit = np.array([gradient_variation(g)])
        cache.put(vkey, hit)
    return informativeness(adapter, layer, g, target_name, variation=float(hit[0]))


def _target_set(adapter: ModelAdapter, concepts: ConceptLibrary, target_name: str, target_images: Any,
                size: tuple[int, int]) -> tuple[np.ndarray, str]:
    """The target images (default: the concept root's folder named after the class) and where they came from."""
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
    return timgs, tset.source


def _random_names(concepts: ConceptLibrary, concept: str, runs: int | None) -> list[str]:
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
    return randoms


def _siblings(contrast: Sequence[str] | str | None, concept: str, concepts: ConceptLibrary, randoms: list[str],
              mode: str) -> list[str]:
    """The contrast's sibling concept names, checked (folders are checked when their images are read)."""
    if contrast is None:
        return []
    names = [contrast] if isinstance(contrast, str) else list(contrast)
    if not names:
        raise ModelAuditError("contrast=[] names no sibling concept; pass e.g. contrast=['ears', 'leaf'] or None.")
    if mode == "tcav-reference":
        raise ModelAuditError("contrast= is not available with mode='tcav-reference' (it reproduces tensorflow/tcav's "
                              "random-baseline experiments only).")
    for name in names:
        if not isinstance(name, str):
            raise ModelAuditError(f"contrast names concept folders by name; got {name!r}.")
        if name == concept:
            raise ModelAuditError(f"contrast lists the concept '{concept}' itself; name its siblings only.")
        if name.startswith(concepts.random_prefix):
            raise ModelAuditError(f"contrast lists the random set '{name}'; random sets form the null, name sibling "
                                  "concepts only.")
    if len(set(names)) != len(names):
        raise ModelAuditError(f"contrast lists a sibling twice: {names!r}.")
    if len(names) > len(randoms) - 1:
        raise ConceptError(f"contrast has {len(names)} sibling(s); its null needs at least {len(names) + 1} random "
                           f"sets, but {concepts.where!r} has {len(randoms)}.")
    return names


@dataclass
class _Sets:
    """Everything one claim scores, as model-ready images and content digests."""

    target: np.ndarray
    target_hash: str
    concept: np.ndarray
    concept_hash: str
    randoms: list[np.ndarray]
    random_hashes: list[str]
    siblings: list[np.ndarray]
    sibling_hashes: list[str]


def _layer_result(adapter: ModelAdapter, li: int, layer: str, g: np.ndarray, sets: _Sets, acts: dict[str, Any],
                  names: dict[str, Any], *, target: int, target_name: str, mode: str, pooling: str | None,
                  score: str, seed: int, cache: ArrayCache) -> LayerTCAV:
    """One layer: the concept's runs, the random baseline, the pseudo-concept null and the contrast."""
    concept, randoms, siblings = names["concept"], names["randoms"], names["siblings"]
    cacts, racts = acts["concept"][li], [a[li] for a in acts["randoms"]]
    partners = list(range(len(randoms)))[: REFERENCE_MAX_PAIRS if mode == "tcav-reference" else None]
    sign = -1.0 if mode == "tcav-reference" else 1.0
    with one_blas_thread():
        cavs = [cached_cav(adapter, layer, concept, cacts, sets.concept_hash, randoms[j], racts[j],
                           sets.random_hashes[j], seed=seed, mode=mode, pooling=pooling, cache=cache)
                for j in partners]
    dd = directional_derivatives(sign * g, np.stack([c.vector for c in cavs], 1))
    baseline = baseline_pairs(randoms, mode, seed)
    variation, informative, why = layer_informativeness(adapter, layer, g, target, target_name,
                                                        (pooling, score, sets.target_hash), cache)
    out = LayerTCAV(
        layer=layer, dims=int(g.shape[1]), concept_scores=tcav_scores(dd, mode), concept_magnitudes=dd.mean(axis=0),
        concept_accuracies=np.array([c.accuracy for c in cavs]), random_scores=_EMPTY, random_accuracies=_EMPTY,
        pairs=[(concept, randoms[j]) for j in partners], random_pairs=[(randoms[i], randoms[j]) for i, j in baseline],
        gradient_variation=variation, informative=informative, informative_reason=why,
        zero_derivatives=float(np.mean(dd == 0)),
    )
    if mode == "tcav-reference":
        bkey = ("baseline", model_identity(adapter), layer, pooling, mode, seed, score, target, sets.target_hash,
                *sets.random_hashes)
        hit = cache.get(bkey)
        if hit is None:
            bcavs = [cached_cav(adapter, layer, randoms[i], racts[i], sets.random_hashes[i], randoms[j], racts[j],
                          sets.random_hashes[j], seed=seed, mode=mode, pooling=pooling, cache=cache)
                     for i, j in baseline]
            bdd = directional_derivatives(sign * g, np.stack([c.vector for c in bcavs], 1))
            hit = np.stack([tcav_scores(bdd, mode), [c.accuracy for c in bcavs]])
            cache.put(bkey, hit)
        out.random_scores, out.random_accuracies = np.asarray(hit[0]), np.asarray(hit[1])
        out.null_scores = reference_null(out.random_scores, baseline, len(randoms))
        return out
    m = pair_matrix(adapter, layer, g, racts, sets.random_hashes, randoms, seed=seed, pooling=pooling, score=score,
                    target=target, target_hash=sets.target_hash, cache=cache)
    out.random_scores = np.array([m[0, i, j] for i, j in baseline])
    out.random_accuracies = np.array([m[1, i, j] for i, j in baseline])
    out.null_scores = pseudo_concepts(m[0])
    out.null_magnitudes = pseudo_concepts(m[3])
    out.one_sided_share = float(np.nanmean(m[2]))
    if siblings:
        with one_blas_thread():
            ccavs = [cached_cav(adapter, layer, concept, cacts, sets.concept_hash, s, acts["siblings"][k][li],
                                sets.sibling_hashes[k], seed=seed, mode=mode, pooling=pooling, cache=cache)
                     for k, s in enumerate(siblings)]
        cdd = directional_derivatives(g, np.stack([c.vector for c in ccavs], 1))
        out.contrast = list(siblings)
        out.contrast_scores = tcav_scores(cdd, mode)
        out.contrast_accuracies = np.array([c.accuracy for c in ccavs])
        out.contrast_null = pseudo_contrasts(m[0], len(siblings), seed, randoms)
        out.contrast_magnitudes = cdd.mean(axis=0)
        out.contrast_null_magnitudes = pseudo_contrasts(m[3], len(siblings), seed, randoms)
        out.contrast_zero_derivatives = float(np.mean(cdd == 0))
    return out


def tcav(adapter: ModelAdapter, target: str | int, concept: str, *, layers: Sequence[str],
         concepts: ConceptLibrary, target_images: Any = None, runs: int | None = None,
         pooling: str | None = None, mode: str = "default", seed: int = 0,
         contrast: Sequence[str] | None = None, cache: ArrayCache = SESSION_CACHE) -> TCAVResult:
    """TCAV of `concept` for class `target` at each layer: against `runs` random sets, the random baseline and
    the pseudo-concept null, and (with `contrast`, sibling concept names) against each sibling."""
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
    timgs, source = _target_set(adapter, concepts, target_name, target_images, size)
    randoms = _random_names(concepts, concept, runs)
    siblings = _siblings(contrast, concept, concepts, randoms, mode)
    cimgs = prepare(adapter, concepts.images(concept, size)).images
    rimgs = [prepare(adapter, concepts.images(r, size)).images for r in randoms]
    simgs = [prepare(adapter, concepts.images(s, size)).images for s in siblings]
    score = "log_softmax" if mode == "tcav-reference" else "logit"

    grads = target_gradients(adapter, timgs, paths, idx, score, pooling, cache)
    acts = {"concept": set_activations(adapter, cimgs, paths, pooling, cache),
            "randoms": [set_activations(adapter, r, paths, pooling, cache) for r in rimgs],
            "siblings": [set_activations(adapter, s, paths, pooling, cache) for s in simgs]}
    sets = _Sets(timgs, image_digest(timgs), cimgs, image_digest(cimgs), rimgs, [image_digest(r) for r in rimgs],
                 simgs, [image_digest(s) for s in simgs])
    names = {"concept": concept, "randoms": randoms, "siblings": siblings}
    share, prob = target_fit(adapter, timgs, idx, sets.target_hash, cache)
    out = [_layer_result(adapter, li, layer, grads[li], sets, acts, names, target=idx, target_name=target_name,
                         mode=mode, pooling=pooling, score=score, seed=seed, cache=cache)
           for li, layer in enumerate(paths)]
    return TCAVResult(
        target=idx, target_name=target_name, concept=concept, mode=mode, pooling=pooling,
        score="log-softmax (tcav-reference)" if mode == "tcav-reference" else "logit",
        layers=out, n_target=len(timgs), n_concept=len(cimgs), random_sets=randoms,
        n_random=[len(r) for r in rimgs], target_source=source, concept_images=cimgs[:6], seed=seed,
        contrast=siblings, n_contrast=[len(s) for s in simgs], target_share=share, target_prob=prob,
    )
