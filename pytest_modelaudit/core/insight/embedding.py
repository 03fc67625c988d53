"""A layer's embedding of labelled images: activations (averaged over H, W) and logits from one batched traced
forward pass, the separability of the classes in the layer space (leave-one-out k-NN accuracy against the
chance level, silhouette), and a 2-D picture (PCA, or t-SNE seeded from the root seed) for the report."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import LayerUnsuitableError, ModelAuditError
from ..cache.disk import cached, model_identity
from ..checks.verdicts import Check, Threshold, decide
from ..data.inputs import Inputs, prepare
from ..data.labelled import as_labelled
from ..model import passes
from ..model.adapter import ModelAdapter
from ..model.tracing import AnyBatch

K_NEIGHBOURS = 5
METHODS = ("pca", "tsne")
MIN_PER_CLASS = 3  # as for performance: a class with fewer images decides no separability claim


@dataclass
class EmbeddingResult:
    """Pooled layer features, the 2-D coordinates and the separability numbers (NaN when undefined)."""

    model_name: str
    layer: str
    method: str
    classes: list[str]
    truth: np.ndarray
    predicted: np.ndarray
    features: np.ndarray = field(repr=False)  # [N, D] pooled over H, W
    coords: np.ndarray = field(repr=False)  # [N, 2]
    knn_accuracy: float
    k: int
    chance: float  # the majority class's share: what k-NN reaches with no information
    silhouette: float
    informative_dims: int  # features that vary across the images (after standardising)
    explained: list[float]  # PCA: variance share of each axis
    inputs: Inputs = field(repr=False)
    source: str = ""

    @property
    def n(self) -> int:
        return int(len(self.truth))

    @property
    def constant(self) -> bool:
        """No feature varies across the images: the layer carries no information about them."""
        return self.informative_dims == 0


def default_embedding_layer(adapter: ModelAdapter) -> str:
    """The layer executed just before the Dense that gives the logits (e.g. the global pooling output)."""
    from ..model.capture import Recorder, is_container, layer_paths

    def build() -> str:
        leaves = {p: l for p, l in layer_paths(adapter.model) if not is_container(l)}
        with Recorder(adapter.model, leaves) as rec:
            adapter.model(np.zeros((1,) + adapter.input_shape, np.float32), training=False)
        order = list(dict.fromkeys(p for p, _ in rec.order))
        head = adapter.head
        if head.how == "activation_input" and head.path in order:
            dense = order.index(head.path)
        elif head.how == "layer_input" and head.path in order:
            dense = order.index(head.path) - 1
        else:
            dense = len(order) - 1
        if dense < 1:
            raise LayerUnsuitableError(
                f"Model {adapter.name!r} has no layer before its logits' layer to embed; pass layer=... explicitly.")
        return order[dense - 1]

    return adapter.built(("embedding_default_layer",), build)


def _features_and_logits(adapter: ModelAdapter, x01: np.ndarray, path: str, batch_size: int) -> dict[str, np.ndarray]:
    """Pooled activations at `path` and the logits in the same batched, traced forward passes."""
    import tensorflow as tf

    from ..model.capture import Recorder, resolve_layer

    def build() -> Any:
        layer = resolve_layer(adapter.model, path)[1]

        def run(x: Any) -> Any:
            with Recorder(adapter.model, {path: layer}, adapter.head) as rec:
                out = adapter.model(x, training=False)
            logits = out if adapter.head.how == "output" else rec.logits
            a = rec.last(path)
            if len(a.shape) > 2:
                a = tf.reduce_mean(a, axis=list(range(1, len(a.shape) - 1)))
            return tf.cast(a, tf.float32), logits

        return AnyBatch(run)

    fn = adapter.built(("embedding_pass", path), build)
    x = adapter.preprocess(x01)
    passes.count(forward=len(x), model=adapter.passes_key)
    feats, logits = [], []
    for i in range(0, len(x), batch_size):
        a, lg = fn(tf.constant(x[i : i + batch_size]))
        feats.append(np.asarray(a))
        logits.append(np.asarray(lg))
    if not feats:
        return {"features": np.zeros((0, 0), np.float32), "logits": np.zeros((0, adapter.num_classes), np.float32)}
    return {"features": np.concatenate(feats), "logits": np.concatenate(logits)}


def standardise(features: np.ndarray) -> np.ndarray:
    """Each varying feature to zero mean and unit variance; features constant over the images are dropped."""
    f = np.asarray(features, np.float64)
    if f.ndim != 2 or len(f) == 0:
        return np.zeros((len(f), 0))
    sd = f.std(axis=0)
    keep = sd > 1e-6 * max(1.0, float(np.abs(f).max()))
    return (f[:, keep] - f[:, keep].mean(axis=0)) / sd[keep]


def knn_loo(z: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Leave-one-out k-NN accuracy, euclidean on standardised features; ties go to the class of the nearer
    neighbour. With no varying feature every point is equally near: the vote is the majority (chance)."""
    n = len(labels)
    if n < 2:
        return float("nan")
    if z.shape[1] == 0:
        counts = np.bincount(labels)
        hits = [np.argmax(np.bincount(np.delete(labels, i), minlength=len(counts))) == labels[i] for i in range(n)]
        return float(np.mean(hits))
    sq = (z * z).sum(1)
    d = sq[:, None] + sq[None, :] - 2 * z @ z.T
    np.fill_diagonal(d, np.inf)
    order = np.argsort(d, axis=1, kind="stable")[:, :k]
    right = 0
    for i in range(n):
        neigh = labels[order[i]]
        votes: dict[int, int] = {}
        for lab in neigh:
            votes[int(lab)] = votes.get(int(lab), 0) + 1
        best = max(votes.values())
        winner = next(int(lab) for lab in neigh if votes[int(lab)] == best)  # nearest among the tied
        right += winner == labels[i]
    return right / n


def project(z: np.ndarray, method: str, seed: int) -> tuple[np.ndarray, list[float]]:
    """2-D coordinates of the standardised features: PCA (deterministic) or t-SNE (random_state from the seed)."""
    n = len(z)
    if n == 0 or z.shape[1] == 0:
        return np.zeros((n, 2)), []
    if method == "pca" or n < 5:
        from sklearn.decomposition import PCA

        comps = min(2, z.shape[1], n)
        pca = PCA(n_components=comps, svd_solver="full")
        xy = pca.fit_transform(z)
        if comps < 2:
            xy = np.concatenate([xy, np.zeros((n, 2 - comps))], 1)
        return xy, [float(v) for v in pca.explained_variance_ratio_]
    from sklearn.manifold import TSNE

    tsne = TSNE(n_components=2, perplexity=float(max(1.0, min(30.0, (n - 1) / 3))), init="pca",
                random_state=int(seed % (2**31 - 1)))
    return tsne.fit_transform(z), []


def embedding(adapter: ModelAdapter, data: Any, *, layer: str | None = None, method: str = "pca", labels: Any = None,
              batch_size: int = 64, seed: int = 0) -> EmbeddingResult:
    """Embed labelled images at `layer` (default: the one before the logits' Dense) and measure separability."""
    if method not in METHODS:
        raise ModelAuditError(f"method must be one of {', '.join(map(repr, METHODS))}, got {method!r}.")
    labelled = as_labelled(data, labels, class_names=adapter.labels)
    truth = labelled.indices(adapter)
    path = adapter.resolve(layer) if layer is not None else default_embedding_layer(adapter)
    inputs = prepare(adapter, labelled.images)
    got = cached("embedding_features", (model_identity(adapter), inputs.images, path),
                 lambda: _features_and_logits(adapter, inputs.images, path, batch_size))
    feats, logits = got["features"], got["logits"]
    predicted = np.argmax(logits, -1).astype(np.int64) if len(logits) else np.zeros(0, np.int64)
    z = standardise(feats)
    n = len(truth)
    counts = np.bincount(truth, minlength=len(adapter.labels)) if n else np.zeros(len(adapter.labels), int)
    present = counts[counts > 0]
    k = int(max(1, min(K_NEIGHBOURS, present.min() - 1 if len(present) else 1, n - 1)))
    knn = knn_loo(z, truth, k) if n >= 2 else float("nan")
    chance = float(present.max() / n) if n else float("nan")
    sil = float("nan")
    if z.shape[1] and 2 <= len(present) <= n - 1:
        from sklearn.metrics import silhouette_score

        sil = float(silhouette_score(z, truth, metric="euclidean"))
    used = "pca" if method == "tsne" and n < 5 else method  # t-SNE needs a few points; PCA is then shown

    def proj() -> dict[str, np.ndarray]:
        xy, explained = project(z, used, seed)
        return {"xy": np.asarray(xy, np.float64), "explained": np.asarray(explained, np.float64)}

    coords = cached("embedding_coords", (np.ascontiguousarray(z, np.float32), used, int(seed)), proj)
    return EmbeddingResult(adapter.name, path, used, list(adapter.labels), truth, predicted, feats,
                           np.asarray(coords["xy"]), float(knn), k, chance, sil, int(z.shape[1]),
                           [float(v) for v in np.asarray(coords["explained"]).ravel()], inputs, labelled.source)


@dataclass
class EmbeddingEvidence:
    """What a separability check rests on, recorded for the report by to_json."""

    result: EmbeddingResult

    def to_json(self) -> dict[str, Any]:
        """The "embedding" evidence record: numbers, the rounded 2-D points with label and correctness."""
        from ...plugin.performance_audit import embedding_record

        return embedding_record(self)


def separable_check(r: EmbeddingResult, *, at_least: float, model: Any = None) -> Check:
    """The classes are separable at the layer: leave-one-out k-NN accuracy there at least `at_least`.

    A constant embedding carries no information, so the claim is false (FAIL: k-NN is at chance). A bound at or
    below the chance level could not fail, so it is INCONCLUSIVE; so is a class with fewer than 3 images."""
    threshold = Threshold.of("knn_accuracy", None, at_least)
    from .performance import where

    claim = (f"Classes of '{where(r.source)}' are separable at layer '{r.layer}' (leave-one-out {r.k}-NN accuracy "
             f"{threshold.words()})")
    metrics = {"images": float(r.n), "knn_accuracy": r.knn_accuracy, "chance": r.chance, "silhouette": r.silhouette,
               "k": float(r.k), "informative_dims": float(r.informative_dims)}
    ev = EmbeddingEvidence(r)
    counts = np.bincount(r.truth, minlength=len(r.classes)) if r.n else np.zeros(len(r.classes), int)
    present = [c for c, s in zip(r.classes, counts) if s > 0]
    small = [c for c, s in zip(r.classes, counts) if 0 < s < MIN_PER_CLASS]
    reason = None
    if r.n == 0:
        reason = "no labelled images to embed; give a folder of class folders or images with labels"
    elif len(present) < 2:
        reason = (f"only one class ({present[0]!r}) among the labelled images: separability needs two or more; "
                  "give images of other classes")
    elif small:
        reason = f"fewer than {MIN_PER_CLASS} images of {', '.join(map(repr, small))}; give at least {MIN_PER_CLASS} per class"
    elif at_least <= r.chance:
        reason = (f"the bound {at_least:g} is at or below the chance level {r.chance:.3f} (the majority class's share), "
                  "so the claim could not have failed; give a bound above chance")
    detail = (f"{r.k}-NN accuracy {r.knn_accuracy:.3f} against chance {r.chance:.3f}, silhouette "
              f"{r.silhouette:.3f}, leave-one-out on {r.n} image(s), euclidean on {r.informative_dims} standardised "
              f"feature(s) averaged over H, W" if r.n else "")
    if r.constant and r.n:
        detail += "; every image has the same features here: the layer carries no information about the classes"
    return decide("separable", claim, threshold, r.knn_accuracy if reason is None else None, metrics, reason=reason,
                  detail=detail, evidence=ev, model=model)


__all__ = ["EmbeddingEvidence", "EmbeddingResult", "default_embedding_layer", "embedding", "knn_loo",
           "separable_check", "standardise"]
