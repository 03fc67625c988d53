"""View of the model comparison section (comparison.html.j2): the matrix of report/comparison.py, each
cell linked to its audit's card."""
from __future__ import annotations

from dataclasses import replace

from ..comparison import Matrix


def comparison_view(matrix: Matrix | None, audits: list[dict]) -> Matrix | None:
    """``matrix`` with its cells pointing at the cards' ids (unique in the page); None when there is none."""
    if matrix is None:
        return None
    anchors = {a["nodeid"]: a["anchor"] for a in audits}
    rows = [replace(r, cells=[[replace(c, anchor=anchors.get(c.nodeid) or c.anchor) for c in cell]
                              for cell in r.cells])
            for r in matrix.rows]
    across = [replace(x, anchor=anchors.get(x.nodeid) or x.anchor) for x in matrix.across]
    return Matrix(matrix.columns, rows, across)
