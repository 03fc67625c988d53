"""Where models differ: each model's predictions on the same images, their agreement, the images they differ on
most (ranked by the total-variation distance of their probabilities) and each model's Grad-CAM on those images."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import ModelAuditError
from ..checks.verdicts import Check, Threshold, decide
from ..model.adapter import ModelAdapter
from .predictions import predict

# Fewer images than this make an agreement share too coarse to decide a claim on (one image moves it > 10%).
MIN_IMAGES = 10
# Grad-CAM grids recorded for the report are brought down to at most this many cells a side.
MAX_GRID = 16
THUMB = 64  # px, the longest side of a shown image's thumbnail in results.json
ILLUSTRATION = ("Grad-CAM of the class each model predicted, at its default layer: an illustration of why the "
                "models differ, not part of the verdict.")


@dataclass
class DisagreementResult:
    """Every model's predictions on the same images, their ranking, and the shown images' Grad-CAMs."""

    names: list[str]
    fingerprints: list[str]
    classes: list[str]
    image_names: list[str]
    source: str
    images: np.ndarray  # [N, H, W, 3] in [0, 1], the first model's inputs (for thumbnails)
    truth: np.ndarray | None  # [N] label index per image; None for unlabelled images
    predicted: np.ndarray  # [M, N]
    probs: np.ndarray  # [M, N, K]
    distance: np.ndarray  # [N] total-variation distance of the probabilities (max over model pairs)
    layers: list[str]  # each model's Grad-CAM layer
    maps: dict[int, list[np.ndarray]] = field(default_factory=dict)  # shown image -> per model [h, w] Grad-CAM
    notes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return int(self.predicted.shape[1])

    @property
    def agree(self) -> np.ndarray:
        """[N] True where every model predicts the same class."""
        return (self.predicted == self.predicted[:1]).all(axis=0)

    @property
    def agreement(self) -> float:
        """Share of images on which all models predict the same class (NaN without images)."""
        return float(self.agree.mean()) if self.n else float("nan")

    def ranked(self) -> np.ndarray:
        """Image indices, disagreements first, then by distance (largest first), then by position (stable)."""
        return rank(self.agree, self.distance)

    def shown(self) -> list[int]:
        """The shown images (those with Grad-CAMs), most different first."""
        return [int(i) for i in self.ranked() if int(i) in self.maps]

    def confusion(self, i: int = 0, j: int = 1) -> np.ndarray:
        """[K, K] counts: rows model i's prediction, columns model j's."""
        k = len(self.classes)
        out = np.zeros((k, k), np.int64)
        np.add.at(out, (self.predicted[i], self.predicted[j]), 1)
        return out

    def correct(self) -> np.ndarray | None:
        """[M, N] whether each model is right; None for unlabelled images."""
        return None if self.truth is None else self.predicted == self.truth[None]

    def per_class_accuracy(self) -> list[dict[str, float]]:
        """Per model: class name -> accuracy on that class's images, for the classes present ({} unlabelled)."""
        right = self.correct()
        if right is None:
            return [{} for _ in self.names]
        present = [c for c in range(len(self.classes)) if (self.truth == c).any()]
        return [{self.classes[c]: float(right[m][self.truth == c].mean()) for c in present}
                for m in range(len(self.names))]

    def accuracy(self) -> list[float | None]:
        """Per model: accuracy over all images (None unlabelled)."""
        right = self.correct()
        if right is None or not self.n:
            return [None] * len(self.names)
        return [float(r.mean()) for r in right]


def total_variation(probs: np.ndarray) -> np.ndarray:
    """[M, N, K] probabilities -> [N] the largest pairwise total-variation distance, 0.5 * sum |p - q|."""
    m, n = probs.shape[:2]
    out = np.zeros(n, np.float64)
    for i in range(m):
        for j in range(i + 1, m):
            out = np.maximum(out, 0.5 * np.abs(probs[i].astype(np.float64) - probs[j]).sum(-1))
    return out


def rank(agree: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """Image indices, disagreements first, then by distance (largest first), then by position (stable)."""
    idx = np.arange(len(agree))
    return np.lexsort((idx, -np.asarray(distance), np.asarray(agree).astype(int)))


def check_models(adapters: list[ModelAdapter]) -> None:
    """Two or more different models with the same class names in the same order; a clear error otherwise."""
    if len(adapters) < 2:
        raise ModelAuditError(f"audit.disagreement compares two or more models; got {len(adapters)}.")
    seen: dict[str, ModelAdapter] = {}
    for a in adapters:
        if a.fingerprint in seen:
            raise ModelAuditError(
                f"The same model is given twice ({seen[a.fingerprint].name!r} and {a.name!r} have fingerprint "
                f"{a.fingerprint}): a model cannot disagree with itself, so an agreement claim on it could not fail. "
                "Compare different models.")
        seen[a.fingerprint] = a
    first = adapters[0]
    for other in adapters[1:]:
        if list(other.labels) != list(first.labels):
            what = ("the same classes in another order" if sorted(other.labels) == sorted(first.labels) else
                    f"only {first.name!r} has {sorted(set(first.labels) - set(other.labels))}, only {other.name!r} "
                    f"has {sorted(set(other.labels) - set(first.labels))}")
            raise ModelAuditError(
                f"Models {first.name!r} and {other.name!r} have different classes ({what}): {first.name!r} has "
                f"{list(first.labels)}, {other.name!r} has {list(other.labels)}. Compared models must predict the "
                "same classes in the same order (give classes=... to load_model).")


def _small_grid(m: np.ndarray) -> np.ndarray:
    """A Grad-CAM grid of at most MAX_GRID cells a side (mean over blocks), for the report."""
    h, w = m.shape
    if max(h, w) <= MAX_GRID:
        return m.astype(np.float32)
    rows = np.array_split(np.arange(h), min(h, MAX_GRID))
    cols = np.array_split(np.arange(w), min(w, MAX_GRID))
    return np.array([[m[np.ix_(r, c)].mean() for c in cols] for r in rows], np.float32)


def _cams(adapter: ModelAdapter, images01: np.ndarray, predicted: np.ndarray, batch_size: int
          ) -> tuple[str, list[np.ndarray]]:
    """Grad-CAM of each image's predicted class through the heatmap registry: one batched call per predicted
    class (cached by content), at the model's default layer."""
    from ..heatmaps import heatmap_method

    spec = heatmap_method("gradcam")
    cams: list[Any] = [None] * len(images01)
    layer = adapter.default_gradcam_layer()
    for c in np.unique(predicted):
        at = np.flatnonzero(predicted == c)
        result = spec.run(adapter, images01[at], int(c), batch_size=batch_size)
        layer = result.layer
        for k, i in enumerate(at):
            cams[i] = _small_grid(np.asarray(result.maps[k]))
    return layer, cams


def disagreement(adapters: list[ModelAdapter], images: Any, labels: np.ndarray | None, *, show: int = 6,
                 batch_size: int = 64) -> DisagreementResult:
    """Each model's predictions on the same images (each through its own prepare; batched, cached), the
    ranking, and the `show` most different images' Grad-CAMs per model; `labels`: class index per image or None."""
    check_models(adapters)
    if isinstance(show, bool) or not isinstance(show, (int, np.integer)) or show < 0:
        raise ModelAuditError(f"show= must be a whole number of images >= 0, got {show!r}.")
    classes = list(adapters[0].labels)
    prepared, probs = [], []
    for a in adapters:
        inputs, logits = predict(a, images, batch_size=batch_size)
        prepared.append(inputs)
        probs.append(a.probabilities(logits).astype(np.float64))
    first = prepared[0]
    n = len(first.images)
    truth = None if labels is None else np.asarray(labels, np.int64).reshape(-1)
    if truth is not None and len(truth) != n:
        raise ModelAuditError(f"{len(truth)} labels for {n} images; give one label per image.")
    p = np.stack(probs) if n else np.zeros((len(adapters), 0, len(classes)))
    predicted = p.argmax(-1).astype(np.int64) if n else np.zeros((len(adapters), 0), np.int64)
    result = DisagreementResult(
        [a.name for a in adapters], [a.fingerprint for a in adapters], classes,
        list(first.names) if len(first.names) == n else [f"image {i}" for i in range(n)], first.source,
        first.images, truth, predicted, p, total_variation(p), [a.default_gradcam_layer() for a in adapters],
        notes=list(first.notes) + ([first.resize] if first.resize else []))
    top = result.ranked()[: int(show)]
    if len(top):
        per_model = []
        for m, a in enumerate(adapters):
            result.layers[m], cams = _cams(a, prepared[m].images[top], predicted[m, top], min(batch_size, 32))
            per_model.append(cams)
        result.maps = {int(i): [per_model[m][k] for m in range(len(adapters))] for k, i in enumerate(top)}
    return result


@dataclass
class DisagreementEvidence:
    """The comparison behind an agreement claim; records itself for results.json."""

    result: DisagreementResult

    def to_json(self) -> dict[str, Any]:
        """Per-class accuracy per model, the first two models' predictions against each other, the shown images
        (thumbnails <= 64 px) with each model's prediction, probability, rightness and Grad-CAM grid."""
        from ...plugin.thumbnails import image_uri
        from ...schema import json_number

        r = self.result
        right = r.correct()
        shown = []
        for i in r.shown():
            models = []
            for m, name in enumerate(r.names):
                c = int(r.predicted[m, i])
                models.append({"model": name, "predicted": r.classes[c], "prob": json_number(r.probs[m, i, c]),
                               "right": None if right is None else bool(right[m, i]),
                               "gradcam": [[json_number(v) for v in row] for row in r.maps[i][m].tolist()]})
            shown.append({"name": r.image_names[i], "index": i,
                          "label": None if r.truth is None else r.classes[int(r.truth[i])],
                          "agree": bool(r.agree[i]), "distance": json_number(r.distance[i]),
                          "image": image_uri(r.images[i], THUMB), "models": models})
        return {
            "type": "disagreement",
            "models": list(r.names), "fingerprints": list(r.fingerprints), "classes": list(r.classes),
            "images": r.n, "source": r.source, "labelled": r.truth is not None,
            "agreement": json_number(r.agreement), "agreed": int(r.agree.sum()),
            "disagreements": int(r.n - r.agree.sum()),
            "accuracy": [json_number(a) for a in r.accuracy()],
            "per_class_accuracy": [{k: json_number(v) for k, v in d.items()} for d in r.per_class_accuracy()],
            "between": {"rows": r.names[0], "columns": r.names[1], "counts": r.confusion(0, 1).tolist()},
            "pairs": [{"rows": r.names[i], "columns": r.names[j], "agreement": json_number(
                float((r.predicted[i] == r.predicted[j]).mean()) if r.n else None)}
                for i in range(len(r.names)) for j in range(i + 1, len(r.names))],
            "distance": "total variation, 0.5 * sum |p - q| (the largest over model pairs)",
            "gradcam_layers": list(r.layers), "gradcam_note": ILLUSTRATION, "notes": list(r.notes),
            "shown": shown,
        }


def agreement_check(result: DisagreementResult, *, at_least: float | None = None, at_most: float | None = None,
                    model: Any = None) -> Check:
    """The share of images on which every model predicts the same class is within the bounds; fewer than
    MIN_IMAGES images is INCONCLUSIVE."""
    threshold = Threshold.of("agreement", at_most, at_least)
    names = " and ".join(repr(n) for n in result.names) if len(result.names) == 2 else ", ".join(map(repr, result.names))
    claim = f"models {names} predict the same class on {threshold.words()} of the images (agreement)"
    n, agreed = result.n, int(result.agree.sum())
    reason = None
    if n < MIN_IMAGES:
        reason = (f"only {n} image(s): an agreement share needs at least {MIN_IMAGES} images to decide on "
                  "(one image would move it by more than 10%); give more images")
    metrics: dict[str, float] = {"images": float(n), "agreement": result.agreement, "n_agreed": float(agreed)}
    for name, acc in zip(result.names, result.accuracy()):
        if acc is not None:
            metrics[f"accuracy {name}"] = acc
    differ = [result.image_names[i] for i in result.ranked()[: n - agreed]][:3]
    detail = f"{agreed} of {n} images" + (f"; they differ most on {', '.join(differ)}" if differ else "")
    return decide("agreement", claim, threshold, result.agreement if reason is None else None, metrics,
                  reason=reason, detail=detail, evidence=DisagreementEvidence(result), model=model)
