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


PDF_MODES = ("summary", "full")


def render_html(results: dict, *, for_print: bool = False, pdf_mode: str = "full") -> str:
    """The complete, self-contained report page for ``results`` (see docs/results-schema.md).

    ``for_print=True`` gives the flavour WeasyPrint turns into the PDF (print CSS, all
    sections expanded); ``pdf_mode="summary"`` keeps only the cards of audits that did not pass.
    """
    return render_context(build_context(results), for_print=for_print, pdf_mode=pdf_mode)


def render_context(ctx: dict, *, for_print: bool = False, pdf_mode: str = "full") -> str:
    """Render an already built view model (so HTML and PDF share one set of images).

    The summary PDF (``for_print`` and ``pdf_mode="summary"``, the stakeholder's copy) holds the summary, the
    audit table (every audit's claim, measurement and threshold), the comparison, the cards of the audits that
    did not pass and the models in brief; the passes' cards and the layer tables stay in index.html.
    """
    from markupsafe import Markup

    if pdf_mode not in PDF_MODES:
        raise ValueError(f"pdf_mode must be one of {', '.join(PDF_MODES)}, got {pdf_mode!r}")
    env = environment()
    brief = for_print and pdf_mode == "summary"
    carded = [a for a in ctx["audits"] if not (brief and a["status"] == "PASS")]
    ctx = {**ctx, "for_print": for_print, "brief": brief, "carded": {a["anchor"] for a in carded},
           "passes_elsewhere": len(ctx["audits"]) - len(carded)}
    card = env.get_template(CARD_TEMPLATE)
    cards = []
    for audit in carded:
        try:
            cards.append(Markup(card.render(audit=audit, for_print=for_print, brief=brief)))
        except Exception as exc:  # one audit never takes the report down
            cards.append(Markup(env.get_template(BROKEN_CARD_TEMPLATE).render(
                audit=audit, error=f"{type(exc).__name__}: {exc}")))
    return env.get_template(MAIN_TEMPLATE).render(cards=cards, **ctx)
