"""Write the report folder: results.json, index.html and summary.md together, then report.pdf.

Each file is written atomically (a temporary file in the same folder, then ``os.replace``), so
a reader never sees half a report and a crash leaves no temporary files behind. results.json,
index.html and summary.md are all rendered to temporary files first and moved into place one
after the other, so an interruption (Ctrl-C) while rendering leaves the previous report whole;
the slow PDF comes last, so a PDF crash never costs the other files. A PDF problem
(WeasyPrint or Pango missing, a rendering error) is a :class:`ReportWarning`, never an
exception: the HTML and JSON stay.
"""
from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..schema import atomic_write, stage_file
from .comparison import Matrix, build_matrix
from .context import build_context
from .draw.memo import kept_in
from .render import render_context

JSON_NAME = "results.json"
HTML_NAME = "index.html"
PDF_NAME = "report.pdf"
SUMMARY_NAME = "summary.md"


class ReportWarning(UserWarning):
    """The report was written only in part (for example: no PDF)."""


class ReportWriteError(OSError):
    """The report folder or one of its files cannot be written."""


def _write_error(message: str, cause: OSError | None = None) -> ReportWriteError:
    err = ReportWriteError(message)
    if cause is not None:
        err.errno = cause.errno
    return err


@dataclass(frozen=True)
class ReportFiles:
    json_path: Path
    html_path: Path
    pdf_path: Path | None
    pdf_error: str | None = None
    summary_path: Path | None = None
    comparison: tuple[int, int] | None = None  # (audit tests, models) of the comparison matrix; None: no matrix


def _shape(matrix: Matrix | None) -> tuple[int, int] | None:
    return (len(matrix.rows), len(matrix.columns)) if matrix is not None else None


def _jsonable(obj: Any) -> Any:
    """Strict JSON: non-finite floats become null; numpy scalars/arrays and paths are converted."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    if hasattr(obj, "tolist"):  # numpy scalar or array
        return _jsonable(obj.tolist())
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return str(obj)


_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode  # the C encoder, for leaves and flat lists


def _indented(obj: Any, pad: str = "") -> str:
    """Objects and lists of objects two spaces per level; a list of numbers (a heatmap row) on one line."""
    if isinstance(obj, dict) and obj:
        inner = pad + "  "
        return "{\n" + ",\n".join(f"{inner}{_encode(k)}: {_indented(v, inner)}" for k, v in obj.items()) + f"\n{pad}}}"
    if isinstance(obj, list) and obj and not all(v is None or type(v) in (int, float) for v in obj):
        inner = pad + "  "
        return "[\n" + ",\n".join(inner + _indented(v, inner) for v in obj) + f"\n{pad}]"
    return _encode(obj)


def results_to_json(results: dict) -> str:
    """Indented JSON, with lists of numbers kept on one line (heatmap grids would otherwise triple the size)."""
    return _indented(_jsonable(results)) + "\n"


def _stage(path: Path, text: str) -> Path:
    """Write ``text`` to a temporary file next to ``path`` (moved into place by :func:`_commit`)."""
    try:
        return stage_file(path, text.encode("utf-8"))
    except OSError as exc:
        raise _write_error(f"cannot write {path.name} in report folder {path.parent}: "
                           f"{exc.strerror or exc}", exc) from exc


def _discard(staged: list[tuple[Path, Path]]) -> None:
    for tmp, _ in staged:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _commit(staged: list[tuple[Path, Path]]) -> None:
    """Move staged files into place, in order; on any problem remove the temporary files that are left."""
    done = 0
    try:
        for tmp, path in staged:
            os.replace(tmp, path)
            done += 1
    except BaseException as exc:
        _discard(staged[done:])
        if isinstance(exc, OSError):
            path = staged[done][1]
            raise _write_error(f"cannot write {path.name} in report folder {path.parent}: "
                               f"{exc.strerror or exc}", exc) from exc
        raise


def report_dir_problem(out_dir: str | os.PathLike) -> str | None:
    """Why ``out_dir`` could not be created or written, checked without creating anything; None if it looks fine."""
    path = Path(out_dir)
    probe = path
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        where = "" if probe == path else f" (on the way to {path})"
        return f"{probe}{where} is a file, not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"folder {probe} is not writable"
    return None


def _url_fetcher(weasyprint):
    """A URL fetcher that only resolves ``data:`` URIs: the PDF never reaches out."""
    urls = weasyprint.urls
    if hasattr(urls, "URLFetcher"):  # WeasyPrint >= 66
        return urls.URLFetcher(allowed_protocols={"data"})

    def fetch(url, *args, **kwargs):  # older WeasyPrint: a plain function
        if not str(url).startswith("data:"):
            raise ValueError(f"external resources are not allowed in the report: {url[:80]}")
        return urls.default_url_fetcher(url, *args, **kwargs)

    return fetch


def write_pdf(html: str, path: Path) -> None:
    """Render print HTML to ``path`` with WeasyPrint (atomically). Raises on any problem."""
    import logging

    import weasyprint  # lazily: needs Pango, may be missing

    # WeasyPrint logs every CSS feature it skips; keep the test/CI output quiet.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    doc = weasyprint.HTML(string=html, base_url=str(path.parent), url_fetcher=_url_fetcher(weasyprint))
    atomic_write(path, lambda fh: doc.write_pdf(target=fh))


def _prepare_dir(out_dir: str | os.PathLike) -> Path:
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(f"cannot create report folder {out}: {exc.strerror or exc}", exc) from exc
    if not os.access(out, os.W_OK | os.X_OK):
        raise _write_error(f"report folder {out} is not writable")
    return out


def _remove_stale(path: Path) -> None:
    """Remove an earlier run's file that this run did not write (best effort: a read-only folder keeps it)."""
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def write_report(results: dict, out_dir: str | os.PathLike, *, pdf: bool = True,
                 pdf_mode: str = "summary", drawings: str | os.PathLike | None = None) -> ReportFiles:
    """Write ``results.json``, ``index.html``, ``summary.md`` and (if ``pdf``) ``report.pdf`` into ``out_dir``.

    ``pdf_mode``: "summary" (the stakeholder's copy: the audit table and the cards of what did not pass) or
    "full" (every card and the model details, as index.html). ``drawings``: a folder where the pictures drawn
    for this report are kept, so that the next report of the same evidence does not redraw them.
    Raises :class:`ReportWriteError` (an ``OSError``) naming the folder when it cannot be
    written. A PDF failure only warns (:class:`ReportWarning`) and is returned as ``pdf_error``.
    If the HTML or summary cannot be rendered, ``results.json`` is still written and the error raised.
    """
    from .summary_md import summary_markdown

    out = _prepare_dir(out_dir)
    json_path, html_path, pdf_path = out / JSON_NAME, out / HTML_NAME, out / PDF_NAME
    md_path = out / SUMMARY_NAME

    staged = [(_stage(json_path, results_to_json(results)), json_path)]
    try:
        matrix = build_matrix(results)  # once: the page and summary.md show the same matrix
        with kept_in(drawings):
            ctx = build_context(results, matrix=matrix)
        staged.append((_stage(html_path, render_context(ctx, for_print=False)), html_path))
        staged.append((_stage(md_path, summary_markdown(results, pdf_name=PDF_NAME if pdf else None, matrix=matrix)),
                       md_path))
    except Exception:
        _commit(staged[:1])  # what can be written is written: the JSON holds every result
        _discard(staged[1:])
        raise
    except BaseException:  # Ctrl-C while rendering: the previous report stays whole
        _discard(staged)
        raise
    _commit(staged)

    if not pdf:
        _remove_stale(pdf_path)
        return ReportFiles(json_path, html_path, None, None, md_path, _shape(matrix))
    try:
        write_pdf(render_context(ctx, for_print=True, pdf_mode=pdf_mode), pdf_path)
    except Exception as exc:  # any PDF problem: warn, keep HTML and JSON
        _remove_stale(pdf_path)  # nobody may send an earlier run's PDF as this run's
        cause = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, ImportError):
            cause += " (install WeasyPrint and its system libraries (Pango) to get the PDF)"
        message = f"model-audit report: PDF not written ({cause}); HTML and JSON are in {out}"
        warnings.warn(message, ReportWarning, stacklevel=2)
        try:  # the summary must not link a PDF that this run did not write
            _commit([(_stage(md_path, summary_markdown(results, pdf_name=None, matrix=matrix)), md_path)])
        except OSError:
            pass
        return ReportFiles(json_path, html_path, None, cause, md_path, _shape(matrix))
    return ReportFiles(json_path, html_path, pdf_path, None, md_path, _shape(matrix))
