"""The end of the run, on the controller: records gathered from every test report (xdist workers
included), unfinished audits closed, the report written once, and the terminal's model-audit section."""
from __future__ import annotations

import time
from pathlib import Path
import warnings
from datetime import datetime, timezone
from typing import Any

import pytest

from ..schema import SCHEMA_VERSION, STATUS_ORDER, inconclusive_reason
from .interrupt import Stopper
from .keys import CACHE_DIR_KEY, PRUNE_PLUGIN
from .options import Settings


class AuditSession:
    """Controller-side collector: gathers records from reports and writes the report once."""

    def __init__(self, config: pytest.Config, settings: Settings):
        self.config = config
        self.settings = settings
        self.started = datetime.now(timezone.utc)
        self.t0 = time.perf_counter()
        self.audits: dict[str, dict[str, Any]] = {}
        self.models: dict[str, dict[str, Any]] = {}
        self.files: Any = None
        self.error: str | None = None
        self.pending: dict[str, dict[str, str]] = {}   # audits that started and have no outcome yet
        self.crashed: dict[str, dict[str, str]] = {}
        self.interrupted = False
        self.stopper = Stopper()  # Ctrl-C and SIGTERM: marks the run interrupted the moment it is stopped
        self.comparison: tuple[int, int] | None = None  # (tests, models) of the comparison matrix
        self.cache_counts: dict[str, int] = {}  # summed over every process's audit reports

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        from .unfinished import PENDING_ATTR, crashed_record, is_crash_report

        pending = getattr(report, PENDING_ATTR, None)
        if pending:
            self.pending[report.nodeid] = pending
        if is_crash_report(report):  # xdist: the worker died while running this item
            info = self.pending.pop(report.nodeid, None)
            if info is not None:
                self.crashed[report.nodeid] = info
                self.audits[report.nodeid] = crashed_record(info, report.longrepr)
            return
        if report.when in ("call", "teardown") or report.failed:
            self.pending.pop(report.nodeid, None)
        payload = getattr(report, "model_audit", None)
        if not payload:
            return
        self.audits[report.nodeid] = payload["audit"]
        for key, count in payload.get("cache", {}).items():
            self.cache_counts[key] = self.cache_counts.get(key, 0) + count
        for fp, info in payload.get("models", {}).items():
            known = self.models.setdefault(fp, info)
            known["layers_used"] = sorted(set(known.get("layers_used", [])) | set(info.get("layers_used", [])))

    def _relative(self, folder: Any) -> str:
        """A folder as the report names it: relative to where pytest ran when it lies inside (no machine path)."""
        from ..paths import shown_path

        return shown_path(folder, self.config.invocation_params.dir)

    def results(self) -> dict[str, Any]:
        from ..core.checks.verdicts import Status
        from .environment import environment
        from .. import __version__

        from .records import session_holm

        audits = sorted(self.audits.values(), key=lambda a: a["nodeid"])
        session_holm(audits)
        counts = {s.value: sum(a["status"] == s.value for a in audits) for s in Status}
        finished = datetime.now(timezone.utc)
        cache_dir, cache_note = self.config.stash.get(CACHE_DIR_KEY, (None, self.settings.cache_note))
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "pytest-modelaudit", "version": __version__},
            "run": {
                "started_at": self.started.isoformat(timespec="seconds"),
                "finished_at": finished.isoformat(timespec="seconds"),
                "duration_s": round(time.perf_counter() - self.t0, 2),
                "seed": self.settings.seed,
                "inconclusive": self.settings.inconclusive,
                "honesty": self.settings.honesty,
                "companions": "on" if self.settings.companions else "off",
                "report_dir": self.settings.report_link or str(self.settings.report_dir),
                "pytest_args": [str(a) for a in self.config.invocation_params.args],
                "interrupted": self.interrupted,
                "cache": {"dir": None if cache_dir is None else self._relative(cache_dir), "note": cache_note,
                          **{k: self.cache_counts.get(k, 0) for k in ("hits", "disk_hits", "misses", "writes",
                                                                      "discarded")}},
            },
            "summary": {"total": len(audits), **counts},
            "models": dict(sorted(self.models.items())),  # same order whatever order xdist workers report in
            "environment": environment(),
            "audits": audits,
        }

    def _close_unfinished(self, exitstatus: int) -> None:
        """Audits still pending (Ctrl-C mid-test) or lost to a worker killed by Ctrl-C become ERROR records."""
        from .unfinished import unfinished_record

        # a second Ctrl-C while pytest handled the first can leave exitstatus unset: the signal itself counts
        self.interrupted = exitstatus == pytest.ExitCode.INTERRUPTED or self.stopper.interrupted
        lost = {**self.pending, **(self.crashed if self.interrupted else {})}
        for nodeid, info in lost.items():
            if nodeid not in self.audits or nodeid in self.crashed:
                self.audits[nodeid] = unfinished_record(info, self.interrupted)
        self.pending.clear()

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self._close_unfinished(exitstatus)
        if self.interrupted:
            session.exitstatus = pytest.ExitCode.INTERRUPTED
        if not self.audits:
            return
        from ..report import write_report

        caught: list[warnings.WarningMessage] = []
        try:
            results = self.results()
            cache_dir = self.config.stash.get(CACHE_DIR_KEY, (None, ""))[0]
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self.files = write_report(results, self.settings.report_dir, pdf=self.settings.pdf,
                                          pdf_mode=self.settings.pdf_mode,
                                          drawings=None if cache_dir is None else Path(cache_dir) / "report")
            self.comparison = self.files.comparison
        except Exception as exc:  # a report problem must not hide the test outcomes
            self.error = f"{type(exc).__name__}: {exc}"
            caught.append(warnings.WarningMessage(UserWarning(f"model-audit: the report could not be written: "
                                                              f"{self.error}"), UserWarning, __file__, 0))
        for w in caught:  # shown as warnings; under -W error the terminal summary still says it, and nothing breaks
            try:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            except Warning:
                pass

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        tr = terminalreporter
        if not self.audits:
            tr.write_sep("-", "model audit")
            tr.write_line("no audit ran; no report written")
            self._baseline_summary(tr)
            return
        tr.write_sep("-", "model audit")
        audits = list(self.audits.values())
        counts = {s: sum(a["status"] == s for a in audits) for s in ("PASS", "FAIL", "INCONCLUSIVE", "ERROR")}
        tr.write_line(", ".join(f"{n} {s}" for s, n in counts.items() if n) + f" ({len(audits)} audits)")
        for a in sorted(audits, key=lambda a: (STATUS_ORDER[a["status"]], a["nodeid"])):
            if a["status"] != "PASS":
                what = a["claim"]
                if a["status"] == "ERROR" and a["message"]:
                    what = a["message"].splitlines()[0]
                reason = inconclusive_reason(a)
                if a["status"] == "INCONCLUSIVE" and reason:
                    what += f" (why: {reason})"
                tr.write_line(f"  {a['status']:<12} {a['nodeid']}: {what}")
        self._baseline_summary(tr)
        if self.interrupted:
            tr.write_line("run interrupted: the report covers only the audits that finished (marked as interrupted)",
                          yellow=True)
        if self.error:
            tr.write_line(f"report NOT written: {self.error}", red=True)
            return
        files = self.files
        if files is not None:
            tr.write_line(f"report: file://{files.html_path}")
            tr.write_line(f"json:   {files.json_path}")
            if files.pdf_path is not None:
                tr.write_line(f"pdf:    {files.pdf_path}")
            elif self.settings.pdf:
                tr.write_line(f"pdf:    not written ({files.pdf_error})", yellow=True)
            if files.summary_path is not None:
                tr.write_line(f"summary (Markdown, for a pull request): {files.summary_path}")
            if self.comparison:
                tests, models = self.comparison
                tr.write_line(f"model comparison: file://{files.html_path}#comparison "
                              f"({tests} audit{'s' if tests != 1 else ''} x {models} models)")

    def _baseline_summary(self, tr: Any) -> None:
        """Baseline counts, drifted audits, bad files and what prune deleted."""
        if self.settings.baseline_dir is None:
            return
        from .baselines import summary_lines

        tracker = self.config.pluginmanager.get_plugin(PRUNE_PLUGIN)
        for text, markup in summary_lines(list(self.audits.values()), getattr(tracker, "result", None)):
            tr.write_line(text, **markup)


SESSION_KEY = pytest.StashKey[AuditSession]()
