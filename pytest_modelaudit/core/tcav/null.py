"""The pseudo-concept null: every random set scored with the concept's own procedure (its CAVs against the
other random sets), from one random-vs-random pair matrix per (model, layer, class), shared by every claim
of the session; and the pseudo-contrasts that are the null of a k-sibling contrast."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from ..cache.disk import model_identity
from ..cache.memory import ArrayCache
from ..model.adapter import ModelAdapter
from ..seeds import derived_seed
from .cav import directional_derivatives, gram, one_blas_thread, train_cav

REFERENCE_MAX_PAIRS = 100  # tensorflow/tcav pairs each set with at most 100 random sets


def baseline_pairs(names: list[str], mode: str, seed: int) -> list[tuple[int, int]]:
    """Random-vs-random runs: the reference's enumeration, or one run per random set against a seeded partner."""
    r = len(names)
    if mode == "tcav-reference":
        return [(i, j) for i in range(r) for j in [k for k in range(r) if k != i][:REFERENCE_MAX_PAIRS]]
    rng = np.random.default_rng(derived_seed(seed, "baseline", *names))
    shift = int(rng.integers(1, r))
    return [((j + shift) % r, j) for j in range(r)]


# Random-pair CAVs do not depend on the class: kept in this process (bounded) so that every class audited at a
# layer reuses them; only the small score matrix goes to the session cache. D-sized vectors stay off the disk.
_PAIR_CAVS: OrderedDict[tuple[Any, ...], tuple[np.ndarray, np.ndarray]] = OrderedDict()
PAIR_CAV_MEMO_BYTES = 256 * 2**20


def pair_cavs(adapter: ModelAdapter, layer: str, racts: list[np.ndarray], rhash: list[str], names: list[str], *,
               seed: int, pooling: str | None) -> tuple[np.ndarray, np.ndarray]:
    """[D, R(R-1)/2] unit CAVs of random_i vs random_j (i < j; j vs i is the exact negation) and their accuracies."""
    key = (model_identity(adapter), layer, pooling, seed, *rhash)
    if key in _PAIR_CAVS:
        _PAIR_CAVS.move_to_end(key)
        return _PAIR_CAVS[key]
    r = len(racts)
    with one_blas_thread():
        grams = [gram(a) for a in racts]
        cavs = [train_cav(racts[i], racts[j], concept=names[i], negative=names[j], mode="default",
                          seed=derived_seed(seed, "default", layer, rhash[i], rhash[j]), pos_gram=grams[i],
                          neg_gram=grams[j])
                for i in range(r) for j in range(i + 1, r)]
    value = (np.stack([c.vector for c in cavs], 1).astype(np.float32), np.array([c.accuracy for c in cavs]))
    _PAIR_CAVS[key] = value
    while sum(v[0].nbytes for v in _PAIR_CAVS.values()) > PAIR_CAV_MEMO_BYTES and len(_PAIR_CAVS) > 1:
        _PAIR_CAVS.popitem(last=False)
    return value


def pair_matrix(adapter: ModelAdapter, layer: str, grads: np.ndarray, racts: list[np.ndarray], rhash: list[str],
                names: list[str], *, seed: int, pooling: str | None, score: str, target: int, target_hash: str,
                cache: ArrayCache) -> np.ndarray:
    """[4, R, R]: TCAV score of CAV(random_i vs random_j), its held-out accuracy, 1 where the run puts every
    target image on one side, and the mean directional derivative along the unit CAV (NaN diagonal).
    Depends only on (model, layer, class, pooling, random sets, seed): computed once and shared by every
    claim of the session."""
    key = ("baseline", model_identity(adapter), layer, pooling, "default", "pairs+magnitudes", seed, score, target,
           target_hash, *rhash)
    hit = cache.get(key)
    if hit is not None:
        return np.asarray(hit)
    vectors, accs = pair_cavs(adapter, layer, racts, rhash, names, seed=seed, pooling=pooling)
    dd = directional_derivatives(grads, vectors)
    pos, neg = (dd > 0).sum(axis=0), (dd < 0).sum(axis=0)
    r = len(racts)
    mean_dd = dd.mean(axis=0)
    out = np.full((4, r, r), np.nan)
    upper = [(i, j) for i in range(r) for j in range(i + 1, r)]
    for n, (i, j) in enumerate(upper):
        out[0, i, j], out[0, j, i] = pos[n] / len(dd), neg[n] / len(dd)  # the negated CAV flips every sign
        out[1, i, j] = out[1, j, i] = accs[n]
        out[2, i, j] = out[2, j, i] = float(pos[n] == 0 or neg[n] == 0)
        out[3, i, j], out[3, j, i] = mean_dd[n], -mean_dd[n]
    cache.put(key, out)
    return out


def pseudo_concepts(scores: np.ndarray) -> np.ndarray:
    """[P] each random set's mean score over its runs against the other random sets, as the concept's mean is."""
    return np.nanmean(scores, axis=1)


def pseudo_contrasts(scores: np.ndarray, k: int, seed: int, names: list[str]) -> np.ndarray:
    """[P] random set i's mean score against k other random sets (seeded choice): the null of a k-sibling contrast."""
    r = len(scores)
    rng = np.random.default_rng(derived_seed(seed, "contrast", k, *names))
    out = np.empty(r)
    for i in range(r):
        others = np.array([j for j in range(r) if j != i])
        out[i] = scores[i, rng.choice(others, size=k, replace=False)].mean()
    return out


def reference_null(scores: np.ndarray, pairs: list[tuple[int, int]], r: int) -> np.ndarray:
    """Pseudo-concept means from the reference's own baseline runs (display only: the reference tests with Student)."""
    firsts = np.array([i for i, _ in pairs])
    return np.array([scores[firsts == i].mean() if (firsts == i).any() else np.nan for i in range(r)])
