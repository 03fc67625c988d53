"""Render the report HTML (screen or print flavour) from a results dict with jinja2."""
from __future__ import annotations

import functools
import importlib.resources
from pathlib import Path

from .context import build_context

TEMPLATES_PACKAGE = "pytest_modelaudit.templates"
MAIN_TEMPLATE = "report.html.j2"
CARD_TEMPLATE = "audit_card.html.j2"
BROKEN_CARD_TEMPLATE = "audit_card_broken.html.j2"


def templates_dir() -> Path:
    """The folder of the report templates: the ``pytest_modelaudit.templates`` package (package data of the
    wheel; the editable install maps it to ``templates/`` of the checkout through pyproject's package-dir)."""
    return Path(str(importlib.resources.files(TEMPLATES_PACKAGE)))


@functools.lru_cache(maxsize=None)
def environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=select_autoescape(enabled_extensions=("html", "j2", "htm", "xml"),
                                     default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def render_html(results: dict, *, for_print: bool = False) -> str:
    """The complete, self-contained report page for ``results`` (see docs/results-schema.md).

    ``for_print=True`` gives the flavour WeasyPrint turns into the PDF (print CSS, all
    sections expanded).
    """
    return render_context(build_context(results), for_print=for_print)


def render_context(ctx: dict, *, for_print: bool = False) -> str:
    """Render an already built view model (so HTML and PDF share one set of images)."""
    from markupsafe import Markup

    env = environment()
    ctx = {**ctx, "for_print": for_print}
    card = env.get_template(CARD_TEMPLATE)
    cards = []
    for audit in ctx["audits"]:
        try:
            cards.append(Markup(card.render(audit=audit, for_print=for_print)))
        except Exception as exc:  # one audit never takes the report down
            cards.append(Markup(env.get_template(BROKEN_CARD_TEMPLATE).render(
                audit=audit, error=f"{type(exc).__name__}: {exc}")))
    return env.get_template(MAIN_TEMPLATE).render(cards=cards, **ctx)
