"""Small inline-SVG plots for the report (pure Python: no numpy, no matplotlib, no JavaScript).

``strip_plot`` draws the TCAV runs of one layer: one row per group (the concept's runs, the
random-vs-random baseline, the other concept of a ``more_than`` claim) on a 0–1 score axis, each
run a dot (deterministic vertical jitter), the interquartile range a light box and the mean a bar
with its value at the right. The SVG uses presentation attributes only (no CSS, no links, no
scripts), so it renders the same in browsers and in WeasyPrint's PDF.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

FONT = "-apple-system, Segoe UI, Roboto, Helvetica Neue, Arial, Liberation Sans, DejaVu Sans, sans-serif"

# Colours per group role; a layer where the concept is not represented is drawn in MUTED.
COLORS = {
    "concept": ("#0b5cad", "#083f78"),   # (dots/box, mean bar)
    "random": ("#6e7781", "#3d444b"),
    "other": ("#c2410c", "#8a2e08"),
}
MUTED = ("#a3acb5", "#7d8790")

LABEL_W = 64          # left column for row labels
PLOT_W = 200          # the 0–1 axis
RIGHT_W = 36          # mean value text
ROW_H = 22
TOP = 6
AXIS_H = 18
JITTER = 5.5          # half-height of the vertical jitter, px
DOT_R = 2.4
GOLDEN = 0.6180339887498949


@dataclass(frozen=True)
class Group:
    label: str
    values: list[float]
    role: str = "concept"   # concept | random | other


def finite(values: object) -> list[float]:
    """The finite numbers of a JSON list (anything else dropped)."""
    if not isinstance(values, (list, tuple)):
        return []
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        v = float(v)
        if math.isfinite(v):
            out.append(v)
    return out


def quantile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolation quantile (numpy's default) of an already sorted, non-empty list."""
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _short(label: str, n: int = 10) -> str:
    return label if len(label) <= n else label[: n - 1] + "…"


def _f(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def strip_plot(groups: list[Group], *, muted: bool = False, title: str = "") -> str:
    """An SVG strip plot (box + dots + mean) of ``groups`` on a 0–1 axis, as a string.

    Every piece of text is escaped; values outside [0, 1] are clamped to the axis.
    """
    width = LABEL_W + PLOT_W + RIGHT_W
    height = TOP + ROW_H * max(len(groups), 1) + AXIS_H
    x0 = LABEL_W
    bottom = TOP + ROW_H * max(len(groups), 1)

    def x(v: float) -> float:
        return x0 + PLOT_W * min(max(v, 0.0), 1.0)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="strip" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title, quote=True)}" '
        f'font-family="{FONT}">',
    ]
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    # grid: quarters light, 0.5 dashed (a TCAV score of 0.5 = no directional preference)
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        xt = _f(x(t))
        if t == 0.5:
            parts.append(f'<line x1="{xt}" y1="{TOP - 2}" x2="{xt}" y2="{bottom}" stroke="#8c959f" '
                         'stroke-width="1" stroke-dasharray="3 2"/>')
        else:
            parts.append(f'<line x1="{xt}" y1="{TOP - 2}" x2="{xt}" y2="{bottom}" stroke="#e4e8ec" stroke-width="1"/>')
    # axis
    parts.append(f'<line x1="{x0}" y1="{bottom + 0.5}" x2="{x0 + PLOT_W}" y2="{bottom + 0.5}" stroke="#57606a" stroke-width="1"/>')
    for t, text in ((0.0, "0"), (0.25, ".25"), (0.5, "0.5"), (0.75, ".75"), (1.0, "1")):
        xt = _f(x(t))
        parts.append(f'<line x1="{xt}" y1="{bottom}" x2="{xt}" y2="{bottom + 3}" stroke="#57606a" stroke-width="1"/>')
        parts.append(f'<text x="{xt}" y="{bottom + 13}" font-size="9" fill="#57606a" text-anchor="middle">{text}</text>')
    parts.append(f'<text x="{x0 + PLOT_W + RIGHT_W - 2}" y="{bottom + 13}" font-size="8.5" fill="#8c959f" '
                 'text-anchor="end">mean</text>')

    for i, g in enumerate(groups):
        cy = TOP + ROW_H * i + ROW_H / 2
        fill, dark = MUTED if muted else COLORS.get(g.role, COLORS["concept"])
        label = escape(_short(g.label))
        parts.append(f'<text x="{x0 - 6}" y="{_f(cy + 3.5)}" font-size="10" fill="#30363d" '
                     f'text-anchor="end">{label}</text>')
        vals = finite(g.values)
        if not vals:
            parts.append(f'<text x="{x0 + 4}" y="{_f(cy + 3.5)}" font-size="9" fill="#8c959f">no runs</text>')
            continue
        s = sorted(vals)
        q1, q3 = quantile(s, 0.25), quantile(s, 0.75)
        bw = max(x(q3) - x(q1), 1.0)
        parts.append(f'<rect x="{_f(x(q1))}" y="{_f(cy - 7)}" width="{_f(bw)}" height="14" fill="{fill}" '
                     f'fill-opacity="0.14" stroke="{fill}" stroke-opacity="0.45" stroke-width="0.8"/>')
        for j, v in enumerate(vals):
            # deterministic low-discrepancy jitter: the same runs always land in the same place
            dy = ((j * GOLDEN) % 1.0 - 0.5) * 2 * JITTER
            parts.append(f'<circle cx="{_f(x(v))}" cy="{_f(cy + dy)}" r="{DOT_R}" fill="{fill}" '
                         'fill-opacity="0.72"/>')
        mean = sum(vals) / len(vals)
        xm = _f(x(mean))
        parts.append(f'<line x1="{xm}" y1="{_f(cy - 8.5)}" x2="{xm}" y2="{_f(cy + 8.5)}" stroke="{dark}" '
                     'stroke-width="2.4"/>')
        parts.append(f'<text x="{x0 + PLOT_W + RIGHT_W - 2}" y="{_f(cy + 3.5)}" font-size="10" '
                     f'font-weight="600" fill="{dark}" text-anchor="end">{mean:.2f}</text>')
    parts.append("</svg>")
    return "".join(parts)


# --------------------------------------------------------------------------- deletion / insertion curves

# One colour per heatmap method, in the order the report lists them.
SERIES_COLORS = ("#0b5cad", "#c2410c", "#1a7f37", "#8250df", "#6e7781")
CURVE_W, CURVE_H = 200, 110  # plot area
CURVE_LEFT, CURVE_TOP, CURVE_BOTTOM = 30, 16, 28


@dataclass(frozen=True)
class Series:
    label: str
    xs: list[float]
    ys: list[float]
    color: str


def curve_plot(series: list[Series], *, title: str, x_label: str) -> str:
    """An SVG line plot of probability curves on [0, 1] x [0, 1] (one polyline per series), as a string."""
    width = CURVE_LEFT + CURVE_W + 8
    height = CURVE_TOP + CURVE_H + CURVE_BOTTOM

    def px(v: float) -> float:
        return CURVE_LEFT + CURVE_W * min(max(v, 0.0), 1.0)

    def py(v: float) -> float:
        return CURVE_TOP + CURVE_H * (1.0 - min(max(v, 0.0), 1.0))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="curves" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title, quote=True)}" font-family="{FONT}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{CURVE_LEFT}" y="10" font-size="10" font-weight="600" fill="#30363d">{escape(title)}</text>',
    ]
    for t in (0.0, 0.5, 1.0):
        parts.append(f'<line x1="{_f(px(0))}" y1="{_f(py(t))}" x2="{_f(px(1))}" y2="{_f(py(t))}" stroke="#e4e8ec"/>')
        parts.append(f'<text x="{CURVE_LEFT - 4}" y="{_f(py(t) + 3)}" font-size="9" fill="#57606a" '
                     f'text-anchor="end">{_f(t)}</text>')
        parts.append(f'<text x="{_f(px(t))}" y="{_f(py(0) + 12)}" font-size="9" fill="#57606a" '
                     f'text-anchor="middle">{_f(t)}</text>')
    parts.append(f'<line x1="{_f(px(0))}" y1="{_f(py(0))}" x2="{_f(px(1))}" y2="{_f(py(0))}" stroke="#57606a"/>')
    parts.append(f'<text x="{_f(px(0.5))}" y="{height - 3}" font-size="9" fill="#57606a" '
                 f'text-anchor="middle">{escape(x_label)}</text>')
    for s in series:
        points = [(float(x), float(y)) for x, y in zip(s.xs, s.ys) if finite([x, y]) == [x, y]]
        if len(points) < 2:
            continue
        path = " ".join(f"{_f(px(x))},{_f(py(y))}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{escape(s.color, quote=True)}" '
                     'stroke-width="1.6" stroke-opacity="0.85"/>')
    parts.append("</svg>")
    return "".join(parts)
