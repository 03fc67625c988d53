"""Claims on predictions under label-preserving changes: the flip rate and the accuracy drop."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...schema import json_number
from ..insight.robustness import BRIGHTNESS, JPEG_QUALITY, NOISE_SIGMA, RobustnessResult
from .verdicts import Check, Threshold, decide

MIN_IMAGES = 10  # fewer images cannot show a rate of a few percent


@dataclass
class RobustnessEvidence:
    """The predictions behind a robustness claim, recorded by itself (to_json)."""

    result: RobustnessResult
    metric: str

    def to_json(self) -> dict[str, Any]:
        r = self.result
        rows = []
        for p in r.perturbations:
            flipped = np.flatnonzero(r.changed[p] != r.predicted)
            rows.append({"perturbation": p, "flip_rate": json_number(r.flip_rate(p)),
                         "accuracy": json_number(r.accuracy(r.changed[p])),
                         "flipped": [{"name": r.names[i], "from": r.class_names[int(r.predicted[i])],
                                      "to": r.class_names[int(r.changed[p][i])]} for i in flipped[:8]]})
        return {"type": "robustness", "metric": self.metric, "images": len(r.names), "source": r.source,
                "labelled": r.labels is not None, "accuracy": json_number(r.accuracy(r.predicted)),
                "settings": {"brightness": BRIGHTNESS, "noise_sigma": NOISE_SIGMA, "jpeg_quality": JPEG_QUALITY},
                "perturbations": rows}


def _undecidable(r: RobustnessResult) -> str | None:
    n = len(r.predicted)
    if n < MIN_IMAGES:
        return (f"{n} image(s): a flip rate or an accuracy drop of a few percent needs at least {MIN_IMAGES}; "
                "give more images")
    classes = set(r.predicted.tolist()).union(*(set(v.tolist()) for v in r.changed.values()))
    if len(classes) == 1:
        return (f"the model predicts '{r.class_names[classes.pop()]}' for every image, changed or not, so no "
                "prediction could flip; give images of several classes (or check the model responds at all)")
    return None


def flip_rate_check(r: RobustnessResult, *, at_most: float, model: Any = None) -> Check:
    """The largest share of predictions that any one change flips is at most `at_most`."""
    threshold = Threshold.of("flip_rate", at_most, None)
    rates = {p: r.flip_rate(p) for p in r.perturbations}
    worst = max(rates, key=lambda p: rates[p]) if rates else None
    measured = rates[worst] if worst else None
    claim = f"Predictions flip on at most {at_most:.0%} of the images under {', '.join(r.perturbations)}"
    detail = (f"worst: {worst} flips {measured:.1%} of {len(r.predicted)} images" if worst and measured is not None
              and math.isfinite(measured) else "")
    return decide("robustness", claim, threshold, measured, {f"flip_rate.{p}": v for p, v in rates.items()},
                  reason=_undecidable(r), detail=detail, evidence=RobustnessEvidence(r, "flip_rate"), model=model)


def accuracy_drop_check(r: RobustnessResult, *, at_most: float, model: Any = None) -> Check:
    """Accuracy on the changed copies is at most `at_most` below accuracy on the originals (labelled images)."""
    threshold = Threshold.of("accuracy_drop", at_most, None)
    claim = f"Accuracy drops by at most {at_most:.0%} under {', '.join(r.perturbations)}"
    base = r.accuracy(r.predicted)
    if base is None:
        return decide("robustness", claim, threshold, None, {}, reason="the images have no labels: an accuracy "
                      "drop needs labelled images (a folder of class folders)", evidence=RobustnessEvidence(
                          r, "accuracy_drop"), model=model)
    drops = {p: base - (r.accuracy(r.changed[p]) or 0.0) for p in r.perturbations}
    worst = max(drops, key=lambda p: drops[p])
    return decide("robustness", claim, threshold, drops[worst], {"accuracy": base, **{f"accuracy_drop.{p}": v
                                                                                     for p, v in drops.items()}},
                  reason=_undecidable(r), detail=f"accuracy {base:.1%} on the originals; worst: {worst}",
                  evidence=RobustnessEvidence(r, "accuracy_drop"), model=model)
