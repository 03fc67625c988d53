"""How many of the audited images the model assigns to the target class: recorded by every check, warned
about when few (the audit would explain a decision the model does not make)."""
from __future__ import annotations

import math
import warnings

from ...errors import TargetMismatchWarning

# Below this share of images classified as the target, the audit is warned about (it explains another decision).
MIN_PREDICTED_SHARE = 0.5


def note_target(metrics: dict[str, float], share: float, prob: float, target_name: str, source: str) -> None:
    """Record how many images the model assigns to the target and their mean P(target); warn when it is few."""
    metrics["target_share"], metrics["target_prob"] = share, prob
    if math.isfinite(share) and share < MIN_PREDICTED_SHARE:
        warnings.warn(f"model-audit: only {share:.0%} of the images from {source} are classified as '{target_name}' "
                      f"(mean P {prob:.3f}): the audit explains a decision the model does not make on most of them; "
                      "check the images, the class and the model's input_range / preprocess", TargetMismatchWarning,
                      stacklevel=4)


def fmt(v: float) -> str:
    return f"{v:.3f}"
