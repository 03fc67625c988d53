"""Turn a ``results.json`` dict into the view model the templates display.

All interpretation of the results lives in ``views/`` (one module per section template); this
module only assembles them. Every audit is built on its own: a malformed audit or an image that
cannot be drawn becomes a note in its card and never stops the rest of the report.
"""
from __future__ import annotations

from types import EllipsisType

from .comparison import Matrix, build_matrix
from .views.audit_card import audit_views
from .views.common import IMAGE_BUDGET_CHARS, ImageBudget, as_dict
from .views.comparison import comparison_view
from .views.environment import environment_view
from .views.models import model_views, models_section
from .views.summary import summary_view


def _matrix_or_none(results: dict) -> Matrix | None:
    try:
        return build_matrix(results)
    except Exception:  # the matrix is a summary of the cards: never lose the report to it
        return None


def build_context(results: dict, *, for_print: bool = False, image_budget: int = IMAGE_BUDGET_CHARS,
                  matrix: Matrix | None | EllipsisType = ...) -> dict:
    """The view model of a whole report (images included). ``matrix``: the comparison matrix when the
    caller has built it already (write_report shares it with summary.md); built here when not given."""
    results = as_dict(results)
    models = model_views(results.get("models"))
    audits = audit_views(results.get("audits"), models, ImageBudget(image_budget))
    if matrix is ...:
        matrix = _matrix_or_none(results)
    return {
        "for_print": for_print,
        **summary_view(results, audits),
        "audits": audits,
        "models": models_section(models),
        **environment_view(results),
        "comparison": comparison_view(matrix, audits),
    }
