"""`audit.disagreement(models, data)`: where several models differ, and the agreement claim."""
from __future__ import annotations

from typing import Any

from ..core.checks.verdicts import Check
from ..core.model.passes import phase


class DisagreementAudit:
    """Several models on the same images; `expect_agreement(at_least=...)`."""

    def __init__(self, audit: Any, adapters: list[Any], result: Any):
        self.audit, self.adapters, self.result = audit, adapters, result

    def expect_agreement(self, *, at_least: float | None = None, at_most: float | None = None) -> Check:
        """The models predict the same class on a share of the images within the bounds."""
        from ..core.insight.disagreement import agreement_check

        return self.audit.conclude(agreement_check(self.result, at_least=at_least, at_most=at_most,
                                                   model=self.adapters[0]))


def run_disagreement(audit: Any, models: Any, data: Any, *, labels: Any, show: int,
                     batch_size: int) -> DisagreementAudit:
    from ..core.data.labelled import images_and_labels
    from ..core.insight.disagreement import check_models, disagreement

    items = list(models.values()) if isinstance(models, dict) else list(models)
    adapters = [audit._use(m) for m in items]
    check_models(adapters)  # before reading labels against the first model's classes
    images, label_idx = images_and_labels(data, labels, adapters[0])
    with phase("evidence"):
        result = disagreement(adapters, images, label_idx, show=show, batch_size=batch_size)
    return DisagreementAudit(audit, adapters, result)
