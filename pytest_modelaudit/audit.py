"""The `audit` fixture object: run evidence methods and check claims, recording each check."""
from __future__ import annotations

import math
from typing import Any

import pytest

from .core.verdicts import Check, Status
from .exceptions import AuditFailure, AuditInconclusive
from .settings import Settings, derived_seed


class Audit:
    """Entry point of an audit test: `audit.gradcam(...)`, `audit.ablation(...)`, then `expect_*`."""

    def __init__(self, nodeid: str, settings: Settings):
        self.nodeid = nodeid
        self.settings = settings
        self.checks: list[Check] = []
        self.models: dict[str, Any] = {}
        self.layers_used: dict[str, set[str]] = {}
        self._draws = 0

    @property
    def seed(self) -> int:
        """This test's seed, derived from the root seed and the test id."""
        return derived_seed(self.settings.seed, self.nodeid)

    def _next_seed(self) -> int:
        self._draws += 1
        return derived_seed(self.settings.seed, self.nodeid, self._draws)

    def model(self, model: Any, **kwargs: Any) -> Any:
        """Wrap or load a model (same arguments as `pytest_modelaudit.load_model`)."""
        from .core.adapter import load_model

        return self._use(load_model(model, **kwargs))

    def _use(self, model: Any) -> Any:
        from .core.adapter import load_model

        adapter = load_model(model)
        self.models.setdefault(adapter.fingerprint, adapter)
        return adapter

    def gradcam(self, model: Any, images: Any, target: str | int, *, layer: str | None = None,
                batch_size: int = 32) -> HeatmapAudit:
        """Grad-CAM of `target` (name or index) on the images, at `layer` (default: last spatial layer)."""
        from .core.gradcam import gradcam

        adapter = self._use(model)
        result = gradcam(adapter, images, target, layer=layer, batch_size=batch_size)
        self.layers_used.setdefault(adapter.fingerprint, set()).add(result.layer)
        return HeatmapAudit(self, adapter, result, images)

    def ablation(self, model: Any, images: Any, target: str | int, region: Any, *, region_name: str = "region",
                 fills: Any = None, fill_images: Any = None, batch_size: int = 64) -> AblationAudit:
        """Replace `region` with several fills (and keep only it) and measure the target's scores."""
        from .core.ablation import region_ablation

        adapter = self._use(model)
        result = region_ablation(adapter, images, target, region, fills=fills, fill_images=fill_images,
                                 seed=self._next_seed(), batch_size=batch_size)
        return AblationAudit(self, adapter, result, region_name)

    # ----- verdicts -----------------------------------------------------------------------------
    def conclude(self, check: Check) -> Check:
        """Record the check; raise on FAIL, and on INCONCLUSIVE as the policy says."""
        self.checks.append(check)
        if check.status is Status.PASS:
            return check
        text = self.message(check)
        if check.status is Status.FAIL:
            raise AuditFailure(text)
        if self.settings.inconclusive == "skip":
            pytest.skip(text)
        raise AuditInconclusive(text)

    def message(self, check: Check) -> str:
        """Claim, measured value, threshold, model and where the evidence is in the report."""
        adapter = check.model
        lines = [f"{check.status.value}: {check.claim}"]
        if check.status is Status.INCONCLUSIVE:
            lines.append(f"  why: {check.reason}")
        if check.measured is not None and not math.isnan(check.measured):
            lines.append(f"  measured: {check.metric} = {check.measured:.3f}" + (f" ({check.detail})" if check.detail else ""))
        lines.append(f"  threshold: {check.threshold.symbol()}")
        if adapter is not None:
            lines.append(f"  model: {adapter.name} (fingerprint {adapter.fingerprint})")
        lines.append(f"  evidence: {self.settings.evidence_link(self.nodeid)}")
        return "\n".join(lines)


class HeatmapAudit:
    """Grad-CAM evidence and the expectations on it."""

    def __init__(self, audit: Audit, adapter: Any, result: Any, images: Any):
        self.audit, self.adapter, self.result, self._images = audit, adapter, result, images

    def expect_share(self, region: Any, *, at_most: float | None = None, at_least: float | None = None,
                     region_name: str = "region") -> Check:
        """Mean share of positive heatmap mass inside `region` is within the bounds."""
        return self._expect("share", region, at_most, at_least, region_name)

    def expect_lift(self, region: Any, *, at_most: float | None = None, at_least: float | None = None,
                    region_name: str = "region") -> Check:
        """Mean lift (mass share / area share) of `region` is within the bounds; 1 is the region's fair share."""
        return self._expect("lift", region, at_most, at_least, region_name)

    def _expect(self, metric: str, region: Any, at_most: float | None, at_least: float | None, region_name: str) -> Check:
        from .core.checks import share_check

        check = share_check(self.result, region, at_most=at_most, at_least=at_least, region_name=region_name,
                            metric=metric, images=self._images, model=self.adapter)
        return self.audit.conclude(check)


class AblationAudit:
    """Region-ablation evidence and the expectations on it."""

    def __init__(self, audit: Audit, adapter: Any, result: Any, region_name: str):
        self.audit, self.adapter, self.result, self.region_name = audit, adapter, result, region_name

    def expect_drop(self, *, at_most: float | None = None, at_least: float | None = None,
                    score: str = "probability") -> Check:
        """Mean drop of the target's probability (or logit) when the region is replaced, under the least favourable fill."""
        from .core.checks import drop_check

        return self.audit.conclude(drop_check(self.result, at_most=at_most, at_least=at_least, score=score,
                                              region_name=self.region_name, model=self.adapter))

    def expect_region_only(self, *, at_most: float | None = None, at_least: float | None = None) -> Check:
        """Mean probability of the target when only the region is kept, under the least favourable fill."""
        from .core.checks import region_only_check

        return self.audit.conclude(region_only_check(self.result, at_most=at_most, at_least=at_least,
                                                     region_name=self.region_name, model=self.adapter))
