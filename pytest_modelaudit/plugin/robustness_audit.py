"""`audit.robustness(...)`: predictions under label-preserving changes, and the claims on them."""
from __future__ import annotations

from typing import Any

from ..core.checks.verdicts import Check
from ..core.model.passes import phase


class RobustnessAudit:
    """Predictions on the images and on changed copies; `expect_flip_rate`, `expect_accuracy_drop`."""

    def __init__(self, audit: Any, adapter: Any, result: Any):
        self.audit, self.adapter, self.result = audit, adapter, result

    def expect_flip_rate(self, *, at_most: float = 0.1) -> Check:
        """No single change flips more than `at_most` of the predictions."""
        from ..core.checks.robustness import flip_rate_check

        return self.audit.conclude(flip_rate_check(self.result, at_most=at_most, model=self.adapter))

    def expect_accuracy_drop(self, *, at_most: float = 0.05) -> Check:
        """No single change costs more than `at_most` accuracy (labelled images only)."""
        from ..core.checks.robustness import accuracy_drop_check

        return self.audit.conclude(accuracy_drop_check(self.result, at_most=at_most, model=self.adapter))


def run_robustness(audit: Any, model: Any, data: Any, *, labels: Any, flip: bool, perturbations: list[str] | None,
                   batch_size: int) -> RobustnessAudit:
    from ..core.data.labelled import LabelledSet, as_labelled
    from ..core.insight.robustness import DEFAULT, robustness

    adapter = audit._use(model)
    label_idx = None
    images = data
    if labels is not None or isinstance(data, LabelledSet) or _is_class_folder(data):
        labelled = as_labelled(data, labels, class_names=adapter.labels)
        images, label_idx = labelled.images, labelled.indices(adapter)
    chosen = tuple(perturbations) if perturbations else DEFAULT + (("hflip",) if flip else ())
    with phase("evidence"):
        result = robustness(adapter, images, label_idx, seed=audit._next_seed(), perturbations=chosen,
                            batch_size=batch_size)
    return RobustnessAudit(audit, adapter, result)


def _is_class_folder(data: Any) -> bool:
    """A folder whose sub-folders hold the images: labelled by folder name."""
    import os
    from pathlib import Path

    if not isinstance(data, (str, os.PathLike)) or not Path(data).is_dir():
        return False
    return any(p.is_dir() for p in Path(data).iterdir())
