"""Performance on labelled images: accuracy, per-class precision / recall, the confusion matrix and the most
confused pairs, from one batched traced forward pass per image (cached by content); and the claims on them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import ModelAuditError
from ..checks.verdicts import Check, Threshold, decide
from ..data.inputs import Inputs
from ..data.labelled import as_labelled
from ..model.adapter import ModelAdapter

# A class with fewer labelled images than this decides no per-class claim (INCONCLUSIVE naming it): with 1 or 2
# images a recall is 0, 0.5 or 1 by chance of which images were picked.
MIN_PER_CLASS = 3
TOP_PAIRS = 5
MAX_SHOWN_IMAGES = 6  # misclassified thumbnails in the record


@dataclass
class PerformanceResult:
    """Predictions on labelled images and everything counted from them (undefined rates are NaN, never 0)."""

    model_name: str
    classes: list[str]
    truth: np.ndarray  # [N] label index
    predicted: np.ndarray  # [N] argmax of the logits
    inputs: Inputs = field(repr=False)
    source: str = ""

    @property
    def n(self) -> int:
        return int(len(self.truth))

    @property
    def confusion(self) -> np.ndarray:
        """Counts [K, K]: row = true class, column = predicted class."""
        k = len(self.classes)
        cm = np.zeros((k, k), np.int64)
        np.add.at(cm, (self.truth, self.predicted), 1)
        return cm

    @property
    def support(self) -> np.ndarray:
        return self.confusion.sum(axis=1)

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.truth == self.predicted)) if self.n else float("nan")

    @property
    def recall(self) -> np.ndarray:
        """Per class: right / labelled; NaN for a class with no labelled image (undefined, not 0)."""
        cm = self.confusion
        sup = cm.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(sup > 0, np.diag(cm) / np.maximum(sup, 1), np.nan)

    @property
    def precision(self) -> np.ndarray:
        """Per class: right / predicted as it; NaN for a class never predicted."""
        cm = self.confusion
        col = cm.sum(axis=0)
        return np.where(col > 0, np.diag(cm) / np.maximum(col, 1), np.nan)

    @property
    def normalised(self) -> np.ndarray:
        """Row-normalised confusion: the share of each true class predicted as each class (NaN rows: no images)."""
        cm = self.confusion.astype(np.float64)
        sup = cm.sum(axis=1, keepdims=True)
        return np.where(sup > 0, cm / np.maximum(sup, 1), np.nan)

    def most_confused(self, top: int = TOP_PAIRS) -> list[tuple[str, str, int, float]]:
        """(true, predicted, count, share of the true class) of the off-diagonal cells, largest count first."""
        cm, norm = self.confusion, self.normalised
        cells = [(int(cm[i, j]), float(norm[i, j]), i, j) for i in range(len(cm)) for j in range(len(cm))
                 if i != j and cm[i, j] > 0]
        cells.sort(key=lambda c: (-c[0], -c[1], c[2], c[3]))
        return [(self.classes[i], self.classes[j], c, r) for c, r, i, j in cells[:top]]

    def present(self) -> list[str]:
        """Classes with at least one labelled image, in the model's order."""
        sup = self.support
        return [c for c, s in zip(self.classes, sup) if s > 0]


def performance(adapter: ModelAdapter, data: Any, *, labels: Any = None, batch_size: int = 64) -> PerformanceResult:
    """The model's predictions on labelled data (a folder of class folders, a LabelledSet, or images + labels)."""
    from .predictions import predict

    labelled = as_labelled(data, labels, class_names=adapter.labels)
    truth = labelled.indices(adapter)  # unknown class names: a clear error naming them
    inputs, logits = predict(adapter, labelled.images, batch_size=batch_size)
    predicted = np.argmax(logits, axis=-1).astype(np.int64) if len(logits) else np.zeros(0, np.int64)
    return PerformanceResult(adapter.name, list(adapter.labels), truth, predicted, inputs, labelled.source)


# ----- evidence and claims -----------------------------------------------------------------------
@dataclass
class PerformanceEvidence:
    """What a performance check rests on, recorded for the report by to_json."""

    result: PerformanceResult
    focus: dict[str, Any] = field(default_factory=dict)  # what the claim looked at: classes, a pair

    def to_json(self) -> dict[str, Any]:
        """The record of docs/results-schema.md's "performance" evidence (JSON-safe, small thumbnails)."""
        from ...plugin.performance_audit import performance_record

        return performance_record(self)


def where(source: str) -> str:
    """A data set's short name for a claim: the folder's name, or 'arrays'."""
    from pathlib import Path

    return Path(source).name or source if source else "arrays"


def _sample_note(r: PerformanceResult) -> str:
    sup = r.support
    present = [(c, int(s)) for c, s in zip(r.classes, sup) if s > 0]
    absent = [c for c, s in zip(r.classes, sup) if s == 0]
    text = f"{r.n} labelled image(s): " + ", ".join(f"{c} {s}" for c, s in present)
    if absent:
        text += f"; no images of {', '.join(map(repr, absent))} (recall undefined there)"
    small = [c for c, s in present if s < MIN_PER_CLASS]
    if small:
        text += f"; fewer than {MIN_PER_CLASS} images of {', '.join(map(repr, small))}"
    return text


def _metrics(r: PerformanceResult) -> dict[str, float]:
    m: dict[str, float] = {"images": float(r.n), "accuracy": r.accuracy}
    for c, rec, s in zip(r.classes, r.recall, r.support):
        if s > 0:
            m[f"recall[{c}]"] = float(rec)
    return m


def accuracy_check(r: PerformanceResult, *, at_least: float, per_class: bool = False,
                   classes: list[str] | None = None, model: Any = None) -> Check:
    """Accuracy at least `at_least`; with per_class, every class's recall (the lowest decides)."""
    metric = "min_recall" if per_class else "accuracy"
    threshold = Threshold.of(metric, None, at_least)
    wanted = None if classes is None else [model.class_name(model.class_index(c)) if model else str(c) for c in classes]
    scope = ("every class" if wanted is None else "each of " + ", ".join(map(repr, wanted))) if per_class else ""
    claim = (f"Recall of {scope} on '{where(r.source)}' is {threshold.words()}" if per_class
             else f"Accuracy on '{where(r.source)}' is {threshold.words()}")
    metrics = _metrics(r)
    evidence = PerformanceEvidence(r, {"kind": "accuracy", "per_class": per_class, "classes": wanted})
    note = _sample_note(r) if r.n else ""
    if r.n == 0:
        return decide("accuracy", claim, threshold, None, metrics, reason="no labelled images to measure on; give a "
                      "folder of class folders or images with labels", evidence=evidence, model=model)
    if not per_class:
        reason = (f"only {r.n} labelled image(s); an accuracy needs at least {MIN_PER_CLASS}" if r.n < MIN_PER_CLASS
                  else None)
        right = int(np.sum(r.truth == r.predicted))
        return decide("accuracy", claim, threshold, r.accuracy, metrics, reason=reason,
                      detail=f"{right} of {r.n} right; {note}", evidence=evidence, model=model)
    sup, rec = r.support, r.recall
    names = wanted if wanted is not None else r.present()
    idx = {c: i for i, c in enumerate(r.classes)}
    decided = [c for c in names if sup[idx[c]] >= MIN_PER_CLASS]
    missing = [c for c in names if sup[idx[c]] == 0]
    small = [c for c in names if 0 < sup[idx[c]] < MIN_PER_CLASS]
    if decided:
        worst = min(decided, key=lambda c: (rec[idx[c]], idx[c]))
        low = float(rec[idx[worst]])
        metrics["min_recall"] = low
        detail = (f"lowest recall: '{worst}' {int(np.diag(r.confusion)[idx[worst]])} of {int(sup[idx[worst]])} "
                  f"right; {note}")
        evidence.focus["worst"] = worst
        if not threshold.holds(low) or not (missing or small):
            return decide("accuracy", claim, threshold, low, metrics, detail=detail, evidence=evidence, model=model)
    else:
        detail = note
    why = []
    if missing:
        why.append(f"no labelled images of {', '.join(map(repr, missing))} (recall undefined)")
    if small:
        why.append(f"fewer than {MIN_PER_CLASS} images of {', '.join(map(repr, small))}")
    return decide("accuracy", claim, threshold, None, metrics,
                  reason="; ".join(why) + f"; give at least {MIN_PER_CLASS} labelled images of each class claimed",
                  detail=detail, evidence=evidence, model=model)


def confusion_check(r: PerformanceResult, true: str | int, predicted: str | int, *, at_most: float,
                    model: ModelAdapter) -> Check:
    """The share of `true` images predicted as `predicted` (row-normalised confusion) is at most `at_most`."""
    ti, pi = model.class_index(true), model.class_index(predicted)  # the adapter's clear error on a typo
    t, p = r.classes[ti], r.classes[pi]
    if ti == pi:
        raise ModelAuditError(f"expect_confusion('{t}', '{p}') names the same class twice; the share of "
                              f"'{t}' predicted right is its recall: use expect_accuracy(per_class=True).")
    threshold = Threshold.of("confusion_rate", at_most, None)
    claim = f"Images of '{t}' are predicted as '{p}' in a share {threshold.words()} (on '{where(r.source)}')"
    metrics = _metrics(r)
    evidence = PerformanceEvidence(r, {"kind": "confusion", "true": t, "predicted": p})
    sup = int(r.support[ti]) if r.n else 0
    count = int(r.confusion[ti, pi]) if r.n else 0
    metrics[f"count[{t}->{p}]"] = float(count)
    reason = None
    if sup == 0:
        reason = f"no labelled images of '{t}'; give at least {MIN_PER_CLASS} to measure how often it is called '{p}'"
    elif sup < MIN_PER_CLASS:
        reason = f"only {sup} labelled image(s) of '{t}'; give at least {MIN_PER_CLASS}"
    rate = count / sup if sup else float("nan")
    if reason is None:
        metrics["confusion_rate"] = rate
    return decide("confusion", claim, threshold, rate if reason is None else None, metrics, reason=reason,
                  detail=f"{count} of {sup} '{t}' image(s) predicted '{p}'; {_sample_note(r)}" if r.n else "",
                  evidence=evidence, model=model)


__all__ = ["MIN_PER_CLASS", "PerformanceEvidence", "PerformanceResult", "accuracy_check", "confusion_check",
           "performance"]
