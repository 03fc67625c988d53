"""Write the report folder: results.json first, then index.html, then report.pdf.

Each file is written atomically (a temporary file in the same folder, then ``os.replace``), so
a reader never sees half a report and a crash leaves no temporary files behind. A PDF problem
(WeasyPrint or Pango missing, a rendering error) is a :class:`ReportWarning`, never an
exception: the HTML and JSON stay.
"""
from __future__ import annotations

import json
import math
import os
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .context import build_context
from .render import render_context

JSON_NAME = "results.json"
HTML_NAME = "index.html"
PDF_NAME = "report.pdf"


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


def results_to_json(results: dict) -> str:
    return json.dumps(_jsonable(results), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _atomic_write(path: Path, write: Callable[[Any], None]) -> None:
    """Call ``write(fileobj)`` on a temporary file next to ``path``, then move it into place."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    # os.open with 0o666 lets the umask decide the final permissions, like a plain open().
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _write_text(path: Path, text: str) -> None:
    data = text.encode("utf-8")
    try:
        _atomic_write(path, lambda fh: fh.write(data))
    except OSError as exc:
        raise _write_error(f"cannot write {path.name} in report folder {path.parent}: "
                           f"{exc.strerror or exc}", exc) from exc


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
    _atomic_write(path, lambda fh: doc.write_pdf(target=fh))


def _prepare_dir(out_dir: str | os.PathLike) -> Path:
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(f"cannot create report folder {out}: {exc.strerror or exc}", exc) from exc
    if not os.access(out, os.W_OK | os.X_OK):
        raise _write_error(f"report folder {out} is not writable")
    return out


def write_report(results: dict, out_dir: str | os.PathLike, *, pdf: bool = True) -> ReportFiles:
    """Write ``results.json``, ``index.html`` and (if ``pdf``) ``report.pdf`` into ``out_dir``.

    Raises :class:`ReportWriteError` (an ``OSError``) naming the folder when it cannot be
    written. A PDF failure only warns (:class:`ReportWarning`) and is returned as ``pdf_error``.
    """
    out = _prepare_dir(out_dir)
    json_path, html_path, pdf_path = out / JSON_NAME, out / HTML_NAME, out / PDF_NAME

    _write_text(json_path, results_to_json(results))
    ctx = build_context(results)
    _write_text(html_path, render_context(ctx, for_print=False))

    if not pdf:
        return ReportFiles(json_path, html_path, None, None)
    try:
        write_pdf(render_context(ctx, for_print=True), pdf_path)
    except Exception as exc:  # any PDF problem: warn, keep HTML and JSON
        cause = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, ImportError):
            cause += " (install WeasyPrint and its system libraries (Pango) to get the PDF)"
        message = f"model-audit report: PDF not written ({cause}); HTML and JSON are in {out}"
        warnings.warn(message, ReportWarning, stacklevel=2)
        return ReportFiles(json_path, html_path, None, cause)
    return ReportFiles(json_path, html_path, pdf_path, None)
