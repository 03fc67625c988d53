"""View of TCAV evidence (evidence_tcav.html.j2): facts, concept thumbnails, and per layer the scores
(strip plot), CAV accuracy and the tests the claim decides with (random baseline or pseudo-concept null)."""
from __future__ import annotations

import re
from typing import Any

from ...schema import normalise_status
from ..draw import overlays, plots
from ..formatting import DASH, finite_number, fmt_interval, fmt_num, fmt_p, fmt_score, fmt_value
from .common import ImageBudget, as_dict, as_list, quote, text

CLAIM_KINDS = {
    "depends": "depends: the concept raises the target's score (TCAV above the random sets')",
    "opposes": "opposes: the concept pushes the target away (TCAV below the random sets')",
    "independent": "independent: the concept does not drive the target (TCAV shown to stay near the random sets')",
    "more_than": "more than another concept: TCAV above the other concept's",
}
OUTCOMES = {
    "depends": "depends", "opposes": "opposes (pushes away)", "independent": "independent",
    "undecided": "undecided", "more": "more", "less": "less",
}
MAX_CONCEPT_THUMBS = 6
# Per-layer metrics a TCAV check records (tcav[conv3], p_adj[conv3], ...): the layer table shows them.
TCAV_LAYER_METRIC = re.compile(r"^(tcav|random|p_adj|cav_acc|null_mean|null_sd|grad_var|informative|contrast|"
                               r"contrast_null)\[.*\]$")
# The raw p each claim kind decides with, per pseudo-concept comparison: (key, table header).
_NULL_P = {"depends": ("p_greater", "p above"), "opposes": ("p_less", "p below"),
           "independent": ("p_equivalent", "p TOST"), "more_than": ("p_greater", "p above")}


def _count_summary(counts: list) -> str:
    ns = [int(n) for n in counts if isinstance(n, (int, float)) and not isinstance(n, bool)]
    if not ns:
        return DASH
    if min(ns) == max(ns):
        return f"{ns[0]} each" if len(ns) > 1 else str(ns[0])
    return f"{min(ns)}–{max(ns)}"


def _names_summary(names: list[str], keep: int = 3) -> str:
    if len(names) <= keep + 1:
        return ", ".join(names)
    return ", ".join(names[:keep]) + f", … {names[-1]}"


def _mean_sd(n: dict) -> str:
    """'0.50 ± 0.23 (20)': a null's mean, spread and size."""
    mean, sd = fmt_score(n.get("null_mean")), fmt_score(n.get("null_sd"))
    size = n.get("n_null")
    return f"{mean} ± {sd}" + (f" ({size})" if isinstance(size, int) and not isinstance(size, bool) else "")


def _null_cells(n: dict, kind: str) -> dict:
    """The table cells of one pseudo-concept comparison."""
    key, _ = _NULL_P.get(kind, _NULL_P["depends"])
    return {
        "concept_mean": fmt_score(n.get("concept_mean")),
        "null": _mean_sd(n),
        "effect": fmt_score(n.get("effect"), signed=True),
        "interval": fmt_interval(n.get("interval"), signed=True),
        "p_raw": fmt_p(n.get(key)),
        "p_two_sided": fmt_p(n.get("p_two_sided")),
    }


def _tcav_null_layer(L: dict, kind: str, concept: str, other: str, alpha: float | None, base: dict) -> dict:
    """A default-mode layer: informativeness, the pseudo-concept null and, when given, the contrast."""
    null = as_dict(L.get("null"))
    contrast = as_dict(L.get("contrast"))
    cstats = as_dict(contrast.get("stats"))
    decides = bool(L.get("represented")) and bool(L.get("informative", True)) and not L.get("reason")
    p_adj = finite_number(L.get("p_adjusted"))
    groups = [plots.Group(concept or "concept", plots.finite(L.get("concept_scores")), "concept")]
    if kind == "more_than" and isinstance(L.get("other_scores"), list):
        groups.append(plots.Group(other or "other", plots.finite(L.get("other_scores")), "other"))
    groups.append(plots.Group("null", plots.finite(L.get("null_scores")), "random"))
    if cstats:
        groups.append(plots.Group("contrast", plots.finite(contrast.get("scores")), "other"))
        groups.append(plots.Group("ctr. null", plots.finite(contrast.get("null_scores")), "random"))
    name = base["layer"]
    title = (f"TCAV at layer {name}: the concept's runs (mean: its score) against the null, each dot one random set "
             "scored as a pseudo-concept (its mean over its runs)") + (
        "; then the contrast (one run per sibling) against pseudo-contrasts" if cstats else "")
    variation = finite_number(L.get("gradient_variation"))
    informative = bool(L.get("informative", True))
    why = text(L.get("reason"))
    short = ""
    if not L.get("represented"):
        short = base["reason_short"] or "not represented"
    elif not informative:
        short = "not informative: the gradient is the same for every image"
    elif why:
        short = "decides nothing"
    view = dict(base)
    view.update({
        "null_mode": True,
        "represented": decides,
        "acc_ok": bool(L.get("represented")),
        "reason": why,
        "reason_short": short,
        "informative": informative,
        "grad_var": (f"{variation:.2g}" if variation is not None else DASH),
        "informative_text": ("yes" if informative else "no") + f" · {f'{variation:.2g}' if variation is not None else 'zero'}",
        "outcome": OUTCOMES.get(text(L.get("outcome")), DASH) if decides else DASH,
        "p_adjusted": fmt_p(p_adj),
        "significant": decides and p_adj is not None and alpha is not None and p_adj < alpha,
        "one_sided": fmt_score(L.get("one_sided_share")),
        "magnitude_z": (f"{finite_number(L.get('magnitude_z')):+.1f}" if finite_number(L.get("magnitude_z")) is not None
                        else DASH),
        "magnitude_z_min": fmt_value(L.get("magnitude_z_min")),
        "null_runs": str(len(plots.finite(L.get("null_scores")))),
        **_null_cells(null, kind),
        "svg": plots.strip_plot(groups, muted=not decides, title=title),
        "contrast": None,
    })
    if cstats:
        view["contrast"] = {
            **_null_cells(cstats, kind),
            "siblings": ", ".join(quote(x) for x in as_list(contrast.get("siblings"))),
            "scores": " · ".join(fmt_score(x) for x in as_list(contrast.get("scores"))),
            "accuracy": fmt_score(contrast.get("accuracy_mean")),
        }
    return view


def _tcav_layer_view(raw: Any, kind: str, concept: str, other: str, alpha: float | None,
                     min_acc: float | None) -> dict:
    L = as_dict(raw)
    name = text(L.get("layer"), "?")
    represented = bool(L.get("represented"))
    verdict = normalise_status(L.get("verdict")) if L.get("verdict") else "INCONCLUSIVE"
    acc = finite_number(L.get("concept_accuracy_mean"))
    p_key = "p_within" if kind == "independent" else "p_greater"
    p_raw = L.get(p_key) if L.get(p_key) is not None else L.get("p_welch")
    p_adj = finite_number(L.get("p_adjusted"))
    reason = short = ""
    if not represented:
        short = (f"not represented (CAV accuracy {fmt_score(acc)} < {fmt_score(min_acc)})"
                 if acc is not None and min_acc is not None and acc < min_acc else "not represented")
        if acc is not None and min_acc is not None and acc < min_acc:
            reason = (f"not represented: the concept's CAV accuracy {fmt_score(acc)} is below the minimum "
                      f"{fmt_score(min_acc)}, so this layer can neither pass nor fail the claim")
        elif kind == "more_than":
            reason = (f"not represented: the CAVs of ‘{other}’ are below the minimum accuracy"
                      + (f" {fmt_score(min_acc)}" if min_acc is not None else "")
                      + ", so this layer can neither pass nor fail the claim")
        else:
            reason = "not represented: CAV accuracy below the minimum; this layer does not count"
    elif L.get("informative") is False and L.get("informative_reason"):  # tcav-reference records it, never gates
        reason = f"not informative: {text(L.get('informative_reason'))} (tcav-reference does not gate on it)"

    groups = [plots.Group(concept or "concept", plots.finite(L.get("concept_scores")), "concept")]
    if kind == "more_than" and isinstance(L.get("other_scores"), list):
        groups.append(plots.Group(other or "other", plots.finite(L.get("other_scores")), "other"))
    groups.append(plots.Group("random", plots.finite(L.get("random_scores")), "random"))
    title = f"TCAV scores at layer {name}: " + "; ".join(
        f"{g.label} {len(g.values)} run(s), mean {fmt_score(sum(g.values) / len(g.values)) if g.values else DASH}"
        for g in groups)
    dims = L.get("dims")
    base = {
        "layer": name,
        "null_mode": False,
        "dims": fmt_num(dims) if isinstance(dims, int) and not isinstance(dims, bool) else "",
        "verdict": verdict,
        "represented": represented,
        "reason": reason,
        "reason_short": short,
        "acc_concept": fmt_score(acc),
        "acc_random": fmt_score(L.get("random_accuracy_mean")),
        "concept_mean": fmt_score(L.get("concept_mean")),
        "baseline_mean": fmt_score(L.get("baseline_mean")),
        "effect": fmt_score(L.get("effect"), signed=True),
        "ci": fmt_interval(L.get("ci")),
        "p_raw": fmt_p(p_raw),
        "p_two_sided": fmt_p(L.get("p_welch")),
        "p_one_sample": fmt_p(L.get("p_one_sample")),
        "p_student": fmt_p(L.get("p_student")),
        "p_adjusted": fmt_p(p_adj),
        "significant": p_adj is not None and alpha is not None and represented and p_adj < alpha,
        "runs": fmt_num(L.get("runs")) if L.get("runs") is not None else str(len(groups[0].values)),
        "baseline_runs": (fmt_num(L.get("baseline_runs")) if L.get("baseline_runs") is not None
                          else str(len(groups[-1].values))),
        "svg": "",
    }
    if isinstance(L.get("null"), dict):
        return _tcav_null_layer(L, kind, concept, other, alpha, base)
    base["svg"] = plots.strip_plot(groups, muted=not represented, title=title)
    return base


def _tcav_notes(kind: str, alpha: float | None, null_mode: bool, contrast: bool) -> str:
    """The note under the layer table: which p decides, what is for reference only."""
    if not null_mode:
        return (("p below margin: one-sided Welch test that the concept's mean TCAV stays below the "
                 "baseline's + margin" if kind == "independent" else
                 "p Welch: one-sided Welch test of the concept's runs above the "
                 + ("other concept's" if kind == "more_than" else "random baseline's")
                 + " runs (two-sided in brackets)")
                + "; this is the p the claim decides with. p Holm adjusts it over the claim's layers "
                f"(bold: below α {fmt_num(alpha)}). p vs 0.5 (one-sample t-test of the concept's runs) and "
                "p Student (tensorflow/tcav's two-sided test against the random runs) are for reference only.")
    _, head = _NULL_P.get(kind, _NULL_P["depends"])
    what = {"p above": "one-sided, the concept above the null", "p below": "one-sided, the concept below the null",
            "p TOST": "two one-sided tests that the effect lies within ±margin"}[head]
    return ("Null: every random set scored as a pseudo-concept, exactly as the concept (its CAVs against the other "
            "random sets, its score the mean over its runs); mean ± sd (number of sets). "
            f"{head}: prediction t-test of the concept's mean among the pseudo-concepts' means ({what}; two-sided "
            f"in brackets); p Holm adjusts it over the layers that decide (bold: below α {fmt_num(alpha)}). "
            + ("The claim decides against the siblings (second table); the random-based numbers are for reference. "
               if contrast else "")
            + "A layer decides nothing when the concept is not represented (CAV accuracy), when the target's gradient "
              "points the same way for every image (gradient variation below the minimum: TCAV would only measure the "
              "sign of <class weights, CAV>) or when every directional derivative is 0. p Student (tensorflow/tcav's "
              "test) is for reference only.")


def tcav_view(ev: dict, budget: ImageBudget, status: str) -> dict:
    kind = text(ev.get("claim_kind"), "depends")
    concept = text(ev.get("concept"))
    other = text(ev.get("compare_to"))
    alpha = finite_number(ev.get("alpha"))
    min_acc = finite_number(ev.get("min_accuracy"))
    layers = [_tcav_layer_view(L, kind, concept, other, alpha, min_acc) for L in as_list(ev.get("layers"))]
    null_mode = any(L["null_mode"] for L in layers)
    siblings = [text(n) for n in as_list(ev.get("contrast"))]
    has_contrast = null_mode and any(L.get("contrast") for L in layers)

    concept_text = quote(concept)
    if kind == "more_than" and other:
        concept_text += f" compared with {quote(other)}"
    if siblings:
        concept_text += " against its siblings " + ", ".join(quote(x) for x in siblings)
    random_sets = [text(n) for n in as_list(ev.get("random_sets"))]
    n_random = as_list(ev.get("n_random"))
    images = [f"target {fmt_num(ev.get('n_target'))}", f"concept {fmt_num(ev.get('n_concept'))}"]
    if random_sets or n_random:
        n_sets = len(random_sets) or len(n_random)
        images.append(f"random {_count_summary(n_random)} ({n_sets} set{'s' if n_sets != 1 else ''}"
                      + (f": {_names_summary(random_sets)}" if random_sets else "") + ")")
    if siblings:
        images.append(f"siblings {_count_summary(as_list(ev.get('n_contrast')))}")
    runs = {(text(L.get("runs")), text(L.get("baseline_runs"))) for L in map(as_dict, as_list(ev.get("layers")))}
    if len(runs) == 1:
        r, b = next(iter(runs))
        runs_text = (f"{r or DASH} concept run(s) (one CAV per random set) and {b or DASH} random-vs-random "
                     "baseline run(s) per layer")
        if null_mode:
            n_sets = len(random_sets) or len(n_random)
            runs_text = (f"{r or DASH} concept run(s) (one CAV per random set); null: {n_sets} random sets, each "
                         f"scored as a pseudo-concept against the other {max(n_sets - 1, 0)} (one pair matrix per "
                         "layer, shared by every claim of the session)")
    else:
        runs_text = "per layer, see the table"
    params = as_dict(ev.get("params"))
    session_p = finite_number(ev.get("p_session_holm"))
    survives = ev.get("survives_session_correction")
    if survives is False:
        session_text = f"{fmt_p(session_p)}: would not survive session-wide Holm correction"
    elif survives is True:
        session_text = f"{fmt_p(session_p)} (survives at α {fmt_num(alpha)})"
    else:
        session_text = fmt_p(session_p) if session_p is not None else "not computed"
    facts = [
        ("Target class", quote(ev.get("target"))),
        ("Concept", concept_text),
        ("Claim", CLAIM_KINDS.get(kind, kind)),
        ("Mode", text(ev.get("mode"), DASH)),
        ("Output used", text(ev.get("score"), DASH)),
        ("CAV estimator", text(ev.get("estimator"), DASH)),
        ("Pooling", text(ev.get("pooling"), DASH)),
    ]
    if params:
        facts.append(("Parameters", fmt_value(params)))
    facts += [("Alpha", fmt_num(alpha)), ("Min CAV accuracy", fmt_score(min_acc))]
    if null_mode and finite_number(ev.get("gradient_variation_min")) is not None:
        facts.append(("Min gradient variation", fmt_value(ev.get("gradient_variation_min"))))
    facts_extra = [
        ("Images per set", " · ".join(images)),
        ("Target images from", text(ev.get("target_source"), DASH)),
        ("Runs", runs_text),
        ("Claim p (Holm over layers)", fmt_p(ev.get("primary_p"))),
        ("Session-wide Holm p", session_text),
    ]

    thumbs = []
    omitted = False
    for uri in as_list(ev.get("concept_images"))[:MAX_CONCEPT_THUMBS]:
        try:
            t = overlays.thumbnail_uri(uri)
        except Exception:  # a bad thumbnail is only left out
            t = None
        if t is None:
            continue
        if budget.fits(t):
            thumbs.append(t)
        else:
            omitted = True
    _, null_head = _NULL_P.get(kind, _NULL_P["depends"])
    return {
        "type": "tcav",
        "facts": facts,
        "facts_extra": facts_extra,
        "facts_class": "ev-facts ev-facts-half",
        "sign_convention": text(ev.get("sign_convention")),
        "decision": text(ev.get("decision")),
        "kind": kind,
        "concept": concept,
        "other": other,
        "figures": layers,
        "layers": layers,
        "null_mode": null_mode,
        "has_contrast": has_contrast,
        "siblings": ", ".join(quote(x) for x in siblings),
        "null_p_head": null_head,
        "p_raw_head": "p below margin" if kind == "independent" else "p Welch",
        "p_raw_sub": "raw, one-sided" if kind == "independent" else "raw: one-sided (two-sided)",
        "p_note": _tcav_notes(kind, alpha, null_mode, has_contrast),
        "baseline_label": f"‘{other}’" if kind == "more_than" and other else "random",
        "alpha": fmt_num(alpha),
        "session_flag": (survives is False),
        "session_flag_strong": survives is False and status == "PASS",
        "session_p": fmt_p(session_p),
        "concept_images": thumbs,
        "images_omitted": budget.note if omitted else None,
    }

