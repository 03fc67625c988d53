"""View of "embedding" evidence (evidence_embedding.html.j2): the separability numbers against chance and the
2-D scatter by class with the misclassified points marked."""
from __future__ import annotations

from ..formatting import fmt_num
from .common import ImageBudget, as_list, text


def view(ev: dict, budget: ImageBudget) -> dict:
    """The embedding evidence as the template wants it; malformed fields show as dashes, never crash."""
    classes = [text(c) for c in as_list(ev.get("classes"))]
    points = as_list(ev.get("points"))
    method = text(ev.get("method"), "pca")
    explained = [v for v in as_list(ev.get("explained")) if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if method == "pca":
        labels = [f"PC{i + 1}" + (f" ({explained[i] * 100:.0f}% of variance)" if i < len(explained) else "")
                  for i in range(2)]
    else:
        labels = ["t-SNE 1", "t-SNE 2"]
    figure, omitted = None, ""
    if points:
        from ..draw.insight_plots import scatter_png

        uri = scatter_png(points, classes, xlabel=labels[0], ylabel=labels[1])
        if budget.fits(uri):
            figure = uri
        else:
            omitted = budget.note
    k = ev.get("k")
    shown, total = len(points), ev.get("points_total")
    facts = [("layer", text(ev.get("layer"), "—")),
             (f"{k if isinstance(k, int) else 'k'}-NN accuracy (leave-one-out)", fmt_num(ev.get("knn_accuracy"), 3)),
             ("chance (majority share)", fmt_num(ev.get("chance"), 3)),
             ("silhouette", fmt_num(ev.get("silhouette"), 3)),
             ("features (varying)", f"{text(ev.get('features'), '—')} ({text(ev.get('informative_dims'), '—')})"),
             ("distance", text(ev.get("distance"), "—")),
             ("picture", "PCA" if method == "pca" else "t-SNE")]
    if isinstance(total, int) and total > shown:
        facts.append(("points drawn", f"{shown} of {total}"))
    return {"type": "embedding", "template": "evidence_embedding.html.j2", "facts": facts, "figure": figure,
            "method": method, "images_omitted": omitted, "source": text(ev.get("source"))}
