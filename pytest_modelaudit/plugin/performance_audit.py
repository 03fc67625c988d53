"""`audit.performance(...)` and `audit.embedding(...)`: data-level evidence on labelled images, the claims on it,
and its records for results.json (numbers, rounded 2-D points, a few small thumbnails)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..schema import json_number

if TYPE_CHECKING:
    from ..core.checks.verdicts import Check
    from ..core.insight.embedding import EmbeddingEvidence, EmbeddingResult
    from ..core.insight.performance import PerformanceEvidence, PerformanceResult
    from ..core.model.adapter import ModelAdapter
    from .audit import Audit

MAX_MATRIX_CLASSES = 30  # the confusion matrix in the record: the classes most present (truth or prediction)
MAX_POINTS = 2000  # embedding points in the record
THUMB = 64


class PerformanceAudit:
    """Accuracy, per-class recall / precision and the confusion matrix, and the claims on them."""

    def __init__(self, audit: Audit, adapter: ModelAdapter, result: PerformanceResult):
        self.audit, self.adapter, self.result = audit, adapter, result

    def expect_accuracy(self, *, at_least: float, per_class: bool = False, classes: list[str] | None = None) -> Check:
        """Accuracy >= at_least; per_class=True: every class present (or each of `classes`) has recall >= at_least."""
        from ..core.insight.performance import accuracy_check

        return self.audit.conclude(accuracy_check(self.result, at_least=at_least, per_class=per_class,
                                                  classes=classes, model=self.adapter))

    def expect_confusion(self, true: str | int, predicted: str | int, *, at_most: float) -> Check:
        """The share of `true` images predicted as `predicted` (row-normalised confusion) is <= at_most."""
        from ..core.insight.performance import confusion_check

        return self.audit.conclude(confusion_check(self.result, true, predicted, at_most=at_most, model=self.adapter))


class EmbeddingAudit:
    """A layer's embedding of labelled images and the separability claim on it."""

    def __init__(self, audit: Audit, adapter: ModelAdapter, result: EmbeddingResult):
        self.audit, self.adapter, self.result = audit, adapter, result

    def expect_separable(self, *, at_least: float) -> Check:
        """Leave-one-out k-NN accuracy in the layer space >= at_least (and above the chance level)."""
        from ..core.insight.embedding import separable_check

        return self.audit.conclude(separable_check(self.result, at_least=at_least, model=self.adapter))


# ----- records ------------------------------------------------------------------------------------
def _shown_classes(r: PerformanceResult) -> list[int]:
    """Class indices for the matrix: every class, or past 30 the ones most seen in truth or prediction."""
    cm = r.confusion
    weight = cm.sum(0) + cm.sum(1)
    idx = list(range(len(r.classes)))
    if len(idx) > MAX_MATRIX_CLASSES:  # many classes: those seen (truth or prediction), the most frequent first
        idx = sorted(sorted(idx, key=lambda i: (-weight[i], i))[:MAX_MATRIX_CLASSES])
    return idx


def performance_record(ev: PerformanceEvidence) -> dict[str, Any]:
    """The "performance" evidence: counts, row shares, per-class table, most confused pairs, a few mistakes."""
    from .thumbnails import image_uri

    r = ev.result
    shown = _shown_classes(r)
    cm, norm = r.confusion, r.normalised
    prec, rec, sup = r.precision, r.recall, r.support
    wrong = np.flatnonzero(r.truth != r.predicted)
    focus = dict(ev.focus)
    if focus.get("kind") == "confusion":
        ti, pi = r.classes.index(focus["true"]), r.classes.index(focus["predicted"])
        hit = [i for i in wrong if r.truth[i] == ti and r.predicted[i] == pi]
        wrong = np.array(hit + [i for i in wrong if i not in hit], np.int64)
    from ..core.insight.performance import MAX_SHOWN_IMAGES, MIN_PER_CLASS

    mistakes = [{"name": r.inputs.names[i] if i < len(r.inputs.names) else f"image {i}",
                 "true": r.classes[int(r.truth[i])], "predicted": r.classes[int(r.predicted[i])],
                 "image": image_uri(r.inputs.images[i], THUMB)} for i in wrong[:MAX_SHOWN_IMAGES]]
    return {
        "type": "performance",
        "source": r.source,
        "n": r.n,
        "accuracy": json_number(r.accuracy),
        "classes": [r.classes[i] for i in shown],
        "classes_total": len(r.classes),
        "confusion": [[int(cm[i, j]) for j in shown] for i in shown],
        "confusion_normalised": [[json_number(round(float(norm[i, j]), 4)) for j in shown] for i in shown],
        "per_class": [{"class": r.classes[i], "support": int(sup[i]), "precision": json_number(prec[i]),
                       "recall": json_number(rec[i])} for i in shown],
        "pairs": [{"true": t, "predicted": p, "count": c, "share": json_number(round(s, 4))}
                  for t, p, c, s in r.most_confused()],
        "min_per_class": MIN_PER_CLASS,
        "focus": focus,
        "misclassified": mistakes,
        "misclassified_total": int(np.sum(r.truth != r.predicted)),
    }


def embedding_record(ev: EmbeddingEvidence) -> dict[str, Any]:
    """The "embedding" evidence: the separability numbers and the 2-D points (rounded) with label and correctness."""
    r = ev.result
    xy = np.asarray(r.coords, np.float64)
    keep = np.arange(r.n)
    if r.n > MAX_POINTS:  # an even subsample, deterministic
        keep = np.linspace(0, r.n - 1, MAX_POINTS).round().astype(int)
    span = float(np.abs(xy).max()) if xy.size else 0.0
    digits = 3 if span < 100 else 1
    points = [[round(float(xy[i, 0]), digits), round(float(xy[i, 1]), digits), int(r.truth[i]),
               bool(r.truth[i] == r.predicted[i])] for i in keep]
    present = sorted(set(int(t) for t in r.truth))
    return {
        "type": "embedding",
        "source": r.source,
        "layer": r.layer,
        "method": r.method,
        "n": r.n,
        "k": r.k,
        "knn_accuracy": json_number(r.knn_accuracy),
        "chance": json_number(r.chance),
        "silhouette": json_number(r.silhouette),
        "informative_dims": r.informative_dims,
        "features": int(r.features.shape[1]) if r.features.ndim == 2 else 0,
        "explained": [json_number(round(v, 4)) for v in r.explained],
        "classes": list(r.classes),
        "present": [r.classes[i] for i in present],
        "points": points,
        "points_total": r.n,
        "distance": "euclidean on standardised features (each varying feature to zero mean, unit variance)",
    }
