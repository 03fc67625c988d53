"""The `audit` fixture object: run evidence methods and check claims, recording each check."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from ..core.model.passes import ledger, phase

from ..core.checks.verdicts import Check, Status
from ..errors import AuditFailure, AuditInconclusive
from ..core.seeds import derived_seed
from .options import Settings

if TYPE_CHECKING:
    import os

    import keras
    import numpy as np

    from ..core.ablation import AblationResult
    from ..core.checks.heatmap import HeatmapEvidence
    from ..core.data.concepts import ConceptLibrary
    from ..core.data.images import ImageSet
    from ..core.heatmaps import MapRecipe
    from ..core.heatmaps.result import HeatmapResult
    from ..core.honesty.sanity import Honesty
    from ..core.model.adapter import ModelAdapter, Target
    from ..core.tcav.scores import TCAVResult
    from .baselines import AuditBaseline
    from .disagreement_audit import DisagreementAudit
    from .features_audit import FeaturesAudit
    from .performance_audit import EmbeddingAudit, PerformanceAudit
    from .robustness_audit import RobustnessAudit

    ModelLike = ModelAdapter | keras.Model | str | os.PathLike[str]  # what load_model takes
    ImagesLike = ImageSet | np.ndarray | str | os.PathLike[str] | list[str]  # what as_image_set takes
    RegionLike = np.ndarray  # [N, H, W] or [H, W] in [0, 1] (an ImageSet's masks)
    FillSpec = str | float | Callable[[np.ndarray, np.ndarray], np.ndarray]


class Audit:
    """Entry point of an audit test: `audit.gradcam(...)`, `audit.ablation(...)`, then `expect_*`."""

    def __init__(self, nodeid: str, settings: Settings):
        self.nodeid = nodeid
        self.settings = settings
        self.checks: list[Check] = []
        self.models: dict[str, ModelAdapter] = {}
        self.layers_used: dict[str, set[str]] = {}
        self._draws = 0
        self._baseline: AuditBaseline | None = None
        self.panel_images: dict[str, Any] = {}  # fingerprint -> the images the model panel's feature maps show
        self.passes_before = ledger()  # what this process had run through models when the test began

    @property
    def seed(self) -> int:
        """This test's seed, derived from the root seed and the test id."""
        return derived_seed(self.settings.seed, self.nodeid)

    def _next_seed(self) -> int:
        self._draws += 1
        return derived_seed(self.settings.seed, self.nodeid, self._draws)

    def model(self, model: ModelLike, **kwargs: Any) -> ModelAdapter:
        """Wrap or load a model (same arguments as `pytest_modelaudit.load_model`)."""
        from ..core.model.adapter import load_model

        return self._use(load_model(model, **kwargs))

    def _use(self, model: ModelLike) -> ModelAdapter:
        from ..core.model.adapter import load_model

        adapter = load_model(model)
        self.models.setdefault(adapter.fingerprint, adapter)
        return adapter

    def gradcam(self, model: ModelLike, images: ImagesLike, target: str | int | Target, *, layer: str | None = None,
                batch_size: int = 32) -> HeatmapAudit:
        """Grad-CAM of `target` (name or index) on the images, at `layer` (default: last spatial layer)."""
        return self.heatmap(model, images, target, method="gradcam", layer=layer, batch_size=batch_size)

    def occlusion(self, model: ModelLike, images: ImagesLike, target: str | int | Target, *,
                  patch: int | tuple[int, int] = 8,
                  stride: int | tuple[int, int] | None = None, fill: FillSpec = "mean",
                  batch_size: int = 64) -> HeatmapAudit:
        """Occlusion map of `target`: a `patch` slid by `stride` (default patch / 2), replaced by `fill`
        ('mean', 'blur', a number in model-input space or a callable); the map is the mean logit drop."""
        return self.heatmap(model, images, target, method="occlusion", patch=patch, stride=stride, fill=fill,
                            batch_size=batch_size)

    def heatmap(self, model: ModelLike, images: ImagesLike, target: str | int | Target, *, method: str = "gradcam",
                **kwargs: Any) -> HeatmapAudit:
        """Any heatmap method by name, with the same expectations: 'gradcam', 'occlusion', 'saliency' (vanilla
        gradients), 'smoothgrad', 'integrated_gradients', 'gradient_x_input', 'gradcam++', 'layercam'."""
        from ..core.heatmaps import heatmap_method

        adapter = self._use(model)
        target = adapter.target(target)
        spec = heatmap_method(method)
        if spec.seeded:
            kwargs.setdefault("seed", self._next_seed())
        with phase("evidence"):
            result = spec.run(adapter, images, target, **kwargs)
        if spec.on_layer and result.layer:
            self.layers_used.setdefault(adapter.fingerprint, set()).add(result.layer)
        return HeatmapAudit(self, adapter, result, images, spec.recipe(method, result, kwargs))

    def ablation(self, model: ModelLike, images: ImagesLike, target: str | int | Target, region: RegionLike, *,
                 region_name: str = "region",
                 fills: FillSpec | list[FillSpec] | None = None, fill_images: ImagesLike | None = None,
                 batch_size: int = 64) -> AblationAudit:
        """Replace `region` with several fills (and keep only it) and measure the target's scores."""
        from ..core.ablation import region_ablation

        adapter = self._use(model)
        target = adapter.target(target)
        result = region_ablation(adapter, images, target, region, fills=fills, fill_images=fill_images,
                                 seed=self._next_seed(), batch_size=batch_size)
        return AblationAudit(self, adapter, result, region_name)

    def tcav(self, model: ModelLike, target: str | int | Target, concept: str, *, layers: str | int | list[str | int],
             concepts: ConceptLibrary | str | os.PathLike[str] | None = None, images: ImagesLike | None = None,
             runs: int | None = None, pooling: str | None = None, mode: str = "default",
             random_prefix: str | None = None, min_images: int = 20,
             contrast: str | list[str] | None = None) -> TcavAudit:
        """TCAV of `concept` for class `target` at `layers` (a name or a list), against the random folders.

        `concepts` is the concept root (default: --model-audit-concepts / ini model_audit_concepts); target
        images default to its folder named after the class. `contrast` names sibling concept folders (e.g.
        ["ears", "leaf"]): the claims then decide on the concept against its siblings (relative CAVs), which
        removes what the family shares. `mode="tcav-reference"` reproduces tensorflow/tcav 0.2.2. Scores,
        CAVs and the random pair matrix are shared across the session.
        """
        from ..core.tcav.scores import tcav

        adapter = self._use(model)
        target = adapter.target(target)
        library = self._library(concepts, random_prefix, min_images)
        layer_list = [layers] if isinstance(layers, (str, int)) else list(layers)
        kwargs = dict(layers=layer_list, concepts=library, target_images=images, runs=runs, pooling=pooling,
                      mode=mode, seed=self.settings.seed)
        result = tcav(adapter, target, concept, contrast=contrast, **kwargs)
        self.layers_used.setdefault(adapter.fingerprint, set()).update(l.layer for l in result.layers)
        return TcavAudit(self, adapter, result, lambda other: tcav(adapter, target, other, **kwargs))

    # ----- insight (issue 13): one method each, delegating to its own module -------------------
    def performance(self, model: ModelLike, data: Any, *, labels: Any = None,
                    batch_size: int = 64) -> PerformanceAudit:
        """Accuracy, per-class precision / recall and the confusion matrix on labelled data (a folder of class
        folders, a LabelledSet, or images with labels=...); then expect_accuracy / expect_confusion."""
        from ..core.insight.performance import performance
        from .performance_audit import PerformanceAudit

        adapter = self._use(model)
        with phase("evidence"):
            result = performance(adapter, data, labels=labels, batch_size=batch_size)
        return PerformanceAudit(self, adapter, result)

    def embedding(self, model: ModelLike, data: Any, *, layer: str | None = None, method: str = "pca",
                  labels: Any = None, batch_size: int = 64) -> EmbeddingAudit:
        """The labelled images embedded at `layer` (default: the input of the logits' Dense), averaged over H, W:
        k-NN separability in the layer space and a 2-D picture ('pca', or 'tsne' seeded from the root seed)."""
        from ..core.insight.embedding import embedding
        from .performance_audit import EmbeddingAudit

        adapter = self._use(model)
        with phase("evidence"):
            result = embedding(adapter, data, layer=layer, method=method, labels=labels, batch_size=batch_size,
                               seed=self._next_seed())
        self.layers_used.setdefault(adapter.fingerprint, set()).add(result.layer)
        return EmbeddingAudit(self, adapter, result)

    def disagreement(self, models: list[ModelLike] | dict[str, ModelLike], data: Any, *, labels: Any = None,
                     show: int = 6, batch_size: int = 64) -> DisagreementAudit:
        """Several models on the same (labelled) images: per-class accuracy side by side, the images they differ on
        most with each model's Grad-CAM; the claim `expect_agreement(at_least=...)`."""
        from .disagreement_audit import run_disagreement

        return run_disagreement(self, models, data, labels=labels, show=show, batch_size=batch_size)

    def features(self, model: ModelLike, images: ImagesLike, *, layer: str | None = None,
                 channels: list[int] | None = None, target: str | int | Target | None = None, top: int = 6,
                 batch_size: int = 64, maximise: bool = True) -> FeaturesAudit:
        """What channels at `layer` (or class `target`) look for: their top-activating images and crops, plus
        activation-maximisation images marked illustrative; claims via `expect_top_images(of=..., at_least=...)`."""
        from .features_audit import run_features

        return run_features(self, model, images, layer=layer, channels=channels, target=target, top=top,
                            batch_size=batch_size, maximise=maximise)

    def show_features(self, model: ModelLike, images: ImagesLike) -> None:
        """Pick the images whose layer-wise feature maps the model panel shows for this model (no claim)."""
        from ..core.data.inputs import prepare

        adapter = self._use(model)
        self.panel_images[adapter.fingerprint] = prepare(adapter, images).images[:8]

    def robustness(self, model: ModelLike, data: Any, *, labels: Any = None, flip: bool = False,
                   perturbations: list[str] | None = None, batch_size: int = 64) -> RobustnessAudit:
        """Predictions under small label-preserving changes (brightness ±10%, noise σ 0.02, JPEG 75; a
        horizontal flip with flip=True). `data`: images, or labelled images for the accuracy drop."""
        from .robustness_audit import run_robustness

        return run_robustness(self, model, data, labels=labels, flip=flip, perturbations=perturbations,
                              batch_size=batch_size)

    def _library(self, concepts: ConceptLibrary | str | os.PathLike[str] | None, random_prefix: str | None,
                 min_images: int) -> ConceptLibrary:
        from ..core.data.concepts import ConceptLibrary, ConceptError

        if isinstance(concepts, ConceptLibrary):
            return concepts
        root = concepts if concepts is not None else self.settings.concepts
        if root is None:
            raise ConceptError("No concept root: pass concepts=... to audit.tcav, or set --model-audit-concepts / "
                               "ini model_audit_concepts to the folder holding one folder per concept.")
        prefix = random_prefix or self.settings.random_prefix
        from ..core.cache.memory import SESSION_CACHE

        return SESSION_CACHE.memo(("concept_library", str(root), prefix, min_images),
                                  lambda: ConceptLibrary(root, random_prefix=prefix, min_images=min_images))

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

    def baseline(self) -> AuditBaseline | None:
        """This test's baseline (read on first use), or None without --model-audit-baseline-dir."""
        if self.settings.baseline_dir is None:
            return None
        if self._baseline is None:
            from .baselines import AuditBaseline

            self._baseline = AuditBaseline(self.settings.baseline_dir, self.nodeid)
        return self._baseline


# Concept roots are read once per process: their images are shared by every TCAV audit of the session.


class StableMixin:
    """`expect_stable`: the evidence's metrics stay close to this test's stored baseline."""

    audit: Audit
    adapter: ModelAdapter
    result: HeatmapResult | AblationResult | TCAVResult

    def expect_stable(self, *, atol: float = 0.05, rtol: float = 0.0, metrics: str | list[str] | None = None) -> Check:
        """FAIL when a metric of the checks made so far on this evidence (or, with none, its own key numbers)
        moved more than atol + rtol * |baseline| from the baseline; `metrics` picks names (e.g. "share")."""
        from .baselines import stable_check

        return stable_check(self.audit, self.result, self.adapter, atol=atol, rtol=rtol, metrics=metrics)


class TcavAudit(StableMixin):
    """TCAV evidence and the concept claims on it."""

    def __init__(self, audit: Audit, adapter: ModelAdapter, result: TCAVResult, rerun: Callable[[str], TCAVResult]):
        self.audit, self.adapter, self.result, self._rerun = audit, adapter, result, rerun

    def expect_depends(self, *, min_score: float | None = None, min_effect: float = 0.1, alpha: float = 0.05,
                       min_accuracy: float = 0.7) -> Check:
        """The class depends on the concept: TCAV significantly above the null (or the siblings) at some layer."""
        from ..core.tcav.checks import depends_check

        return self.audit.conclude(depends_check(self.result, min_score=min_score, min_effect=min_effect, alpha=alpha,
                                                 min_accuracy=min_accuracy, model=self.adapter))

    def expect_opposes(self, *, min_effect: float = 0.1, alpha: float = 0.05, min_accuracy: float = 0.7) -> Check:
        """The concept pushes the class away: TCAV significantly below the null (or the siblings) at some layer."""
        from ..core.tcav.checks import opposes_check

        return self.audit.conclude(opposes_check(self.result, min_effect=min_effect, alpha=alpha,
                                                 min_accuracy=min_accuracy, model=self.adapter))

    def expect_independent(self, *, margin: float = 0.1, alpha: float = 0.05, min_accuracy: float = 0.7) -> Check:
        """The class does not depend on the concept: TCAV shown within ±`margin` of the null at every layer (FAIL
        when it is significantly above or below). Undecided evidence is INCONCLUSIVE, never a pass."""
        from ..core.tcav.checks import independent_check

        return self.audit.conclude(independent_check(self.result, margin=margin, alpha=alpha,
                                                     min_accuracy=min_accuracy, model=self.adapter))

    def expect_more_than(self, other_concept: str, *, min_effect: float = 0.05, alpha: float = 0.05,
                         min_accuracy: float = 0.7) -> Check:
        """The class depends on this concept more than on `other_concept` (same layers and random sets)."""
        from ..core.tcav.checks import more_than_check

        other = self._rerun(other_concept)
        return self.audit.conclude(more_than_check(self.result, other, min_effect=min_effect, alpha=alpha,
                                                   min_accuracy=min_accuracy, model=self.adapter))


class HeatmapAudit(StableMixin):
    """Heatmap evidence (Grad-CAM, occlusion or a saliency map) and the expectations on it."""

    def __init__(self, audit: Audit, adapter: ModelAdapter, result: HeatmapResult, images: ImagesLike,
                 recipe: MapRecipe):
        self.audit, self.adapter, self.result, self._images, self.recipe = audit, adapter, result, images, recipe
        self._honesty: Honesty | None = None

    def honesty(self) -> Honesty:
        """Randomisation, class-sensitivity and faithfulness checks of this method on this model (cached)."""
        from ..core.honesty.sanity import honesty

        if self._honesty is None:
            self._honesty = honesty(self.adapter, self.result.inputs.images, self.result.target, self.recipe.key,
                                    self.recipe.compute, seed=self.audit.settings.seed, params=self.recipe.params)
        return self._honesty

    def _noisy_maps(self) -> list[np.ndarray]:
        from ..core.honesty.stability import noisy_maps

        return noisy_maps(self.adapter, self.result.inputs.images, self.result.target, self.recipe.key,
                          self.recipe.compute, seed=self.audit.settings.seed)

    def _method_key(self) -> str:
        """The audited method as the curves and companion maps name it."""
        from ..core.honesty.companions import method_key

        return method_key(self.result)

    def _attach_companions(self, evidence: HeatmapEvidence, threshold: Any) -> None:
        """Grad-CAM, occlusion and Integrated Gradients maps of the images the card shows and the curves run on
        (the side-by-side grid) and the deletion / insertion curves of every method (the audited one's come from
        its honesty checks)."""
        import numpy as np

        from ..core.honesty.companions import companion_curves, companion_images, companion_maps
        from ..core.honesty.sanity import MAX_IMAGES
        from .records import shown_images

        own = self._method_key()
        n = len(self.result.maps)
        evidence.companions = companion_maps(self.adapter, self.result,
                                             companion_images(n, shown_images(evidence, threshold)))
        audited = evidence.honesty.curves if evidence.honesty is not None else None
        first = range(min(n, MAX_IMAGES))
        todo = {k: np.stack([v[i] for i in first]) for k, v in evidence.companions.items() if k != own}
        if audited is None:
            todo[own] = self.result.maps[:MAX_IMAGES]
        curves = companion_curves(self.adapter, self.result, todo, seed=self.audit.settings.seed)
        evidence.companion_curves = {own: audited, **curves} if audited is not None else curves

    def expect_honest(self) -> Check:
        """The method passes its honesty checks on this model and these images (randomised weights, other
        classes, deletion / insertion): FAIL when one fails, INCONCLUSIVE when one could not run."""
        from ..core.checks.verdicts import Threshold, decide

        h = self.honesty()
        failed = [c.name for c in h.failed]
        unrun = [c for c in h.checks if c.passed is None]
        claim = f"{self.result.method} maps pass their honesty checks on model {self.adapter.name!r}"
        reason = None
        if not failed and (unrun or not h.checks):
            reason = "; ".join(f"{c.name} could not run ({c.detail})" for c in unrun) or "no honesty check ran"
        detail = "; ".join(f"{c.name} {'passed' if c.passed else 'FAILED' if c.passed is False else 'not run'}: "
                           f"{c.detail}" for c in h.checks)
        return self.audit.conclude(decide("honesty", claim, Threshold.of("honesty_failures", 0, None),
                                          float(len(failed)), {c.name: c.value for c in h.checks}, reason=reason,
                                          detail=detail, model=self.adapter))

    def expect_share(self, region: RegionLike, *, at_most: float | None = None, at_least: float | None = None,
                     region_name: str = "region") -> Check:
        """Mean share of positive heatmap mass inside `region` is within the bounds."""
        return self._expect("share", region, at_most, at_least, region_name)

    def expect_lift(self, region: RegionLike, *, at_most: float | None = None, at_least: float | None = None,
                    region_name: str = "region") -> Check:
        """Mean lift (mass share / area share) of `region` is within the bounds; 1 is the region's fair share."""
        return self._expect("lift", region, at_most, at_least, region_name)

    def _expect(self, metric: str, region: RegionLike, at_most: float | None, at_least: float | None,
                region_name: str) -> Check:
        from ..core.checks.heatmap import share_check
        from ..core.honesty.faithfulness import score_response

        policy = self.audit.settings.honesty
        n = len(self.result.maps)
        checked = policy != "off" and n > 0
        with phase("faithfulness"):  # does the score respond at all when every pixel is removed
            response = score_response(self.adapter, self.result.inputs.images, self.result.target,
                                      seed=self.audit.settings.seed) if n else None
        check = share_check(self.result, region, at_most=at_most, at_least=at_least, region_name=region_name,
                            metric=metric, images=self._images, model=self.adapter,
                            honesty=self.honesty() if checked else None,
                            noisy_maps=self._noisy_maps if checked else None,
                            honesty_policy=policy, response=response)
        if n and self.audit.settings.companions:
            self._attach_companions(check.evidence, check.threshold)
        elif n and check.evidence.honesty is not None and check.evidence.honesty.curves is not None:
            check.evidence.companion_curves = {self._method_key(): check.evidence.honesty.curves}  # computed anyway
        return self.audit.conclude(check)


class AblationAudit(StableMixin):
    """Region-ablation evidence and the expectations on it."""

    def __init__(self, audit: Audit, adapter: ModelAdapter, result: AblationResult, region_name: str):
        self.audit, self.adapter, self.result, self.region_name = audit, adapter, result, region_name

    def expect_drop(self, *, at_most: float | None = None, at_least: float | None = None,
                    score: str = "probability") -> Check:
        """Mean drop of the target's probability (or logit) when the region is replaced, under the least favourable fill."""
        from ..core.checks.ablation import drop_check

        return self.audit.conclude(drop_check(self.result, at_most=at_most, at_least=at_least, score=score,
                                              region_name=self.region_name, model=self.adapter))

    def expect_region_only(self, *, at_most: float | None = None, at_least: float | None = None) -> Check:
        """Mean probability of the target when only the region is kept, under the least favourable fill."""
        from ..core.checks.ablation import region_only_check

        return self.audit.conclude(region_only_check(self.result, at_most=at_most, at_least=at_least,
                                                     region_name=self.region_name, model=self.adapter))
