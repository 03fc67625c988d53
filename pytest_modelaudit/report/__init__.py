"""Report layer: renders the recorded results (results.json) to HTML, PDF and JSON.

It never calls back into a model. Importing this package is cheap: jinja2, numpy, Pillow,
matplotlib and WeasyPrint are imported only when a report is rendered.

    from pytest_modelaudit.report import write_report
    files = write_report(results, "model-audit-report")   # ReportFiles(json_path, html_path, pdf_path, pdf_error)

Re-render a saved run: ``python -m pytest_modelaudit.report results.json OUT_DIR [--no-pdf]``.
"""
from __future__ import annotations

from .render import render_html
from .write import (
    HTML_NAME, JSON_NAME, PDF_NAME, ReportFiles, ReportWarning, ReportWriteError, write_report,
)


__all__ = [
    "write_report", "render_html", "ReportFiles", "ReportWarning", "ReportWriteError",
    "JSON_NAME", "HTML_NAME", "PDF_NAME",
]
