"""pytest plugin: options, the `audit` fixture, per-test records on reports, the report at session end.

Records travel on the test reports as JSON-able data and the report is written once, on the
controller, so the plugin is xdist-safe. Nothing heavy is imported here.
"""
from __future__ import annotations

import re
import time
import warnings
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from .settings import Settings, resolve

SKIP_REASON = "model audits are off; run pytest --model-audit"
SETTINGS_KEY = pytest.StashKey[Settings]()
SESSION_KEY = pytest.StashKey["AuditSession"]()
AUDIT_KEY = pytest.StashKey[Any]()
SEVERITIES = ("critical", "major", "minor", "info")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("model-audit", "model audits (pytest-modelaudit)")
    group.addoption("--model-audit", action="store_true", default=None, dest="model_audit",
                    help="run model audit tests and write the report (ini: model_audit = true)")
    group.addoption("--model-audit-report", metavar="DIR", default=None, dest="model_audit_report",
                    help="folder for index.html, report.pdf and results.json (ini: model_audit_report; default model-audit-report)")
    group.addoption("--model-audit-no-pdf", action="store_true", default=False, dest="model_audit_no_pdf",
                    help="do not write report.pdf (ini: model_audit_pdf = false)")
    group.addoption("--model-audit-seed", metavar="N", default=None, dest="model_audit_seed",
                    help="root seed of every random choice in the audits (ini: model_audit_seed; default 0)")
    group.addoption("--model-audit-inconclusive", choices=("fail", "skip"), default=None, dest="model_audit_inconclusive",
                    help="what an INCONCLUSIVE audit does to its test: fail (default) or skip; never a pass "
                         "(ini: model_audit_inconclusive)")
    group.addoption("--model-audit-concepts", metavar="DIR", default=None, dest="model_audit_concepts",
                    help="concept root for TCAV audits: a folder per concept, random folders by prefix, target-class "
                         "folders (ini: model_audit_concepts)")
    parser.addini("model_audit", "run model audit tests (like --model-audit)", type="bool", default=False)
    parser.addini("model_audit_concepts", "concept root for TCAV audits (relative to the rootdir)", default="")
    parser.addini("model_audit_random_prefix", "name prefix of the random counterexample folders", default="random500_")
    parser.addini("model_audit_report", "folder for the model audit report", default="model-audit-report")
    parser.addini("model_audit_pdf", "write report.pdf next to index.html", type="bool", default=True)
    parser.addini("model_audit_seed", "root seed of every random choice in the audits", default="0")
    parser.addini("model_audit_inconclusive", "fail | skip: what an INCONCLUSIVE audit does to its test", default="fail")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "model_audit(title=None, severity='major'): a model audit test; title and severity feed the report "
        f"(severity one of {', '.join(SEVERITIES)})",
    )
    settings = resolve(config)
    config.stash[SETTINGS_KEY] = settings
    if settings.enabled and not hasattr(config, "workerinput"):
        session = AuditSession(config, settings)
        config.stash[SESSION_KEY] = session
        config.pluginmanager.register(session, "model-audit-session")


def pytest_report_header(config: pytest.Config) -> str:
    return config.stash[SETTINGS_KEY].header()


def is_audit(item: pytest.Item) -> bool:
    return "audit" in getattr(item, "fixturenames", ()) or item.get_closest_marker("model_audit") is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    settings = config.stash[SETTINGS_KEY]
    for item in items:
        if not is_audit(item):
            continue
        marker = item.get_closest_marker("model_audit")
        if marker is not None:
            _validate_marker(item, marker)
        if not settings.enabled:
            item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


def _validate_marker(item: pytest.Item, marker: pytest.Mark) -> None:
    unknown = set(marker.kwargs) - {"title", "severity"}
    if marker.args or unknown:
        raise pytest.UsageError(
            f"{item.nodeid}: @pytest.mark.model_audit takes only title=... and severity=...; got "
            + ", ".join([repr(a) for a in marker.args] + [repr(k) for k in sorted(unknown)])
        )
    severity = marker.kwargs.get("severity", "major")
    if severity not in SEVERITIES:
        raise pytest.UsageError(f"{item.nodeid}: model_audit severity must be one of {', '.join(SEVERITIES)}, got {severity!r}")


@pytest.fixture
def audit(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The entry point of a model audit: `audit.gradcam(...)`, `audit.ablation(...)`, then `expect_*`."""
    from .audit import Audit

    settings = request.config.stash[SETTINGS_KEY]
    if not settings.enabled:
        pytest.skip(SKIP_REASON)
    obj = Audit(request.node.nodeid, settings)
    request.node.stash[AUDIT_KEY] = obj
    yield obj


def _title(item: pytest.Item) -> tuple[str, str]:
    marker = item.get_closest_marker("model_audit")
    kwargs = marker.kwargs if marker else {}
    title = kwargs.get("title")
    if not title:
        name = re.sub(r"^test_?", "", item.name.split("[")[0]).replace("_", " ").strip().capitalize()
        param = item.name[len(item.name.split("[")[0]):]
        title = f"{name} {param}".strip()
    elif "[" in item.name:
        title = f"{title} {item.name[item.name.index('['):]}"
    return str(title), str(kwargs.get("severity", "major"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    settings = item.config.stash[SETTINGS_KEY]
    if not settings.enabled or not is_audit(item):
        return report
    if report.when == "call" or (report.when == "setup" and report.failed):
        try:
            payload = _build_record(item, call, report, settings)
        except Exception as exc:  # never lose the test outcome to a recording problem
            warnings.warn(f"model-audit: could not record {item.nodeid}: {type(exc).__name__}: {exc}", stacklevel=1)
            payload = None
        if payload is not None:
            report.model_audit = payload
        _compact_longrepr(item, call, report)
    return report


def _compact_longrepr(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> None:
    """Audit verdicts and bad input show the user's line and the message, not the plugin's internals."""
    from .core.errors import ModelAuditError
    from .exceptions import AuditFailure, AuditInconclusive

    excinfo = call.excinfo
    if excinfo is None:
        return
    frames = [e for e in excinfo.traceback if str(e.path) == str(getattr(item, "path", ""))]
    if excinfo.errisinstance(pytest.skip.Exception) and report.skipped and frames:
        report.longrepr = (str(frames[-1].path), frames[-1].lineno + 1, f"Skipped: {excinfo.value.msg}")
        return
    if not excinfo.errisinstance((AuditFailure, AuditInconclusive, ModelAuditError)):
        return
    if item.config.getoption("tbstyle", "auto") in ("long", "native"):
        return
    where = f"{frames[-1].path}:{frames[-1].lineno + 1}: in {frames[-1].name}" if frames else item.nodeid
    source = ""
    if frames:
        try:
            source = "\n    " + str(frames[-1].statement).strip().replace("\n", "\n    ")
        except Exception:
            source = ""
    report.longrepr = f"{excinfo.typename}: {excinfo.value}\n{where}{source}"


def _build_record(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport,
                  settings: Settings) -> dict[str, Any] | None:
    from .core.verdicts import Status
    from .exceptions import AuditFailure, AuditInconclusive
    from .record import audit_json, check_json, worst

    audit = item.stash.get(AUDIT_KEY, None)
    checks = list(audit.checks) if audit is not None else []
    excinfo = call.excinfo
    message = ""
    if excinfo is None:
        if audit is not None and not checks:
            status = Status.INCONCLUSIVE
            message = ("INCONCLUSIVE: this audit test made no expectation (call expect_* on the evidence); "
                       "a test that checks nothing cannot pass.")
            report.outcome = "failed"
            report.longrepr = message
        else:
            status = worst([c.status for c in checks]) if checks else Status.PASS
    elif excinfo.errisinstance(AuditFailure):
        status, message = Status.FAIL, str(excinfo.value)
    elif excinfo.errisinstance(AuditInconclusive):
        status, message = Status.INCONCLUSIVE, str(excinfo.value)
    elif excinfo.errisinstance(pytest.skip.Exception):
        if not checks or checks[-1].status is not Status.INCONCLUSIVE:
            return None  # an ordinary skip is not an audit outcome
        status, message = Status.INCONCLUSIVE, str(excinfo.value.msg)
    elif excinfo.errisinstance(AssertionError):
        status, message = Status.FAIL, f"assertion in the test failed: {excinfo.value}"
    else:
        where = "while setting up the test" if report.when == "setup" else "in the test"
        status, message = Status.ERROR, f"{excinfo.typename} {where}: {excinfo.value}"
    title, severity = _title(item)
    checks_json = [check_json(c, audit.message(c)) for c in checks] if audit is not None else []
    record = audit_json(nodeid=item.nodeid, anchor=settings.anchor(item.nodeid), title=title, severity=severity,
                        status=status, message=message, checks=checks_json, duration=report.duration)
    models = {}
    if audit is not None:
        for fp, adapter in audit.models.items():
            models[fp] = adapter.describe(sorted(audit.layers_used.get(fp, ())))
    return {"audit": record, "models": models}


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

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        payload = getattr(report, "model_audit", None)
        if not payload:
            return
        self.audits[report.nodeid] = payload["audit"]
        for fp, info in payload.get("models", {}).items():
            known = self.models.setdefault(fp, info)
            known["layers_used"] = sorted(set(known.get("layers_used", [])) | set(info.get("layers_used", [])))

    def results(self) -> dict[str, Any]:
        from .core.verdicts import Status
        from .environment import environment
        from . import __version__

        from .record import session_holm

        audits = sorted(self.audits.values(), key=lambda a: a["nodeid"])
        session_holm(audits)
        counts = {s.value: sum(a["status"] == s.value for a in audits) for s in Status}
        finished = datetime.now(timezone.utc)
        return {
            "schema_version": 1,
            "tool": {"name": "pytest-modelaudit", "version": __version__},
            "run": {
                "started_at": self.started.isoformat(timespec="seconds"),
                "finished_at": finished.isoformat(timespec="seconds"),
                "duration_s": round(time.perf_counter() - self.t0, 2),
                "seed": self.settings.seed,
                "inconclusive": self.settings.inconclusive,
                "report_dir": str(self.settings.report_dir),
                "pytest_args": [str(a) for a in self.config.invocation_params.args],
            },
            "summary": {"total": len(audits), **counts},
            "models": self.models,
            "environment": environment(),
            "audits": audits,
        }

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.audits:
            return
        from .report import write_report

        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self.files = write_report(self.results(), self.settings.report_dir, pdf=self.settings.pdf)
            for w in caught:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        except Exception as exc:  # a report problem must not hide the test outcomes
            self.error = f"{type(exc).__name__}: {exc}"
            warnings.warn(f"model-audit: the report could not be written: {self.error}", stacklevel=1)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        tr = terminalreporter
        if not self.audits:
            tr.write_sep("-", "model audit")
            tr.write_line("no audit ran; no report written")
            return
        tr.write_sep("-", "model audit")
        audits = list(self.audits.values())
        counts = {s: sum(a["status"] == s for a in audits) for s in ("PASS", "FAIL", "INCONCLUSIVE", "ERROR")}
        tr.write_line(", ".join(f"{n} {s}" for s, n in counts.items() if n) + f" ({len(audits)} audits)")
        for a in sorted(audits, key=lambda a: ("FAIL", "INCONCLUSIVE", "ERROR", "PASS").index(a["status"])):
            if a["status"] != "PASS":
                what = a["claim"]
                if a["status"] == "ERROR" and a["message"]:
                    what = a["message"].splitlines()[0]
                reason = next((c["reason"] for c in a["checks"] if c.get("reason")), None)
                if a["status"] == "INCONCLUSIVE" and reason:
                    what += f" (why: {reason})"
                tr.write_line(f"  {a['status']:<12} {a['nodeid']}: {what}")
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
