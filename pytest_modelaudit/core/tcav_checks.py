"""TCAV expectations as pure functions: depends, independent, more-than. Layers are the claim's hypotheses.

A layer whose CAVs are not clearly more accurate than chance (min_accuracy, default 0.7) means
"the concept is not represented there": that layer can neither pass nor fail a claim.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import tcav_stats
from .tcav import TCAVResult
from .verdicts import Check, Status, Threshold

MIN_ACCURACY = 0.7
ALPHA = 0.05


@dataclass
class LayerStats:
    layer: str
    represented: bool
    accuracy: float
    comparison: tcav_stats.Comparison
    p_student: float
    other: np.ndarray | None = None
    p_adjusted: float = float("nan")
    verdict: str = "INCONCLUSIVE"


@dataclass
class TCAVEvidence:
    result: TCAVResult
    kind: str  # depends | independent | more_than
    layers: list[LayerStats]
    alpha: float
    min_accuracy: float
    decision: str
    primary_p: float
    other: TCAVResult | None = None
    params: dict[str, float] = field(default_factory=dict)


def _layer_stats(result: TCAVResult, margin: float, min_accuracy: float, other: TCAVResult | None = None) -> list[LayerStats]:
    stats = []
    for i, layer in enumerate(result.layers):
        baseline = other.layers[i].concept_scores if other is not None else layer.random_scores
        acc = float(np.mean(layer.concept_accuracies))
        represented = acc >= min_accuracy
        if other is not None:
            represented = represented and float(np.mean(other.layers[i].concept_accuracies)) >= min_accuracy
        stats.append(LayerStats(
            layer=layer.layer, represented=represented, accuracy=acc,
            comparison=tcav_stats.compare(layer.concept_scores, baseline, seed=result.seed, margin=margin),
            p_student=tcav_stats.student(layer.random_scores, layer.concept_scores),
            other=None if other is None else other.layers[i].concept_scores,
        ))
    return stats


def _adjust(stats: list[LayerStats], pick: str, mode: str = "default") -> None:
    if mode == "tcav-reference":  # tensorflow/tcav: two-sided Student t-test at 0.05, no correction
        for s in stats:
            s.p_adjusted = s.p_student if s.represented else float("nan")
        return
    ps = [getattr(s.comparison, pick) if s.represented else float("nan") for s in stats]
    for s, p in zip(stats, tcav_stats.holm(ps)):
        s.p_adjusted = p


def _all_p(stats: list[LayerStats]) -> float:
    """The p-value of a claim that needs every layer: the largest, or NaN when a layer has none."""
    ps = [s.p_adjusted for s in stats]
    return float("nan") if not ps or any(np.isnan(ps)) else float(max(ps))


def _significant(p: float, alpha: float, mode: str = "default") -> bool:
    """tensorflow/tcav calls p <= 0.05 significant; our default needs p < alpha."""
    return bool(p <= alpha) if mode == "tcav-reference" else bool(p < alpha)


def _unrepresented(stats: list[LayerStats], min_accuracy: float) -> str:
    return ", ".join(f"'{s.layer}' (CAV accuracy {s.accuracy:.2f} < {min_accuracy})" for s in stats if not s.represented)


def _overall(stats: list[LayerStats], all_needed: bool) -> Status:
    """Claim status from layer verdicts: any layer passing suffices, or (independence) every layer must pass."""
    verdicts = [s.verdict for s in stats]
    if all_needed:
        if "FAIL" in verdicts:
            return Status.FAIL
        return Status.PASS if verdicts and set(verdicts) == {"PASS"} else Status.INCONCLUSIVE
    if "PASS" in verdicts:
        return Status.PASS
    return Status.FAIL if "FAIL" in verdicts else Status.INCONCLUSIVE


def _metrics(stats: list[LayerStats], effect: float | None) -> dict[str, float]:
    """The deciding effect plus, per layer, TCAV, baseline, adjusted p and CAV accuracy."""
    out: dict[str, float] = {"effect": float("nan") if effect is None else effect}
    for s in stats:
        out[f"tcav[{s.layer}]"] = s.comparison.concept_mean
        out[f"random[{s.layer}]"] = s.comparison.random_mean
        out[f"p_adj[{s.layer}]"] = s.p_adjusted
        out[f"cav_acc[{s.layer}]"] = s.accuracy
    return out


def depends_check(result: TCAVResult, *, min_score: float | None = None, min_effect: float = 0.1,
                  alpha: float = ALPHA, min_accuracy: float = MIN_ACCURACY, model: Any = None) -> Check:
    """PASS when, at some represented layer, the concept's runs are significantly above the random baseline
    (Welch, Holm across the claim's layers), by at least min_effect, and (optionally) score at least min_score."""
    stats = _layer_stats(result, 0.0, min_accuracy)
    _adjust(stats, "p_greater", result.mode)
    threshold = Threshold.of("effect", None, min_effect)
    for s in stats:
        c = s.comparison
        if not s.represented:
            s.verdict = "INCONCLUSIVE"
        elif (_significant(s.p_adjusted, alpha, result.mode) and c.effect >= min_effect
              and (min_score is None or c.concept_mean >= min_score)):
            s.verdict = "PASS"
        else:
            s.verdict = "FAIL"
    represented = [s for s in stats if s.represented]
    passing = [s for s in stats if s.verdict == "PASS"]
    best = max(passing or represented, key=lambda s: s.comparison.effect) if represented else None
    extra = f" with TCAV score at least {min_score:.2f}" if min_score is not None else ""
    test = (f"Student p <= {alpha}, tcav-reference" if result.mode == "tcav-reference"
            else f"Holm-adjusted p < {alpha}")
    claim = (f"'{result.target_name}' depends on concept '{result.concept}': TCAV significantly above the random "
             f"baseline ({test}) by at least {min_effect:.2f}{extra}, at one of {len(stats)} layer(s)")
    reason = None if represented else (f"concept '{result.concept}' is not linearly represented at any layer: "
                                       + _unrepresented(stats, min_accuracy))
    decision = ("one-sided Welch t-test of the concept's runs (one CAV per random set) against the random-vs-random "
                "baseline runs, Holm-corrected over the claim's layers; layers whose CAV accuracy is below "
                f"{min_accuracy} are not counted")
    if result.mode == "tcav-reference":
        decision = ("tensorflow/tcav 0.2.2: two-sided Student t-test of the random baseline's runs against the "
                    f"concept's, significant when p <= {alpha}, no correction; the concept must also score above the "
                    f"baseline by at least {min_effect}; layers whose CAV accuracy is below {min_accuracy} are not counted")
    evidence = TCAVEvidence(result, "depends", stats, alpha, min_accuracy, decision,
                            primary_p=min((s.p_adjusted for s in represented), default=float("nan")),
                            params={"min_effect": min_effect, **({"min_score": min_score} if min_score is not None else {})})
    detail = ""
    if best is not None:
        c = best.comparison
        detail = (f"best layer '{best.layer}': TCAV {c.concept_mean:.3f} vs random {c.random_mean:.3f}, "
                  f"effect {c.effect:.3f} [{c.ci[0]:.3f}, {c.ci[1]:.3f}], Holm-adjusted p {best.p_adjusted:.3g}")
        if best.verdict != "PASS":
            detail += "; not significant" if best.p_adjusted >= alpha else "; effect or score below the minimum"
    status = _overall(stats, all_needed=False)
    effect = best.comparison.effect if best else None
    return Check("tcav_depends", claim, status, threshold, effect, _metrics(stats, effect),
                 reason=reason, detail=detail, evidence=evidence, model=model)


def independent_check(result: TCAVResult, *, margin: float = 0.1, alpha: float = ALPHA,
                      min_accuracy: float = MIN_ACCURACY, model: Any = None) -> Check:
    """PASS only when, at every layer, the concept's runs are shown to be below random + margin (one-sided
    Welch, Holm); FAIL when significantly above by at least margin at some layer; else INCONCLUSIVE."""
    stats = _layer_stats(result, margin, min_accuracy)
    _adjust(stats, "p_within")
    above = tcav_stats.holm([s.comparison.p_greater if s.represented else float("nan") for s in stats])
    for s, p_above in zip(stats, above):
        c = s.comparison
        if not s.represented:
            s.verdict = "INCONCLUSIVE"
        elif s.p_adjusted < alpha:
            s.verdict = "PASS"
        elif p_above < alpha and c.effect >= margin:
            s.verdict = "FAIL"
        else:
            s.verdict = "INCONCLUSIVE"
    threshold = Threshold.of("effect", margin, None)
    claim = (f"'{result.target_name}' does not depend on concept '{result.concept}': at every one of {len(stats)} "
             f"layer(s) its TCAV runs are shown to stay below the random baseline + {margin:.2f}")
    verdicts = {s.verdict for s in stats}
    worst = max(stats, key=lambda s: s.comparison.effect)
    reason = None
    if "FAIL" not in verdicts and verdicts != {"PASS"}:
        unsure = [s for s in stats if s.verdict == "INCONCLUSIVE"]
        parts = []
        if any(not s.represented for s in unsure):
            parts.append("not represented at " + _unrepresented(stats, min_accuracy))
        if any(s.represented for s in unsure):
            parts.append("equivalence to the random baseline could not be shown at "
                         + ", ".join(f"'{s.layer}' (effect {s.comparison.effect:.3f}, p {s.p_adjusted:.3g})"
                                     for s in unsure if s.represented)
                         + "; absence of significance is not evidence of absence (more random runs may decide)")
        reason = "; ".join(parts)
    decision = (f"equivalence test: one-sided Welch t-test that the concept's mean TCAV is below the random baseline's "
                f"+ {margin}, Holm-corrected over layers; PASS needs every layer; FAIL when some layer is significantly "
                f"above the baseline by at least {margin}")
    detail = (f"largest effect at '{worst.layer}': TCAV {worst.comparison.concept_mean:.3f} vs random "
              f"{worst.comparison.random_mean:.3f} (effect {worst.comparison.effect:.3f}, 95% CI "
              f"[{worst.comparison.ci[0]:.3f}, {worst.comparison.ci[1]:.3f}])")
    evidence = TCAVEvidence(result, "independent", stats, alpha, min_accuracy, decision,
                            primary_p=_all_p(stats), params={"margin": margin})
    return Check("tcav_independent", claim, _overall(stats, all_needed=True), threshold, worst.comparison.effect,
                 _metrics(stats, worst.comparison.effect), reason=reason, detail=detail, evidence=evidence, model=model)


def more_than_check(result: TCAVResult, other: TCAVResult, *, min_effect: float = 0.05, alpha: float = ALPHA,
                    min_accuracy: float = MIN_ACCURACY, model: Any = None) -> Check:
    """PASS when, at some layer where both concepts are represented, the concept's runs are significantly above
    the other concept's (Welch, Holm) by at least min_effect."""
    stats = _layer_stats(result, 0.0, min_accuracy, other=other)
    _adjust(stats, "p_greater")
    for s in stats:
        c = s.comparison
        s.verdict = ("INCONCLUSIVE" if not s.represented else
                     "PASS" if s.p_adjusted < alpha and c.effect >= min_effect else "FAIL")
    represented = [s for s in stats if s.represented]
    threshold = Threshold.of("effect", None, min_effect)
    claim = (f"'{result.target_name}' depends on concept '{result.concept}' more than on '{other.concept}': "
             f"TCAV significantly higher by at least {min_effect:.2f} at one of {len(stats)} layer(s)")
    reason = None if represented else ("both concepts must be represented at a layer; "
                                       + _unrepresented(stats, min_accuracy))
    passing = [s for s in stats if s.verdict == "PASS"]
    best = max(passing or represented, key=lambda s: s.comparison.effect) if represented else None
    detail = ""
    if best is not None:
        c = best.comparison
        detail = (f"best layer '{best.layer}': '{result.concept}' {c.concept_mean:.3f} vs '{other.concept}' "
                  f"{c.random_mean:.3f}, Holm-adjusted p {best.p_adjusted:.3g}")
    decision = ("one-sided Welch t-test of the concept's runs against the other concept's runs (same random sets), "
                "Holm-corrected over layers")
    evidence = TCAVEvidence(result, "more_than", stats, alpha, min_accuracy, decision,
                            primary_p=min((s.p_adjusted for s in represented), default=float("nan")), other=other,
                            params={"min_effect": min_effect})
    effect = best.comparison.effect if best else None
    return Check("tcav_more_than", claim, _overall(stats, all_needed=False), threshold,
                 effect, _metrics(stats, effect), reason=reason, detail=detail,
                 evidence=evidence, model=model)
