"""The default CAV estimator, solved from Gram blocks, against the ridge problem written out in the primal."""
import numpy as np
import pytest

from pytest_modelaudit.core.tcav.cav import RIDGE, gram, split, train_cav


def _primal(pos: np.ndarray, neg: np.ndarray, seed: int) -> tuple[np.ndarray, float]:
    """Centred ridge least squares on the seeded training split, solved in D dimensions; held-out accuracy."""
    n = min(len(pos), len(neg))
    rng = np.random.default_rng(seed)
    tr_p, te_p = split(n, rng)
    tr_n, te_n = split(n, rng)
    x = np.concatenate([pos[tr_p], neg[tr_n]]).astype(np.float64)
    y = np.concatenate([np.ones(len(tr_p)), -np.ones(len(tr_n))])
    mean = x.mean(0)
    xc = x - mean
    lam = RIDGE * np.trace(xc @ xc.T) / len(x)
    w = np.linalg.solve(xc.T @ xc + lam * np.eye(x.shape[1]), xc.T @ (y - y.mean()))
    b = y.mean() - mean @ w
    ok = np.concatenate([pos[te_p] @ w + b > 0, neg[te_n] @ w + b <= 0])
    return w / np.linalg.norm(w), float(ok.mean())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dual_from_gram_blocks_equals_the_primal_ridge(seed):
    rng = np.random.default_rng(seed)
    d = 40
    direction = rng.normal(size=d)
    pos = (rng.normal(size=(24, d)) + 0.4 * direction + 3.0).astype(np.float32)  # an offset the centring removes
    neg = (rng.normal(size=(30, d)) + 3.0).astype(np.float32)
    w, acc = _primal(pos, neg, seed)
    cav = train_cav(pos, neg, concept="c", negative="r", seed=seed)
    assert cav.vector @ w == pytest.approx(1.0, abs=1e-6)
    assert cav.accuracy == pytest.approx(acc)
    # the same CAV when each set's Gram matrix is handed in (shared across the CAVs of a set)
    shared = train_cav(pos, neg, concept="c", negative="r", seed=seed, pos_gram=gram(pos), neg_gram=gram(neg))
    np.testing.assert_allclose(shared.vector, cav.vector, atol=1e-6)
    assert shared.accuracy == cav.accuracy
