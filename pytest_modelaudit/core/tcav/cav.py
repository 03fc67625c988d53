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


def train_cav(pos: np.ndarray, neg: np.ndarray, *, concept: str, negative: str, seed: int,
              mode: str = "default") -> CAV:
    """Fit concept-vs-negative on flattened activations; both sets truncated to the smaller size."""
    n = min(len(pos), len(neg))
    rng = np.random.default_rng(seed)
    pos = np.asarray(pos, np.float32).reshape(len(pos), -1)[:n]
    neg = np.asarray(neg, np.float32).reshape(len(neg), -1)[:n]
    if mode == "tcav-reference":
        return _train_reference(pos.astype(np.float64), neg.astype(np.float64), concept, negative, seed)
    tr_p, te_p = split(n, rng)
    tr_n, te_n = split(n, rng)
    x = np.concatenate([pos[tr_p], neg[tr_n]])
    y = np.concatenate([np.ones(len(tr_p)), -np.ones(len(tr_n))])
    mean = x.mean(axis=0, dtype=np.float64).astype(np.float32)
    xc = x - mean
    gram = (xc @ xc.T).astype(np.float64)  # n x n: the dual keeps the solve small when D >> n
    lam = RIDGE * max(float(np.trace(gram)) / len(x), 1e-12)
    alpha = np.linalg.solve(gram + lam * np.eye(len(x)), y - y.mean())
    w = (xc.T @ alpha.astype(np.float32)).astype(np.float64)
    b = y.mean() - mean.astype(np.float64) @ w
    norm = np.linalg.norm(w)
    vector = w / norm if norm > 0 else w
    accs = _accuracies(pos[te_p].astype(np.float64) @ w + b > 0, neg[te_n].astype(np.float64) @ w + b <= 0,
                       concept, negative)
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


def cached_cav(adapter: ModelAdapter, layer: str, pos_name: str, pos: np.ndarray, pos_hash: str, neg_name: str,
         neg: np.ndarray, neg_hash: str, *, seed: int, mode: str, pooling: str | None, cache: ArrayCache) -> CAV:
    key = ("cav", model_identity(adapter), layer, pooling, mode, seed, pos_hash, neg_hash)
    hit = cache.get(key)
    if hit is not None:
        return CAV(pos_name, neg_name, hit[:-1], float(hit[-1]), {"overall": float(hit[-1])})
    cav = train_cav(pos, neg, concept=pos_name, negative=neg_name, mode=mode,
                    seed=derived_seed(seed, mode, layer, pos_hash, neg_hash))
    cache.put(key, np.concatenate([cav.vector, [cav.accuracy]]).astype(np.float32))
    return cav


def directional_derivatives(grads: np.ndarray, cavs: np.ndarray) -> np.ndarray:
    """[N, D] gradients x [D, P] CAVs -> [N, P] directional derivatives: every CAV in one product."""
    return np.asarray(grads, np.float64) @ np.asarray(cavs, np.float64)


def tcav_scores(dd: np.ndarray, mode: str = "default") -> np.ndarray:
    """Fraction of images counted per CAV; the reference counts negative loss-gradient products."""
    return (dd < 0).mean(axis=0) if mode == "tcav-reference" else (dd > 0).mean(axis=0)
