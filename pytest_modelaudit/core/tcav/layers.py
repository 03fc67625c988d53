"""Per-layer statistics of a TCAV claim and the words that explain them: which layers decide, what each
shows (depends / opposes / independent / undecided, Holm over the claim's layers), the metrics a check
records and the numbers its message gives. The checks themselves are in checks.py."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..checks.target import note_target
from ..checks.verdicts import Status
from . import stats as tcav_stats
from .scores import LayerTCAV, TCAVResult

MIN_ACCURACY = 0.7
ALPHA = 0.05
# Concept sets differ from random images in more than the concept (they are all patches, all parts), so a
# concept's CAV is a stronger direction than any random set's and its score tends to 0 or 1 whether or not the
# class uses the concept. What the class uses moves its logit much more along the CAV: depends / opposes also
# need the concept's mean directional derivative (unit CAV) this many pseudo-concept standard deviations
# (prediction scale) from theirs, at every informative layer the claim names (see replication_gaps). Over five
# independent trainings of the validation suite's models (benchmarks/validity, --root-seed), concepts the models
# ignore reached up to 12.7 at a single layer but at most 7.6 at every informative layer of a claim; concepts they
# rely on reached 6 to 14. The hand-set red-pixel model's red reaches 12.5 to 14. A claim with one informative
# layer cannot replicate: there it needs MIN_SINGLE_LAYER_Z, above the 12.7 a single layer reached.
MIN_MAGNITUDE_Z = 8.0
MIN_SINGLE_LAYER_Z = 13.5
# Below GREY_Z the concept moves the logit along its CAV no more than random sets do (|z| < 2 on the prediction
# scale): evidence against depends / opposes. Between GREY_Z and MIN_MAGNITUDE_Z both concepts the class ignores
# and concepts it relies on occur, so a layer that points the claim's way there neither shows nor refutes it:
# INCONCLUSIVE, never FAIL.
GREY_Z = 2.0


@dataclass
class LayerStats:
    layer: str
    represented: bool
    accuracy: float
    comparison: tcav_stats.Comparison  # the concept's runs against the random runs (Welch; reference display)
    p_student: float
    other: np.ndarray | None = None
    p_adjusted: float = float("nan")  # Holm-adjusted p of the test the claim decides with
    verdict: Status = Status.INCONCLUSIVE
    informative: bool = True
    gradient_variation: float = float("nan")
    reason: str = ""  # why this layer cannot decide
    null: tcav_stats.NullComparison | None = None  # concept (or difference to the other concept) vs pseudo-concepts
    contrast: tcav_stats.NullComparison | None = None  # contrast score vs pseudo-contrasts
    contrast_accuracy: float = float("nan")
    magnitude: tcav_stats.NullComparison | None = None  # mean directional derivative vs the pseudo-concepts'
    # (prediction test): its p decides above / below
    outcome: str = ""  # depends | opposes | independent | undecided (more_than: more | less | undecided)
    ambiguous: bool = False  # points the claim's way, but not beyond what concepts the class ignores reach
    p_holm: dict[str, float] = field(default_factory=dict)  # Holm-adjusted p per direction: greater, less, equivalent
    gate: float = MIN_MAGNITUDE_Z  # |z| depends / opposes need here: MIN_SINGLE_LAYER_Z when no other layer decides

    @property
    def magnitude_z(self) -> float:
        """The concept's mean directional derivative, in pseudo-concept sd from theirs (NaN without a null)."""
        return self.magnitude.z if self.magnitude is not None else float("nan")

    @property
    def decides(self) -> bool:
        return self.represented and self.informative and not self.reason

    @property
    def deciding(self) -> tcav_stats.NullComparison | None:
        """The comparison the default-mode verdict uses: the contrast when given, else the null."""
        return self.contrast if self.contrast is not None else self.null

    @property
    def effect(self) -> float:
        d = self.deciding
        return d.effect if d is not None else self.comparison.effect


@dataclass
class TCAVEvidence:
    result: TCAVResult
    kind: str  # depends | opposes | independent | more_than
    layers: list[LayerStats]
    alpha: float
    min_accuracy: float
    decision: str
    primary_p: float
    other: TCAVResult | None = None
    params: dict[str, float] = field(default_factory=dict)


def reference(result: TCAVResult) -> bool:
    return result.mode == "tcav-reference"


def layer_reason(s: LayerStats, layer: LayerTCAV, concept: str, min_accuracy: float, zero_other: bool) -> str:
    """Why a layer cannot decide ('' when it can); the reference mode only gates on CAV accuracy."""
    if not s.represented:
        return f"not represented: CAV accuracy {s.accuracy:.2f} < {min_accuracy}" + (
            f" (against the siblings {s.contrast_accuracy:.2f})" if np.isfinite(s.contrast_accuracy) else "")
    if not s.informative:
        return "not informative: " + layer.informative_reason
    zero = layer.contrast_zero_derivatives if s.contrast is not None else layer.zero_derivatives
    if zero >= 1.0 or zero_other:
        return (f"every directional derivative of the CAVs of '{concept}' is exactly 0 here: they are orthogonal to "
                "every target gradient, so the scores say nothing")
    d = s.deciding
    if d is not None and not np.isfinite(d.p_two_sided):
        return ("the pseudo-concept null has no spread (every random set scores the same), so it cannot judge "
                "the concept")
    return ""


def layer_stats(result: TCAVResult, margin: float, min_accuracy: float,
                 other: TCAVResult | None = None) -> list[LayerStats]:
    stats = []
    for i, layer in enumerate(result.layers):
        baseline = other.layers[i].concept_scores if other is not None else layer.random_scores
        acc = float(np.mean(layer.concept_accuracies))
        represented = acc >= min_accuracy
        if other is not None:
            represented = represented and float(np.mean(other.layers[i].concept_accuracies)) >= min_accuracy
        s = LayerStats(
            layer=layer.layer, represented=represented, accuracy=acc,
            comparison=tcav_stats.compare(layer.concept_scores, baseline, seed=result.seed, margin=margin),
            p_student=tcav_stats.student(layer.random_scores, layer.concept_scores),
            other=None if other is None else other.layers[i].concept_scores,
            gradient_variation=layer.gradient_variation,
        )
        if not reference(result):
            null_stats(s, layer, margin, min_accuracy, other.layers[i] if other is not None else None)
            s.reason = layer_reason(s, layer, result.concept, min_accuracy,
                                     other is not None and other.layers[i].zero_derivatives >= 1.0)
        stats.append(s)
    if sum(s.decides for s in stats) == 1:
        for s in stats:
            s.gate = MIN_SINGLE_LAYER_Z
    return stats


def null_stats(s: LayerStats, layer: LayerTCAV, margin: float, min_accuracy: float,
                other: LayerTCAV | None) -> None:
    """Fill the default mode's null comparisons, contrast and informativeness into a layer's stats."""
    c = float(np.mean(layer.concept_scores))
    s.informative = bool(layer.informative)
    if other is not None:
        s.null = tcav_stats.difference_test(c, float(np.mean(other.concept_scores)), layer.null_scores, margin=margin)
    else:
        s.null = tcav_stats.prediction_test(c, layer.null_scores, margin=margin)
    mags, null_mags = layer.concept_magnitudes, layer.null_magnitudes
    if len(layer.contrast_scores) and other is None:
        mags, null_mags = layer.contrast_magnitudes, layer.contrast_null_magnitudes
    if other is None and len(null_mags):
        s.magnitude = tcav_stats.prediction_test(float(np.mean(mags)), null_mags, margin=0.0)
    if len(layer.contrast_scores) and other is None:
        s.contrast_accuracy = float(np.mean(layer.contrast_accuracies))
        s.represented = s.represented and s.contrast_accuracy >= min_accuracy
        s.contrast = tcav_stats.prediction_test(float(np.mean(layer.contrast_scores)), layer.contrast_null,
                                                margin=margin)


def holm_outcomes(stats: list[LayerStats], min_effect: float, alpha: float, more_than: bool = False) -> None:
    """Holm-adjust each direction over the deciding layers and name what each layer shows."""
    for direction in ("greater", "less", "equivalent"):
        # above / below: the directional derivative's prediction test (the score saturates at 0 and 1, so with 20
        # random sets its own test can barely reach p < 0.05); within +-margin: the score's equivalence test
        def test(s: LayerStats) -> tcav_stats.NullComparison | None:
            return s.magnitude if direction != "equivalent" and not more_than and s.magnitude is not None else s.deciding

        ps = [getattr(test(s), f"p_{direction}") if s.decides and test(s) is not None else float("nan")
              for s in stats]
        for s, p in zip(stats, tcav_stats.holm(ps)):
            s.p_holm[direction] = p
    up, down = ("more", "less") if more_than else ("depends", "opposes")
    for s in stats:
        if not s.decides:
            s.outcome = ""
        elif s.p_holm["greater"] < alpha and s.effect >= min_effect and (more_than or moves_logit(s, +1)):
            s.outcome = up
        elif s.p_holm["less"] < alpha and s.effect <= -min_effect and (more_than or moves_logit(s, -1)):
            s.outcome = down
        elif s.p_holm["equivalent"] < alpha and not more_than:
            s.outcome = "independent"
        else:
            s.outcome = "undecided"


def adjust_reference(stats: list[LayerStats]) -> None:
    """tensorflow/tcav: two-sided Student t-test at 0.05, no correction."""
    for s in stats:
        s.p_adjusted = s.p_student if s.represented else float("nan")


def all_p(stats: list[LayerStats]) -> float:
    """The p-value of a claim that needs every layer: the largest, or NaN when a layer has none."""
    ps = [s.p_adjusted for s in stats]
    return float("nan") if not ps or any(np.isnan(ps)) else float(max(ps))


def significant(p: float, alpha: float, mode: str = "default") -> bool:
    """tensorflow/tcav calls p <= 0.05 significant; our default needs p < alpha."""
    return bool(p <= alpha) if mode == "tcav-reference" else bool(p < alpha)


def unrepresented(stats: list[LayerStats], min_accuracy: float) -> str:
    """Each layer where the concept is not represented, with the held-out accuracy that fell short: the CAVs
    against random images, or against the siblings when those separate worse."""
    def short(s: LayerStats) -> str:
        if s.accuracy < min_accuracy or not np.isfinite(s.contrast_accuracy):
            return f"CAV accuracy {s.accuracy:.2f} < {min_accuracy}"
        return f"CAV accuracy against the siblings {s.contrast_accuracy:.2f} < {min_accuracy}"

    return ", ".join(f"'{s.layer}' ({short(s)})" for s in stats if not s.represented)


def undecidable(stats: list[LayerStats]) -> str:
    """Each layer that cannot decide, with why."""
    return "; ".join(f"'{s.layer}': {s.reason}" for s in stats if s.reason)


def overall(stats: list[LayerStats], all_needed: bool) -> Status:
    """Claim status from layer verdicts: any layer passing suffices, or (independence) every layer must pass."""
    verdicts = [s.verdict for s in stats]
    if all_needed:
        if Status.FAIL in verdicts:
            return Status.FAIL
        return Status.PASS if verdicts and set(verdicts) == {Status.PASS} else Status.INCONCLUSIVE
    if Status.PASS in verdicts:
        return Status.PASS
    if any(s.ambiguous for s in stats):
        return Status.INCONCLUSIVE
    return Status.FAIL if Status.FAIL in verdicts else Status.INCONCLUSIVE


def metrics(result: TCAVResult, stats: list[LayerStats], effect: float | None) -> dict[str, float]:
    """The deciding effect, how many target images the model assigns to the class, plus, per layer, TCAV,
    baseline, adjusted p, CAV accuracy and, in default mode, the null's mean and spread, the gradient
    variation and whether the layer is informative."""
    out: dict[str, float] = {"effect": float("nan") if effect is None else effect}
    note_target(out, result.target_share, result.target_prob, result.target_name, result.target_source)
    for s in stats:
        out[f"tcav[{s.layer}]"] = s.comparison.concept_mean
        out[f"random[{s.layer}]"] = s.comparison.random_mean
        out[f"p_adj[{s.layer}]"] = s.p_adjusted
        out[f"cav_acc[{s.layer}]"] = s.accuracy
        if s.null is not None:
            out[f"null_mean[{s.layer}]"] = s.null.null_mean
            out[f"null_sd[{s.layer}]"] = s.null.null_sd
            out[f"grad_var[{s.layer}]"] = s.gradient_variation
            out[f"informative[{s.layer}]"] = float(s.informative)
        if s.contrast is not None:
            out[f"contrast[{s.layer}]"] = s.contrast.concept_mean
            out[f"contrast_null[{s.layer}]"] = s.contrast.null_mean
    return out


def moves_logit(s: LayerStats, direction: int) -> bool:
    """The concept moves the logit along its CAV far beyond what random sets do (the layer's gate); without a
    measurable null spread it cannot be shown to."""
    return bool(np.isfinite(s.magnitude_z) and direction * s.magnitude_z >= s.gate)


def grey(s: LayerStats, direction: int, min_effect: float) -> bool:
    """The layer points the claim's way (score effect and directional derivative) but its directional derivative
    stays within what concepts the class ignores reach (below the layer's gate): it can neither show nor refute it."""
    return bool(s.decides and direction * s.effect >= min_effect and np.isfinite(s.magnitude_z)
                and GREY_Z <= direction * s.magnitude_z < s.gate)


def replication_gaps(stats: list[LayerStats], direction: int) -> list[LayerStats]:
    """The informative layers that do not also show the concept moving the logit the claim's way beyond the gate,
    when some layer does. A class that uses a concept moves its logit along it at every informative layer; a
    single layer's CAV geometry can also line up with the gradient for a concept the class ignores (on the
    validation suite, up to 12.7 sd at one layer), so a depends / opposes shown at one layer only is not shown."""
    if not any(s.verdict == Status.PASS for s in stats):
        return []
    return [s for s in stats if s.decides and not moves_logit(s, direction)]


def replication_reason(shown: list[LayerStats], gaps: list[LayerStats], direction: int) -> str:
    """Why a dependence shown at some informative layers but not at every one decides nothing, and what would."""
    def layers(group: list[LayerStats]) -> str:
        return ", ".join(f"'{s.layer}' ({s.magnitude_z:+.1f} sd)" for s in group)

    way = "raises" if direction > 0 else "lowers"
    return (f"the concept {way} the logit along its CAV beyond {direction * shown[0].gate:+g} pseudo-concept sd at "
            f"{layers(shown)} but not at {layers(gaps)}: a class that uses a concept shows it at every informative "
            "layer, while a single layer's CAV can line up with the gradient for a concept the class ignores; neither "
            "shown nor refuted; what would decide it: contrast= with sibling concepts, more target images, or a "
            "counterfactual test on the target images (e.g. audit.ablation of the concept's region)")


def grey_reason(stats: list[LayerStats], direction: int) -> str:
    """Why a depends / opposes claim whose layers only point its way is INCONCLUSIVE, and what would decide it."""
    grey_layers = [s for s in stats if s.ambiguous]
    layers = ", ".join(f"'{s.layer}' (directional derivative {s.magnitude_z:+.1f} sd, score effect {s.effect:+.3f})"
                       for s in grey_layers)
    gate = grey_layers[0].gate if grey_layers else MIN_MAGNITUDE_Z
    single = (f" ({MIN_SINGLE_LAYER_Z:g} where only one layer decides: it cannot replicate)"
              if gate == MIN_SINGLE_LAYER_Z else "")
    return (f"the concept points the claim's way at {layers}, but its directional derivative lies between "
            f"{direction * GREY_Z:+g} and {direction * gate:+g} pseudo-concept sd{single}, where concepts the class "
            "ignores also lie: neither shown nor refuted; what would decide it: contrast= with sibling concepts, more "
            "target images, a second informative layer, or an earlier layer")


def why_not_shown(s: LayerStats, alpha: float, min_effect: float, direction: int, mode: str = "default",
                   min_score: float | None = None, score: float = float("nan"), ref: bool = False) -> str:
    """Which condition of depends (direction +1) or opposes (-1) the reported layer missed, in words."""
    if not significant(s.p_adjusted, alpha, mode):
        return "not significant"
    if direction * s.effect < min_effect:
        return f"effect {s.effect:+.3f} smaller than the minimum {direction * min_effect:+.2f}"
    if min_score is not None and score < min_score:
        return f"score {score:.3f} below the minimum {min_score:.2f}"
    if not ref and not moves_logit(s, direction):
        return (f"its directional derivative is only {s.magnitude_z:+.1f} pseudo-concept sd from theirs "
                f"({direction * s.gate:+g} needed)")
    return "not shown"


def against(result: TCAVResult) -> str:
    return (f"its siblings {', '.join(repr(c) for c in result.contrast)}" if result.contrast
            else "the pseudo-concept null (random sets scored as concepts)")


def layer_numbers(s: LayerStats, result: TCAVResult) -> str:
    """One layer's deciding numbers in words, for a check's detail."""
    if reference(result):
        c = s.comparison
        return (f"TCAV {c.concept_mean:.3f} vs random {c.random_mean:.3f}, effect {c.effect:.3f} "
                f"[{c.ci[0]:.3f}, {c.ci[1]:.3f}], p {s.p_adjusted:.3g}")
    d = s.deciding
    what = "contrast score" if s.contrast is not None else "TCAV"
    null = "pseudo-contrasts" if s.contrast is not None else "pseudo-concepts"
    text = (f"{what} {d.concept_mean:.3f} vs {null} {d.null_mean:.3f} ± {d.null_sd:.3f} (sd of {d.n_null}), effect "
            f"{d.effect:+.3f} [{d.interval[0]:+.3f}, {d.interval[1]:+.3f}]")
    if np.isfinite(s.magnitude_z):
        text += f"; directional derivative {s.magnitude_z:+.1f} sd from theirs"
    text += f", Holm-adjusted p {s.p_adjusted:.3g}"
    if np.isfinite(s.magnitude_z):
        if abs(s.magnitude_z) < s.gate and not s.reason:
            text += (f" (depends / opposes need {s.gate:g}: concept sets differ from random images in more "
                     "than the concept, so a consistent sign alone does not show the class uses it)")
    if s.contrast is not None and s.null is not None:
        text += f"; against random: TCAV {s.null.concept_mean:.3f} vs {s.null.null_mean:.3f} ± {s.null.null_sd:.3f}"
    return text


def decision(result: TCAVResult, kind: str, alpha: float, min_accuracy: float, effect: float) -> str:
    test = {"depends": f"one-sided (above) at α {alpha}, by at least {effect}",
            "opposes": f"one-sided (below) at α {alpha}, by at least {effect}",
            "independent": (f"equivalence within ±{effect} by two one-sided tests (TOST) at α {alpha}; FAIL when "
                            f"significantly above or below by at least {effect}")}[kind]
    against = ("the concept's contrast score (mean TCAV along CAV(concept vs each sibling)) against pseudo-contrasts "
               "(each random set against as many other random sets)" if result.contrast else
               "the concept's mean TCAV score against the mean scores of the random sets scored as pseudo-concepts "
               "(each against the other random sets, same estimator and scoring)")
    return (f"prediction t-tests of {against}: t = (c - mean) / (sd * sqrt(1 + 1/P)), df = P - 1; {test}; above "
            "and below are tested on the mean directional derivative along the unit CAV, which must also lie at least "
            f"{MIN_MAGNITUDE_Z:g} pseudo-concept sd from theirs at every layer that decides ({MIN_SINGLE_LAYER_Z:g} when "
            "only one does), with the score's effect giving the size; equivalence "
            f"on the score; Holm over the claim's layers; layers whose CAV accuracy is below {min_accuracy}, whose "
            "target gradient is the same for every image, or whose directional derivatives are all 0 decide nothing")


def best(stats: list[LayerStats], passing: list[LayerStats], key: Any, ref: bool = False) -> LayerStats | None:
    """The layer a claim reports: the strongest passing one, else the strongest that decides (None if none does)."""
    pool = passing or [s for s in stats if (s.represented if ref else s.decides)]
    return max(pool, key=key) if pool else None


def no_layer_reason(result: TCAVResult, stats: list[LayerStats], min_accuracy: float) -> str | None:
    """The INCONCLUSIVE reason of a claim no layer can decide (None when some layer can)."""
    if reference(result):
        if any(s.represented for s in stats):
            return None
        return (f"concept '{result.concept}' is not linearly represented at any layer: "
                + unrepresented(stats, min_accuracy))
    if any(s.decides for s in stats):
        return None
    if not any(s.represented for s in stats):
        return (f"concept '{result.concept}' is not linearly represented at any layer: "
                + unrepresented(stats, min_accuracy))
    return "no layer can decide the claim: " + undecidable(stats)
