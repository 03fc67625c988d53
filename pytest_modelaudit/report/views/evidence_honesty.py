"""View of a heatmap audit's honesty evidence (evidence_honesty.html.j2): the checks table, the example maps
of the randomised model and of another class, the stability under noise, and the deletion / insertion curves
per method."""
from __future__ import annotations

from typing import Any

from ...schema import METHOD_LABELS
from ..draw import overlays, plots
from ..formatting import DASH, fmt_num
from .common import as_dict, text

CHECK_NAMES = {
    "randomisation": ("Model randomisation", "rank correlation with the maps of fully re-initialised copies"),
    "class_sensitivity": ("Class sensitivity", "rank correlation with the maps of the other classes"),
    "faithfulness": ("Faithfulness", "insertion area minus deletion area (least favourable fill)"),
}
POLICY_WORDS = {
    "inconclusive": "a failed check makes the audit INCONCLUSIVE",
    "report": "checks are reported only; they do not change the verdict (--model-audit-honesty=report)",
    "off": "the checks were turned off (--model-audit-honesty=off); the curves below are for comparison only",
}


def _result(passed: Any) -> tuple[str, str]:
    if passed is True:
        return "passed", "PASS"
    if passed is False:
        return "failed", "FAIL"
    return "undetermined", "INCONCLUSIVE"


def checks_view(raw: Any, stability: Any, threshold_text: str, stability_skipped: Any = None) -> list[dict]:
    """One row per honesty check, then the stability row (or why it was not run)."""
    rows = []
    for c in raw if isinstance(raw, list) else []:
        c = as_dict(c)
        name, what = CHECK_NAMES.get(str(c.get("name")), (str(c.get("name", "check")), ""))
        word, status = _result(c.get("passed"))
        op = "<" if c.get("name") != "faithfulness" else ">"
        rows.append({"name": name, "what": what, "value": fmt_num(c.get("value")),
                     "threshold": f"{op} {fmt_num(c.get('threshold'), 2)}", "result": word, "status": status,
                     "detail": str(c.get("detail") or "")})
    st = as_dict(stability)
    if st:
        spread = st.get("spread") or [None, None]
        noisy = ", ".join(fmt_num(v) for v in st.get("noisy") or [])
        unstable = bool(st.get("unstable"))
        rows.append({"name": "Stability", "what": f"the mean {st.get('metric', 'metric')} under small input noise",
                     "value": f"{fmt_num(spread[0])} – {fmt_num(spread[1])}", "threshold": threshold_text,
                     "result": "unstable" if unstable else "stable", "status": "INCONCLUSIVE" if unstable else "PASS",
                     "detail": f"clean {fmt_num(st.get('clean'))}; with Gaussian noise sigma {st.get('noise')} of "
                               f"the input range: {noisy}"})
    elif isinstance(stability_skipped, str) and stability_skipped:
        rows.append({"name": "Stability", "what": "the metric under small input noise", "value": DASH,
                     "threshold": threshold_text, "result": "not run", "status": "SKIPPED", "detail": stability_skipped})
    return rows


def examples_view(h: dict, mask: Any) -> list[dict]:
    """The first image's audited map beside the randomised copy's and another class's (same colour scaling rule)."""
    image = h.get("example_image")
    examples = as_dict(h.get("examples"))
    other = h.get("other_class")
    labels = [("audited", "audited model"), ("randomised", "weights re-initialised"),
              ("other_class", f"class ‘{other}’" if other else "another class")]
    out = []
    for key, label in labels:
        grid = examples.get(key)
        if grid is None or image is None:
            continue
        try:
            uri, state = overlays.heatmap_overlay(image, grid, mask)
        except Exception:  # an undrawable example is left out, the numbers stay
            continue
        out.append({"label": label, "uri": uri, "caption": state.caption})
    return out


def _telling_fill(c: dict) -> int:
    """The fill whose deletion curve moves most (a fill that removes nothing draws flat lines)."""
    best, span = 0, -1.0
    for j, ys in enumerate(c.get("deletion") or []):
        vals = plots.finite(ys)
        if len(vals) >= 2 and abs(vals[0] - vals[-1]) > span:
            best, span = j, abs(vals[0] - vals[-1])
    return best


def curves_view(curves: Any, audited: str) -> dict | None:
    """Deletion and insertion plots (first fill) with one line per method, and the areas for every fill."""
    curves = {k: as_dict(v) for k, v in as_dict(curves).items() if as_dict(v).get("fractions")}
    if not curves:
        return None
    order = [audited] + [k for k in curves if k != audited] if audited in curves else list(curves)
    shown = _telling_fill(curves[order[0]])
    rows, deletion, insertion = [], [], []
    fill = None
    for i, name in enumerate(order):
        c = curves[name]
        color = plots.SERIES_COLORS[i % len(plots.SERIES_COLORS)]
        label = METHOD_LABELS.get(name, name) + (" (audited)" if name == audited else "")
        fills = list(c.get("fills") or [])
        fill = fill or (fills[shown] if shown < len(fills) else None)
        xs = c.get("fractions") or []
        for key, out in (("deletion", deletion), ("insertion", insertion)):
            ys = c.get(key) or []
            if shown < len(ys):
                out.append(plots.Series(label, xs, ys[shown], color))
        for j, f in enumerate(fills):
            d = (c.get("deletion_auc") or [None] * len(fills))[j]
            ins = (c.get("insertion_auc") or [None] * len(fills))[j]
            margin = ins - d if isinstance(d, (int, float)) and isinstance(ins, (int, float)) else None
            rows.append({"method": label, "color": color, "fill": f, "first": j == 0, "span": len(fills),
                         "deletion": fmt_num(d), "insertion": fmt_num(ins),
                         "margin": f"{margin:+.2f}" if margin is not None else DASH})
    images = next(iter(curves.values())).get("images")
    return {
        "deletion_svg": plots.curve_plot(deletion, title=f"Deletion (fill: {fill})", x_label="share of pixels removed"),
        "insertion_svg": plots.curve_plot(insertion, title=f"Insertion (fill: {fill})",
                                          x_label="share of pixels restored"),
        "rows": rows,
        "images": images,
    }


def honesty_view(ev: dict, policy: str, threshold_text: str, mask: Any) -> dict | None:
    """Everything the honesty section shows, or None when the audit recorded no honesty evidence."""
    h = as_dict(ev.get("honesty"))
    curves = curves_view(ev.get("curves"), str(ev.get("method") or ""))
    if not h and not curves and not ev.get("stability"):
        return None
    rows = checks_view(h.get("checks"), ev.get("stability"), threshold_text, ev.get("stability_skipped"))
    return {
        "problem": None,
        "rows": rows,
        "images": h.get("images"),
        "policy": POLICY_WORDS.get(policy, ""),
        "examples": examples_view(h, mask) if h else [],
        "example_name": h.get("example_name") or DASH,
        "curves": curves,
    }


def honesty_section(ev: dict, threshold_text: str) -> dict | None:
    """:func:`honesty_view` of a heatmap check's evidence; a problem note instead of an exception."""
    try:
        return honesty_view(ev, text(ev.get("honesty_policy"), "inconclusive"), threshold_text,
                            as_dict(ev.get("honesty")).get("example_mask"))
    except Exception as exc:  # the checks are evidence about the evidence: never lose the card to them
        return {"problem": f"honesty checks could not be shown: {type(exc).__name__}: {exc}",
                "rows": [], "images": None, "policy": "", "examples": [], "curves": None}
