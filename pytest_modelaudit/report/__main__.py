"""Re-render a report from a saved results.json, or merge several runs' into one report.

    python -m pytest_modelaudit.report results.json OUT_DIR [--no-pdf] [--pdf {summary,full}]
    python -m pytest_modelaudit.report merge A/results.json B/results.json [...] OUT_DIR [--no-pdf] [--pdf ...]
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings

from ..schema import SCHEMA_VERSION
from .write import ReportWarning, write_report


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["merge"]:
        return merge_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m pytest_modelaudit.report",
        description="Render the model-audit report (HTML, PDF, JSON) from a saved results.json.")
    parser.add_argument("results", help="path to a results.json written by pytest --model-audit")
    parser.add_argument("out_dir", help="folder to write results.json, index.html and report.pdf to")
    _output_options(parser)
    args = parser.parse_args(argv)

    try:
        with open(args.results, encoding="utf-8") as fh:
            results = json.load(fh)
    except OSError as exc:
        print(f"error: cannot read {args.results}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except json.JSONDecodeError as exc:
        print(f"error: {args.results} is not valid JSON: {exc}", file=sys.stderr)
        return 2
    if not isinstance(results, dict) or "audits" not in results:
        print(f"error: {args.results} is not a model-audit results file (no 'audits')", file=sys.stderr)
        return 2
    version = results.get("schema_version")
    if isinstance(version, int) and version > SCHEMA_VERSION:
        print(f"warning: results schema version {version} is newer than this renderer "
              f"({SCHEMA_VERSION}); some parts may not be shown", file=sys.stderr)

    return _write(results, args)


def merge_main(argv: list[str]) -> int:
    """`merge A/results.json B/results.json ... OUT_DIR`: one report of every run's audits."""
    from .merge import MergeError, load_run, merge_results

    parser = argparse.ArgumentParser(
        prog="python -m pytest_modelaudit.report merge",
        description="Merge the results.json of several runs (e.g. one CI job per model) into one report.")
    parser.add_argument("results", nargs="+", help="two or more results.json files, then the output folder")
    _output_options(parser)
    args = parser.parse_args(argv)
    if len(args.results) < 3:
        parser.error("give at least two results.json files and the output folder")
    *sources, args.out_dir = args.results
    try:
        merged = merge_results([(s, load_run(s)) for s in sources])
    except MergeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    merged["run"]["report_dir"] = args.out_dir
    return _write(merged, args)


def _output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-pdf", action="store_true", help="skip the PDF")
    parser.add_argument("--pdf", choices=("summary", "full"), default="summary", dest="pdf_mode",
                        help="what the PDF holds: summary (default: the audit table and the cards of every audit "
                             "that did not pass) or full (every card and the model details)")


def _write(results: dict, args: argparse.Namespace) -> int:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ReportWarning)
        try:
            files = write_report(results, args.out_dir, pdf=not args.no_pdf, pdf_mode=args.pdf_mode)
        except OSError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    print(files.html_path)
    if files.pdf_path is not None:
        print(files.pdf_path)
    print(files.json_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
