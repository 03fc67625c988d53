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
    from ..core.data.labelled import images_and_labels
    from ..core.insight.robustness import DEFAULT, robustness

    adapter = audit._use(model)
    images, label_idx = images_and_labels(data, labels, adapter)
    chosen = tuple(perturbations) if perturbations else DEFAULT + (("hflip",) if flip else ())
    with phase("evidence"):
        result = robustness(adapter, images, label_idx, seed=audit._next_seed(), perturbations=chosen,
                            batch_size=batch_size)
    return RobustnessAudit(audit, adapter, result)
