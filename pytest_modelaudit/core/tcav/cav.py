"""Concept activation vectors: a linear classifier, concept vs one random set, with held-out accuracy.

Default estimator: a ridge (regularised least-squares) classifier solved in closed form in its dual,
an n x n system: no SGD randomness or convergence tolerance (exactly reproducible), and fast when the
flattened activations have far more dimensions than there are images. The penalty is strong on
purpose: as it grows the ridge direction tends to the difference of the class means (the pattern /
FastCAV direction), which follows the concept, while a weakly penalised, separability-optimised
direction picks up distractors that merely separate the concept from the random images (Pahde et
al., ICLR 2025; Schmalwasser et al., ICML 2025). The example's recolouring ground truth shows it: with
a penalty of 0.01 two of the three starter verdicts came out wrong, with 1.0 all three are right.
The CAV is the unit normal.
`mode="tcav-reference"` instead reproduces tensorflow/tcav 0.2.2: SGDClassifier(alpha=0.01,
max_iter=1000, tol=1e-3), concept labelled 0, CAV = -coef_, not normalised.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from ..cache.disk import model_identity
from ..cache.memory import ArrayCache
from ..model.adapter import ModelAdapter
from ..seeds import derived_seed

TEST_FRACTION = 0.33
RIDGE = 1.0  # ridge penalty, relative to the mean squared norm of the centred activations (see above)


@dataclass
class CAV:
    concept: str
    negative: str
    vector: np.ndarray  # [D]
    accuracy: float  # overall held-out accuracy
    accuracies: dict[str, float]  # held-out accuracy per side and overall


def split(n: int, rng: np.random.Generator, test_fraction: float = TEST_FRACTION) -> tuple[np.ndarray, np.ndarray]:
    """A seeded train/test split of n items with at least one item on each side."""
    order = rng.permutation(n)
    n_test = min(n - 1, max(1, int(round(n * test_fraction))))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def _accuracies(pos_ok: np.ndarray, neg_ok: np.ndarray, concept: str, negative: str) -> dict[str, float]:
    total = len(pos_ok) + len(neg_ok)
    return {concept: float(pos_ok.mean()), negative: float(neg_ok.mean()),
            "overall": float((pos_ok.sum() + neg_ok.sum()) / total)}


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """CAV fits multiply a few dozen rows by tens of thousands of columns, a shape where BLAS threads mostly
    wait for each other: on a shared 2-core machine (xdist workers, TensorFlow's own threads) a threaded
    product took 10-20x longer than one thread, which is as fast when the cores are free."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def gram(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Inner products of the rows of two sets of flattened activations (of a with itself when b is None)."""
    a = np.asarray(a, np.float32).reshape(len(a), -1)
    b = a if b is None else np.asarray(b, np.float32).reshape(len(b), -1)
    return (a @ b.T).astype(np.float64)


def train_cav(pos: np.ndarray, neg: np.ndarray, *, concept: str, negative: str, seed: int,
              mode: str = "default", pos_gram: np.ndarray | None = None, neg_gram: np.ndarray | None = None) -> CAV:
    """Fit concept-vs-negative on flattened activations; both sets truncated to the smaller size.

    The default estimator is solved entirely from inner products: each set's own Gram matrix (pos_gram, neg_gram:
    computed here when not given, shared by every CAV of that set when given) and the pos x neg block, so a CAV
    costs one cross product and one combination of the rows, with no centred copy of the activations."""
    n = min(len(pos), len(neg))
    rng = np.random.default_rng(seed)
    pos = np.asarray(pos, np.float32).reshape(len(pos), -1)[:n]
    neg = np.asarray(neg, np.float32).reshape(len(neg), -1)[:n]
    if mode == "tcav-reference":
        return _train_reference(pos.astype(np.float64), neg.astype(np.float64), concept, negative, seed)
    tr_p, te_p = split(n, rng)
    tr_n, te_n = split(n, rng)
    kpp = gram(pos) if pos_gram is None else pos_gram[:n, :n]
    knn = gram(neg) if neg_gram is None else neg_gram[:n, :n]
    kpn = gram(pos, neg)
    k = np.block([[kpp, kpn], [kpn.T, knn]])  # [2n, 2n]: pos rows, then neg rows
    train = np.concatenate([tr_p, n + tr_n])
    y = np.concatenate([np.ones(len(tr_p)), -np.ones(len(tr_n))])
    k_train = k[:, train]
    row_mean = k_train.mean(axis=1)  # x_a . mean of the training rows
    centred = k_train[train] - row_mean[train, None] - row_mean[None, train] + row_mean[train].mean()
    lam = RIDGE * max(float(np.trace(centred)) / len(train), 1e-12)
    alpha = np.linalg.solve(centred + lam * np.eye(len(train)), y - y.mean())
    coef = alpha - alpha.mean()  # w = sum coef_i x_i over the training rows (zero-sum: the centring)
    coef_pos, coef_neg = np.zeros(n, np.float32), np.zeros(n, np.float32)
    coef_pos[tr_p], coef_neg[tr_n] = coef[: len(tr_p)], coef[len(tr_p):]
    w = (pos.T @ coef_pos + neg.T @ coef_neg).astype(np.float64)
    proj = k_train @ coef  # x_a . w for every row
    b = y.mean() - proj[train].mean()
    norm = np.linalg.norm(w)
    vector = w / norm if norm > 0 else w
    accs = _accuracies(proj[te_p] + b > 0, proj[n + te_n] + b <= 0, concept, negative)
    return CAV(concept, negative, vector.astype(np.float32), accs["overall"], accs)


def _train_reference(pos: np.ndarray, neg: np.ndarray, concept: str, negative: str, seed: int) -> CAV:
    from sklearn.linear_model import SGDClassifier
    from sklearn.model_selection import train_test_split

    x = np.concatenate([pos, neg])
    y = np.concatenate([np.zeros(len(pos)), np.ones(len(neg))])  # concept = 0, negative = 1, as in tcav
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=TEST_FRACTION, stratify=y, random_state=seed % 2**32)
    clf = SGDClassifier(alpha=0.01, max_iter=1000, tol=1e-3, random_state=seed % 2**32)
    clf.fit(x_tr, y_tr)
    pred = clf.predict(x_te)
    accs = _accuracies(pred[y_te == 0] == 0, pred[y_te == 1] == 1, concept, negative)
    return CAV(concept, negative, (-clf.coef_[0]).astype(np.float32), accs["overall"], accs)


def set_gram(adapter: ModelAdapter, layer: str, acts: np.ndarray, acts_hash: str, pooling: str | None,
             cache: ArrayCache) -> np.ndarray:
    """One set's Gram matrix at a layer, once per content: shared by every CAV the set takes part in."""
    key = ("gram", model_identity(adapter), layer, pooling, acts_hash)
    hit = cache.get(key)
    if hit is None:
        hit = gram(acts)
        cache.put(key, hit)
    return np.asarray(hit)


def cached_cav(adapter: ModelAdapter, layer: str, pos_name: str, pos: np.ndarray, pos_hash: str, neg_name: str,
         neg: np.ndarray, neg_hash: str, *, seed: int, mode: str, pooling: str | None, cache: ArrayCache) -> CAV:
    key = ("cav", model_identity(adapter), layer, pooling, mode, seed, pos_hash, neg_hash)
    hit = cache.get(key)
    if hit is not None:
        return CAV(pos_name, neg_name, hit[:-1], float(hit[-1]), {"overall": float(hit[-1])})
    grams = {}
    if mode != "tcav-reference":
        grams = {"pos_gram": set_gram(adapter, layer, pos, pos_hash, pooling, cache),
                 "neg_gram": set_gram(adapter, layer, neg, neg_hash, pooling, cache)}
    cav = train_cav(pos, neg, concept=pos_name, negative=neg_name, mode=mode,
                    seed=derived_seed(seed, mode, layer, pos_hash, neg_hash), **grams)
    cache.put(key, np.concatenate([cav.vector, [cav.accuracy]]).astype(np.float32))
    return cav


def directional_derivatives(grads: np.ndarray, cavs: np.ndarray) -> np.ndarray:
    """[N, D] gradients x [D, P] CAVs -> [N, P] directional derivatives: every CAV in one product."""
    return np.asarray(grads, np.float64) @ np.asarray(cavs, np.float64)


def tcav_scores(dd: np.ndarray, mode: str = "default") -> np.ndarray:
    """Fraction of images counted per CAV; the reference counts negative loss-gradient products."""
    return (dd < 0).mean(axis=0) if mode == "tcav-reference" else (dd > 0).mean(axis=0)
