"""TCAV expectations as pure functions: depends, opposes, independent, more-than. Layers are the claim's hypotheses.

A layer decides nothing (verdict INCONCLUSIVE) when the concept is not represented there (CAV accuracy
below min_accuracy, default 0.7), when it is not informative (the target's gradient points the same way
for every image, or is zero: TCAV there only measures the sign of <class weights, CAV>), or when every
directional derivative of the concept's CAVs is exactly 0.

Default mode decides against the pseudo-concept null (tcav_stats.prediction_test): the concept's mean
score against the mean scores of the random sets scored like the concept, and, for above / below, its mean
directional derivative against theirs, which must also lie MIN_MAGNITUDE_Z of their sd away. Three outcomes per layer, each
Holm-corrected over the layers that decide: depends (significantly above by at least min_effect), opposes
(significantly below by at least min_effect: the concept pushes the class away), independent (within
+-margin by two one-sided tests). A depends / opposes layer that points the claim's way with a directional
derivative between GREY_Z and MIN_MAGNITUDE_Z sd, where ignored concepts also lie, is INCONCLUSIVE, not FAIL,
and so is the claim when no layer passes. Depends / opposes (and the FAIL of independence they imply) must also
replicate: shown at one layer but not at every informative layer of the claim, the claim is INCONCLUSIVE (one
deciding layer needs MIN_SINGLE_LAYER_Z). With `contrast`, the claims decide on the concept against its sibling
concepts instead; the random-based comparison is kept in the evidence. `mode="tcav-reference"` keeps
tensorflow/tcav's two-sided Student test against the random runs, unchanged.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..checks.verdicts import Check, Status, Threshold
from . import layers as L
from . import stats as tcav_stats
from .layers import ALPHA, MIN_ACCURACY, MIN_MAGNITUDE_Z, LayerStats, TCAVEvidence
from .scores import TCAVResult

def depends_check(result: TCAVResult, *, min_score: float | None = None, min_effect: float = 0.1,
                  alpha: float = ALPHA, min_accuracy: float = MIN_ACCURACY, model: Any = None) -> Check:
    """PASS when, at some layer that decides, the concept's mean score is significantly above the pseudo-concept
    null (or, with contrast, its siblings') by at least min_effect (Holm across the claim's layers) and
    (optionally) scores at least min_score (its contrast score, with contrast)."""
    stats = L.layer_stats(result, 0.0, min_accuracy)
    ref = L.reference(result)
    if ref:
        L.adjust_reference(stats)
    else:
        L.holm_outcomes(stats, min_effect, alpha)
    for s in stats:
        score = s.comparison.concept_mean if ref else s.deciding.concept_mean
        if not (s.represented if ref else s.decides):
            s.verdict = Status.INCONCLUSIVE
            continue
        if not ref:
            s.p_adjusted = s.p_holm["greater"]
        strong = (L.significant(s.p_adjusted, alpha, result.mode) and s.effect >= min_effect
                  and (min_score is None or score >= min_score))
        s.verdict = Status.PASS if strong and (ref or L.moves_logit(s, +1)) else Status.FAIL
        if s.verdict == Status.FAIL and not ref and L.grey(s, +1, min_effect):
            s.verdict, s.ambiguous = Status.INCONCLUSIVE, True
    gaps = [] if ref else L.replication_gaps(stats, +1)
    deciding = [s for s in stats if (s.represented if ref else s.decides)]
    passing = [s for s in stats if s.verdict == Status.PASS]
    best = L.best(stats, passing, lambda s: s.effect, ref)
    extra = f" with TCAV score at least {min_score:.2f}" if min_score is not None else ""
    test = (f"Student p <= {alpha}, tcav-reference" if ref else f"Holm-adjusted p < {alpha}")
    against = "the random baseline" if ref else L.against(result)
    claim = (f"'{result.target_name}' depends on concept '{result.concept}': TCAV significantly above {against} "
             f"({test}) by at least {min_effect:.2f}{extra}, "
             + (f"at one of {len(stats)} layer(s)" if ref else f"at every informative one of {len(stats)} layer(s)"))
    reason = L.no_layer_reason(result, stats, min_accuracy)
    if reason is None and not passing and any(s.ambiguous for s in stats):
        reason = L.grey_reason(stats, +1)
    if gaps:
        reason = L.replication_reason(passing, gaps, +1)
    if ref:
        decision = ("tensorflow/tcav 0.2.2: two-sided Student t-test of the random baseline's runs against the "
                    f"concept's, significant when p <= {alpha}, no correction; the concept must also score above the "
                    f"baseline by at least {min_effect}; layers whose CAV accuracy is below {min_accuracy} are not counted")
    else:
        decision = L.decision(result, "depends", alpha, min_accuracy, min_effect)
    evidence = TCAVEvidence(result, "depends", stats, alpha, min_accuracy, decision,
                            primary_p=min((s.p_adjusted for s in deciding), default=float("nan")),
                            params={"min_effect": min_effect, **({"min_score": min_score} if min_score is not None else {})})
    detail = ""
    if best is not None:
        detail = f"best layer '{best.layer}': " + L.layer_numbers(best, result)
        if best.verdict == Status.FAIL:
            detail += "; " + L.why_not_shown(best, alpha, min_effect, +1, result.mode, min_score,
                                           best.comparison.concept_mean if ref else best.deciding.concept_mean, ref)
    if not ref and L.undecidable(stats) and reason is None:
        detail += ("; " if detail else "") + "layers that decide nothing: " + L.undecidable(stats)
    effect = best.effect if best else None
    status = Status.INCONCLUSIVE if gaps else L.overall(stats, all_needed=False)
    return Check("tcav_depends", claim, status, Threshold.of("effect", None, min_effect),
                 effect, L.metrics(result, stats, effect), reason=reason, detail=detail, evidence=evidence, model=model)


def opposes_check(result: TCAVResult, *, min_effect: float = 0.1, alpha: float = ALPHA,
                  min_accuracy: float = MIN_ACCURACY, model: Any = None) -> Check:
    """PASS when, at some layer that decides, the concept's mean score is significantly below the pseudo-concept
    null (or its siblings') by at least min_effect, Holm across the layers: the concept pushes the class away."""
    if L.reference(result):
        from ...errors import ModelAuditError

        raise ModelAuditError("expect_opposes needs the default mode's pseudo-concept null; mode='tcav-reference' "
                              "only reproduces tensorflow/tcav's two-sided test.")
    stats = L.layer_stats(result, 0.0, min_accuracy)
    L.holm_outcomes(stats, min_effect, alpha)
    for s in stats:
        s.p_adjusted = s.p_holm["less"]
        strong = s.p_adjusted < alpha and s.effect <= -min_effect
        s.verdict = (Status.INCONCLUSIVE if not s.decides else
                     Status.PASS if strong and L.moves_logit(s, -1) else Status.FAIL)
        if s.verdict == Status.FAIL and L.grey(s, -1, min_effect):
            s.verdict, s.ambiguous = Status.INCONCLUSIVE, True
    gaps = L.replication_gaps(stats, -1)
    deciding = [s for s in stats if s.decides]
    passing = [s for s in stats if s.verdict == Status.PASS]
    best = L.best(stats, passing, lambda s: -s.effect)
    claim = (f"'{result.target_name}' is pushed away by concept '{result.concept}': TCAV significantly below "
             f"{L.against(result)} (Holm-adjusted p < {alpha}) by at least {min_effect:.2f}, at every informative one "
             f"of {len(stats)} layer(s)")
    detail = ""
    if best is not None:
        detail = f"best layer '{best.layer}': " + L.layer_numbers(best, result)
        if best.verdict == Status.FAIL:
            detail += "; " + L.why_not_shown(best, alpha, min_effect, -1)
    reason = L.no_layer_reason(result, stats, min_accuracy)
    if reason is None and not passing and any(s.ambiguous for s in stats):
        reason = L.grey_reason(stats, -1)
    if gaps:
        reason = L.replication_reason(passing, gaps, -1)
    if reason is None and L.undecidable(stats):
        detail += ("; " if detail else "") + "layers that decide nothing: " + L.undecidable(stats)
    evidence = TCAVEvidence(result, "opposes", stats, alpha, min_accuracy,
                            L.decision(result, "opposes", alpha, min_accuracy, min_effect),
                            primary_p=min((s.p_adjusted for s in deciding), default=float("nan")),
                            params={"min_effect": min_effect})
    effect = best.effect if best else None
    status = Status.INCONCLUSIVE if gaps else L.overall(stats, all_needed=False)
    return Check("tcav_opposes", claim, status, Threshold.of("effect", -min_effect, None),
                 effect, L.metrics(result, stats, effect), reason=reason, detail=detail, evidence=evidence, model=model)


def _independent_reference(stats: list[LayerStats], margin: float, alpha: float) -> None:
    """The behaviour before the three outcomes, kept for tcav-reference: one-sided Welch below random + margin."""
    for s in stats:
        s.p_adjusted = float("nan")
    ps = [s.comparison.p_within if s.represented else float("nan") for s in stats]
    above = tcav_stats.holm([s.comparison.p_greater if s.represented else float("nan") for s in stats])
    for s, p, p_above in zip(stats, tcav_stats.holm(ps), above):
        s.p_adjusted = p
        s.verdict = (Status.INCONCLUSIVE if not s.represented else Status.PASS if p < alpha else
                     Status.FAIL if p_above < alpha and s.comparison.effect >= margin else Status.INCONCLUSIVE)


def independent_check(result: TCAVResult, *, margin: float = 0.1, alpha: float = ALPHA,
                      min_accuracy: float = MIN_ACCURACY, model: Any = None) -> Check:
    """PASS only when, at every layer, the concept's mean score is shown within +-margin of the null (TOST, Holm);
    FAIL when some layer shows it significantly above (depends) or below (opposes: the concept pushes the class
    away) by at least margin; else INCONCLUSIVE (absence of significance is not evidence of absence)."""
    stats = L.layer_stats(result, margin, min_accuracy)
    ref = L.reference(result)
    if ref:
        _independent_reference(stats, margin, alpha)
    else:
        L.holm_outcomes(stats, margin, alpha)
        for s in stats:
            s.p_adjusted = s.p_holm["equivalent"]
            s.verdict = (Status.INCONCLUSIVE if not s.decides else
                         Status.FAIL if s.outcome in ("depends", "opposes") else
                         Status.PASS if s.outcome == "independent" else Status.INCONCLUSIVE)
    gaps: list[LayerStats] = []
    if not ref and any(s.verdict == Status.FAIL for s in stats):
        # a dependence that refutes independence must replicate like depends / opposes themselves
        direction = +1 if next(s for s in stats if s.verdict == Status.FAIL).outcome == "depends" else -1
        gaps = [s for s in stats if s.decides and not L.moves_logit(s, direction)]
        if gaps:
            refuting = [s for s in stats if s.verdict == Status.FAIL]
            for s in refuting:
                s.verdict = Status.INCONCLUSIVE
    against = "the random baseline" if ref else L.against(result)
    claim = (f"'{result.target_name}' does not depend on concept '{result.concept}': at every one of {len(stats)} "
             f"layer(s) its TCAV is shown to stay within ±{margin:.2f} of {against}")
    if ref:
        claim = (f"'{result.target_name}' does not depend on concept '{result.concept}': at every one of {len(stats)} "
                 f"layer(s) its TCAV runs are shown to stay below the random baseline + {margin:.2f}")
    fails = [s for s in stats if s.verdict == Status.FAIL]
    pool = fails or [s for s in stats if s.decides]
    worst = (max(stats, key=lambda s: s.comparison.effect) if ref else
             max(pool, key=lambda s: abs(s.effect) if np.isfinite(s.effect) else -1.0) if pool else None)
    reason = None
    if not fails and {s.verdict for s in stats} != {Status.PASS}:
        reason = _independent_reason(stats, margin, min_accuracy, ref, alpha)
    if gaps:
        reason = L.replication_reason(refuting, gaps, direction)
    if ref:
        decision = (f"equivalence test: one-sided Welch t-test that the concept's mean TCAV is below the random "
                    f"baseline's + {margin}, Holm-corrected over layers; PASS needs every layer; FAIL when some layer is "
                    f"significantly above the baseline by at least {margin}")
    else:
        decision = L.decision(result, "independent", alpha, min_accuracy, margin) + "; PASS needs every layer"
    detail = f"largest effect at '{worst.layer}': " + L.layer_numbers(worst, result) if worst is not None else ""
    if worst is not None and worst.verdict == Status.FAIL and not ref:
        detail = (f"at '{worst.layer}' concept '{result.concept}' "
                  + ("pushes the class away (opposes)" if worst.outcome == "opposes" else
                     "raises the class's logit (depends)")
                  + ": " + L.layer_numbers(worst, result).replace(f"Holm-adjusted p {worst.p_adjusted:.3g}",
                                                                 f"Holm-adjusted p {_direction_p(worst):.3g}"))
    evidence = TCAVEvidence(result, "independent", stats, alpha, min_accuracy, decision,
                            primary_p=L.all_p(stats), params={"margin": margin})
    threshold = Threshold.of("effect", margin, None) if ref else Threshold.of("effect", margin, -margin)
    effect = worst.effect if worst is not None else None
    return Check("tcav_independent", claim, L.overall(stats, all_needed=True), threshold, effect,
                 L.metrics(result, stats, effect), reason=reason, detail=detail, evidence=evidence, model=model)


def _direction_p(s: LayerStats) -> float:
    return s.p_holm["less"] if s.outcome == "opposes" else s.p_holm["greater"]


def _independent_reason(stats: list[LayerStats], margin: float, min_accuracy: float, ref: bool,
                        alpha: float = ALPHA) -> str:
    """Why independence is INCONCLUSIVE: layers that decide nothing, and layers where equivalence was not shown."""
    unsure = [s for s in stats if s.verdict == Status.INCONCLUSIVE]
    parts = []
    if any(not s.represented for s in unsure):
        parts.append("not represented at " + L.unrepresented(stats, min_accuracy))
    if not ref and any(s.represented and s.reason for s in unsure):
        parts.append("; ".join(f"'{s.layer}': {s.reason}" for s in unsure if s.represented and s.reason))
    shown = [s for s in unsure if (s.represented if ref else s.decides)]
    if shown:
        what = ("the random baseline" if ref else "the siblings" if shown[0].contrast is not None
                else "the pseudo-concept null")
        parts.append(f"equivalence to {what} could not be shown at "
                     + ", ".join(f"'{s.layer}' (effect {s.effect:.3f}, p {s.p_adjusted:.3g})" for s in shown)
                     + "; absence of significance is not evidence of absence")
        wide = [s for s in shown if not ref and s.deciding is not None and s.deciding.null_sd
                > tcav_stats.widest_null_for_equivalence(margin, s.deciding.n_null, alpha)]
        if wide:
            d = wide[0].deciding
            limit = tcav_stats.widest_null_for_equivalence(margin, d.n_null, alpha)
            parts.append(f"at {', '.join(repr(s.layer) for s in wide)} {what} itself spreads ±{d.null_sd:.2f} (sd), "
                         f"wider than the ±{limit:.2f} within which a concept could be shown within ±{margin:g}: no "
                         "concept can be shown independent there; what would decide it: a layer where random sets "
                         "agree, contrast= with sibling concepts, or a wider margin= if that still means independent")
        else:
            parts.append("more random sets, or a narrower null through contrast=, may decide")
    return "; ".join(parts)


def more_than_check(result: TCAVResult, other: TCAVResult, *, min_effect: float = 0.05, alpha: float = ALPHA,
                    min_accuracy: float = MIN_ACCURACY, model: Any = None) -> Check:
    """PASS when, at some layer where both concepts are represented (and that is informative), the concept's
    mean score is significantly above the other concept's by at least min_effect, Holm across the layers.
    Default mode: the difference of the two fixed sets' means against the pseudo-concepts' spread (sqrt(2) sd)."""
    stats = L.layer_stats(result, 0.0, min_accuracy, other=other)
    ref = L.reference(result)
    if ref:
        for s, p in zip(stats, tcav_stats.holm([s.comparison.p_greater if s.represented else float("nan")
                                                for s in stats])):
            s.p_adjusted = p
    else:
        L.holm_outcomes(stats, min_effect, alpha, more_than=True)
        for s in stats:
            s.p_adjusted = s.p_holm["greater"]
    for s in stats:
        usable = s.represented if ref else s.decides
        s.verdict = (Status.INCONCLUSIVE if not usable else
                     Status.PASS if s.p_adjusted < alpha and s.effect >= min_effect else Status.FAIL)
    usable = [s for s in stats if (s.represented if ref else s.decides)]
    claim = (f"'{result.target_name}' depends on concept '{result.concept}' more than on '{other.concept}': "
             f"TCAV significantly higher by at least {min_effect:.2f} at one of {len(stats)} layer(s)")
    reason = None
    if not usable:
        reason = ("both concepts must be represented at a layer; " + L.unrepresented(stats, min_accuracy)
                  if not any(s.represented for s in stats) else "no layer can decide the claim: " + L.undecidable(stats))
    passing = [s for s in stats if s.verdict == Status.PASS]
    best = max(passing or usable, key=lambda s: s.effect) if usable else None
    detail = ""
    if best is not None:
        c = best.comparison
        detail = (f"best layer '{best.layer}': '{result.concept}' {c.concept_mean:.3f} vs '{other.concept}' "
                  f"{c.random_mean:.3f}, Holm-adjusted p {best.p_adjusted:.3g}")
        if not ref and best.null is not None:
            detail += f" (a fixed set's mean varies with sd {best.null.null_sd:.3f} among pseudo-concepts)"
    decision = ("one-sided Welch t-test of the concept's runs against the other concept's runs (same random sets), "
                "Holm-corrected over layers")
    if not ref:
        decision = ("one-sided t-test of the difference of the two concepts' mean TCAV scores, scaled by the pseudo-"
                    "concept null's spread (sd * sqrt(2), df = P - 1: each fixed set's mean varies like a random "
                    "set's), Holm-corrected over the layers where both are represented and the layer is informative")
    evidence = TCAVEvidence(result, "more_than", stats, alpha, min_accuracy, decision,
                            primary_p=min((s.p_adjusted for s in usable), default=float("nan")), other=other,
                            params={"min_effect": min_effect})
    effect = best.effect if best else None
    return Check("tcav_more_than", claim, L.overall(stats, all_needed=False), Threshold.of("effect", None, min_effect),
                 effect, L.metrics(result, stats, effect), reason=reason, detail=detail, evidence=evidence, model=model)


__all__ = ["ALPHA", "MIN_ACCURACY", "MIN_MAGNITUDE_Z", "LayerStats", "TCAVEvidence", "depends_check", "independent_check",
           "more_than_check", "opposes_check"]
