"""Matplotlib (Agg, no pyplot) figures of the data-level evidence, drawn from results.json numbers only:
the confusion matrix (counts annotated, colour by row share) and the embedding scatter by class."""
from __future__ import annotations

import base64
import io
import math
from typing import Any

from .memo import memoised

# One colour per class (tab10, then tab20); the misclassified points get a black ring.
MAX_ANNOTATED = 15  # classes up to which each cell shows its count


def _png(fig: Any) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _num(v: Any) -> float:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else float("nan")


@memoised()
def confusion_png(counts: list[list[Any]], shares: list[list[Any]], classes: list[str],
                  focus: tuple[int, int] | None = None) -> str:
    """The confusion matrix: rows true, columns predicted, colour = row share, each cell its count."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    k = len(classes)
    side = min(6.0, 1.4 + 0.42 * k)
    fig = Figure(figsize=(side + 0.8, side))
    ax = fig.add_subplot(1, 1, 1)
    grid = [[_num(shares[i][j]) if i < len(shares) and j < len(shares[i]) else float("nan") for j in range(k)]
            for i in range(k)]
    im = ax.imshow([[0.0 if math.isnan(v) else v for v in row] for row in grid], cmap="Blues", vmin=0, vmax=1)
    if k <= MAX_ANNOTATED:
        for i in range(k):
            for j in range(k):
                c = counts[i][j] if i < len(counts) and j < len(counts[i]) else None
                if isinstance(c, (int, float)) and not isinstance(c, bool):
                    dark = not math.isnan(grid[i][j]) and grid[i][j] > 0.55
                    ax.text(j, i, f"{int(c)}", ha="center", va="center", fontsize=8 if k > 8 else 10,
                            color="white" if dark else "#1f2328")
    if focus is not None:
        ax.add_patch(Rectangle((focus[1] - 0.5, focus[0] - 0.5), 1, 1, fill=False, edgecolor="#c2410c", linewidth=2))
    short = [c if len(c) <= 12 else c[:11] + "…" for c in classes]
    ax.set_xticks(range(k), short, rotation=45 if k > 4 else 0, ha="right" if k > 4 else "center", fontsize=8)
    ax.set_yticks(range(k), short, fontsize=8)
    ax.set_xlabel("predicted", fontsize=9)
    ax.set_ylabel("true", fontsize=9)
    cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    cb.set_label("share of the true class", fontsize=8)
    cb.ax.tick_params(labelsize=7)
    return _png(fig)


@memoised()
def scatter_png(points: list[Any], classes: list[str], *, xlabel: str = "axis 1", ylabel: str = "axis 2") -> str:
    """The 2-D embedding: one colour per class, misclassified points ringed in black, a legend by class."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.6, 3.6))
    ax = fig.add_subplot(1, 1, 1)
    cmap = matplotlib.colormaps["tab10" if len(classes) <= 10 else "tab20"]
    by_class: dict[int, list[tuple[float, float, bool]]] = {}
    for p in points:
        if not isinstance(p, (list, tuple)) or len(p) < 4:
            continue
        x, y, lab, ok = _num(p[0]), _num(p[1]), p[2], p[3]
        if math.isnan(x) or math.isnan(y) or not isinstance(lab, int) or isinstance(lab, bool):
            continue
        by_class.setdefault(lab, []).append((x, y, bool(ok)))
    size = 22 if sum(map(len, by_class.values())) < 400 else 8
    for lab in sorted(by_class):
        pts = by_class[lab]
        name = classes[lab] if 0 <= lab < len(classes) else f"class {lab}"
        colour = cmap(lab % cmap.N)
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=size, color=colour, label=name, alpha=0.85,
                   edgecolors="none")
        bad = [p for p in pts if not p[2]]
        if bad:
            ax.scatter([p[0] for p in bad], [p[1] for p in bad], s=size * 2.6, facecolors="none", edgecolors="black",
                       linewidths=0.9)
    if any(not p[2] for pts in by_class.values() for p in pts):
        ax.scatter([], [], s=size * 2.6, facecolors="none", edgecolors="black", linewidths=0.9, label="misclassified")
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)
    if by_class:
        ax.legend(fontsize=7, loc="best", frameon=False, markerscale=0.9)
    return _png(fig)
