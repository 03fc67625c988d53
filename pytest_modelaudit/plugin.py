"""pytest plugin: options, the `audit` fixture, per-test records on reports, the report at session end.

Records travel on the test reports as JSON-able data and the report is written once, on the
controller, so the plugin is xdist-safe. Nothing heavy is imported here.
"""
from __future__ import annotations

import os
import re
import time
import warnings
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from .interrupt import Stopper
from .settings import Settings, resolve

# TensorFlow's C++ start-up lines (oneDNN, CUDA probing) would land in the first audit's captured output:
# silenced unless the user chose a level. Set here, at plugin import, before any audit imports TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SKIP_REASON = "model audits are off; run pytest --model-audit"
SETTINGS_KEY = pytest.StashKey[Settings]()
SESSION_KEY = pytest.StashKey["AuditSession"]()
AUDIT_KEY = pytest.StashKey[Any]()
SEVERITIES = ("critical", "major", "minor", "info")
PRUNE_PLUGIN = "model-audit-baseline-prune"


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
    group.addoption("--model-audit-honesty", choices=("inconclusive", "report", "off"), default=None,
                    dest="model_audit_honesty",
                    help="heatmap honesty checks (randomised weights, another class, deletion/insertion, input "
                         "noise): a failed check makes the audit INCONCLUSIVE (default), is only reported, or the "
                         "checks are off (ini: model_audit_honesty)")
    group.addoption("--model-audit-baseline-dir", metavar="DIR", default=None, dest="model_audit_baseline_dir",
                    help="folder of per-test metric baselines; the report shows each metric's change against them and "
                         "expect_stable() fails on drift (ini: model_audit_baseline_dir)")
    group.addoption("--model-audit-update-baselines", action="store_true", default=False,
                    dest="model_audit_update_baselines",
                    help="write the baselines of the audits that ran (never deletes; refused when CI=true) "
                         "(ini: model_audit_update_baselines)")
    group.addoption("--model-audit-allow-ci-update", action="store_true", default=False,
                    dest="model_audit_allow_ci_update",
                    help="allow --model-audit-update-baselines on CI (ini: model_audit_allow_ci_update)")
    group.addoption("--model-audit-prune-baselines", action="store_true", default=False,
                    dest="model_audit_prune_baselines",
                    help="delete baselines of tests that were in this run's collection scope and no longer exist "
                         "(ini: model_audit_prune_baselines)")
    group.addoption("--model-audit-missing-baseline", choices=("fail", "warn", "create"), default=None,
                    dest="model_audit_missing_baseline",
                    help="what expect_stable does without a baseline: fail (default), warn, or create it "
                         "(ini: model_audit_missing_baseline)")
    group.addoption("--model-audit-cache-dir", metavar="DIR", default=None, dest="model_audit_cache_dir",
                    help="folder of the persistent evidence cache (default: model_audit/ in pytest's cache folder; "
                         "--cache-clear empties it) (ini: model_audit_cache_dir)")
    group.addoption("--model-audit-no-cache", action="store_true", default=False, dest="model_audit_no_cache",
                    help="do not read or write the persistent evidence cache (ini: model_audit_cache = false)")
    parser.addini("model_audit", "run model audit tests (like --model-audit)", type="bool", default=False)
    parser.addini("model_audit_cache_dir", "folder of the persistent evidence cache (relative to the rootdir)",
                  default="")
    parser.addini("model_audit_cache", "use the persistent evidence cache", type="bool", default=True)
    parser.addini("model_audit_baseline_dir", "folder of per-test metric baselines (relative to the rootdir)", default="")
    parser.addini("model_audit_update_baselines", "write the baselines of the audits that ran", type="bool",
                  default=False)
    parser.addini("model_audit_allow_ci_update", "allow updating baselines when CI=true", type="bool", default=False)
    parser.addini("model_audit_prune_baselines", "delete baselines of tests that no longer exist", type="bool",
                  default=False)
    parser.addini("model_audit_missing_baseline", "fail | warn | create: what expect_stable does without a baseline",
                  default="fail")
    parser.addini("model_audit_concepts", "concept root for TCAV audits (relative to the rootdir)", default="")
    parser.addini("model_audit_random_prefix", "name prefix of the random counterexample folders", default="random500_")
    parser.addini("model_audit_report", "folder for the model audit report", default="model-audit-report")
    parser.addini("model_audit_pdf", "write report.pdf next to index.html", type="bool", default=True)
    parser.addini("model_audit_seed", "root seed of every random choice in the audits", default="0")
    parser.addini("model_audit_inconclusive", "fail | skip: what an INCONCLUSIVE audit does to its test", default="fail")
    parser.addini("model_audit_gpu_memory_growth", "let TensorFlow take GPU memory as needed (set on every process "
                  "before TensorFlow starts; needed to share a GPU between xdist workers)", type="bool", default=False)
    parser.addini("model_audit_models", "model files (one per line, relative to the rootdir) that the audit_model "
                  "fixture is parametrised over", type="linelist", default=[])
    parser.addini("model_audit_honesty", "inconclusive | report | off: what a failed heatmap honesty check does",
                  default="inconclusive")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "model_audit(title=None, severity='major'): a model audit test; title and severity feed the report "
        f"(severity one of {', '.join(SEVERITIES)})",
    )
    settings = resolve(config)
    config.stash[SETTINGS_KEY] = settings
    if settings.gpu_memory_growth:  # on the controller and on every xdist worker, before any audit runs
        from .gpu import apply_memory_growth

        problem = apply_memory_growth()
        if problem:
            config.issue_config_time_warning(pytest.PytestConfigWarning(problem), stacklevel=2)
    if settings.enabled:  # on every process, xdist workers included
        _configure_cache(config, settings)
        settings = config.stash[SETTINGS_KEY]  # the disk cache may have turned out to be off
    if settings.enabled and not hasattr(config, "workerinput"):
        session = AuditSession(config, settings)
        config.stash[SESSION_KEY] = session
        config.pluginmanager.register(session, "model-audit-session")
        if session.stopper.install():
            config.add_cleanup(session.stopper.restore)
    if settings.enabled and settings.baseline_dir is not None and settings.prune_baselines:
        from .baselines import PruneTracker  # on workers too: they report what they collected

        config.pluginmanager.register(PruneTracker(config, settings.baseline_dir), PRUNE_PLUGIN)


CACHE_SEEN_KEY = pytest.StashKey[dict[str, int]]()
CACHE_DIR_KEY = pytest.StashKey[tuple[Any, str]]()  # (folder in use or None, why not)


def _configure_cache(config: pytest.Config, settings: Settings) -> None:
    """Point the core's session cache at the cache folder; --cache-clear empties it (once, on the controller)."""
    from .core.cache import SESSION_CACHE
    from .core.disk_cache import ModelAuditCacheWarning, configure_cache

    controller = not hasattr(config, "workerinput")
    SESSION_CACHE.clear()  # the memory layer is one session's, also for in-process (pytester) runs
    status = configure_cache(settings.cache_dir, clear=controller and bool(config.getoption("cacheclear", False)))
    if status.problem and controller:
        config.issue_config_time_warning(ModelAuditCacheWarning(status.problem), stacklevel=2)
    if status.problem:  # the header and the report say the disk cache is off, and why
        from dataclasses import replace

        config.stash[SETTINGS_KEY] = replace(settings, cache_dir=None, cache_note=status.problem)
    config.stash[CACHE_DIR_KEY] = (status.dir, status.problem or settings.cache_note)
    config.stash[CACHE_SEEN_KEY] = SESSION_CACHE.stats.as_dict()
    config.add_cleanup(lambda: configure_cache(None))  # in-process pytester runs must not leave it pointed here


def _cache_counts(config: pytest.Config) -> dict[str, int]:
    """Cache lookups on this process since its previous audit report; the controller sums them into run.cache."""
    from .core.cache import SESSION_CACHE

    now = SESSION_CACHE.stats.as_dict()
    seen = config.stash.get(CACHE_SEEN_KEY, {})
    config.stash[CACHE_SEEN_KEY] = now
    return {k: v - seen.get(k, 0) for k, v in now.items()}


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = config.stash[SETTINGS_KEY]
    lines = [settings.header()]
    if settings.enabled and not hasattr(config, "workerinput"):
        from .report.write import report_dir_problem

        problem = report_dir_problem(settings.report_dir)
        if problem:  # say it now, not after a long run; the audits still run
            lines.append(f"model-audit: WARNING: the report cannot be written to {settings.report_dir}: {problem}")
    return lines


def is_audit(item: pytest.Item) -> bool:
    return "audit" in getattr(item, "fixturenames", ()) or item.get_closest_marker("model_audit") is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    settings = config.stash[SETTINGS_KEY]
    for item in items:
        if not is_audit(item):
            continue
        marker = item.get_closest_marker("model_audit")
        problem = _marker_problem(item, marker) if marker is not None else None
        if problem is not None:  # an ERROR of this test at setup; the other audits still run
            item.stash[MARKER_PROBLEM] = problem
        if not settings.enabled:
            item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


MARKER_PROBLEM = pytest.StashKey[str]()


def _marker_problem(item: pytest.Item, marker: pytest.Mark) -> str | None:
    """What is wrong with a test's model_audit marker, or None."""
    unknown = set(marker.kwargs) - {"title", "severity"}
    if marker.args or unknown:
        return (f"{item.nodeid}: @pytest.mark.model_audit takes only title=... and severity=...; got "
                + ", ".join([repr(a) for a in marker.args] + [repr(k) for k in sorted(unknown)]))
    severity = marker.kwargs.get("severity", "major")
    if severity not in SEVERITIES:
        return f"{item.nodeid}: model_audit severity must be one of {', '.join(SEVERITIES)}, got {severity!r}"
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    problem = item.stash.get(MARKER_PROBLEM, None)
    if problem is not None and item.config.stash[SETTINGS_KEY].enabled:
        from .core.errors import ModelAuditError

        raise ModelAuditError(problem)


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


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    from .candidates import parametrize

    parametrize(metafunc, metafunc.config.stash[SETTINGS_KEY].models)


@pytest.fixture(scope="session")
def audit_model_options() -> dict[str, Any]:
    """Keyword arguments `audit_model` passes to `load_model` (override in a conftest: classes=..., input_range=...)."""
    return {}


@pytest.fixture(scope="session")
def audit_model(request: pytest.FixtureRequest, audit_model_options: dict[str, Any]) -> Any:
    """One model of ini `model_audit_models` per test run (ids = file stems), loaded once per session."""
    from .core.errors import ModelAuditError

    path = getattr(request, "param", None)
    if path is None:
        raise ModelAuditError("the audit_model fixture needs model files: list them in ini model_audit_models "
                              "(one path per line, relative to the rootdir)")
    from .core.adapter import load_model

    options = {"name": Path(path).stem, **audit_model_options}
    return load_model(path, **options)


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
    severity = kwargs.get("severity", "major")
    return str(title), str(severity) if severity in SEVERITIES else "major"  # a bad one is the test's ERROR


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    settings = item.config.stash[SETTINGS_KEY]
    if not settings.enabled or not is_audit(item):
        return report
    if report.when == "setup" and report.passed:  # lets the controller name this audit if its worker dies
        from .unfinished import PENDING_ATTR, pending_payload

        setattr(report, PENDING_ATTR, pending_payload(item.nodeid, settings.anchor(item.nodeid), *_title(item)))
    if report.when == "call" or (report.when == "setup" and report.failed):
        try:
            payload = _build_record(item, call, report, settings)
        except Exception as exc:  # never lose the test outcome to a recording problem
            warnings.warn(f"model-audit: could not record {item.nodeid}: {type(exc).__name__}: {exc}", stacklevel=1)
            payload = None
        if payload is not None:
            payload["cache"] = _cache_counts(item.config)
            report.model_audit = payload
            _add_junit_properties(item, report, payload, settings)
        _compact_longrepr(item, call, report)
    return report


def _add_junit_properties(item: pytest.Item, report: pytest.TestReport, payload: dict[str, Any],
                          settings: Settings) -> None:
    """Verdict and metrics as JUnit properties; on the item, so the teardown report (which junitxml reads) has them."""
    from .junit import junit_properties

    props = junit_properties(payload["audit"], payload.get("models", {}), settings.evidence_link(item.nodeid))
    item.user_properties.extend(props)
    report.user_properties.extend(props)


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
    record["models"] = list(models)  # fingerprints this audit used, in order of first use (keys into "models")
    if audit is not None and settings.baseline_dir is not None:
        from .baselines import baseline_block

        try:  # compare with the test's baseline; write it when updating (on the process that ran the test)
            record["baseline"] = baseline_block(audit, status.value)
        except Exception as exc:  # a baseline problem never loses the audit's record
            warnings.warn(f"model-audit: baseline of {item.nodeid} not handled: {type(exc).__name__}: {exc}", stacklevel=1)
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

    def results(self) -> dict[str, Any]:
        from .core.verdicts import Status
        from .environment import environment
        from . import __version__

        from .record import session_holm

        audits = sorted(self.audits.values(), key=lambda a: a["nodeid"])
        session_holm(audits)
        counts = {s.value: sum(a["status"] == s.value for a in audits) for s in Status}
        finished = datetime.now(timezone.utc)
        cache_dir, cache_note = self.config.stash.get(CACHE_DIR_KEY, (None, self.settings.cache_note))
        return {
            "schema_version": 1,
            "tool": {"name": "pytest-modelaudit", "version": __version__},
            "run": {
                "started_at": self.started.isoformat(timespec="seconds"),
                "finished_at": finished.isoformat(timespec="seconds"),
                "duration_s": round(time.perf_counter() - self.t0, 2),
                "seed": self.settings.seed,
                "inconclusive": self.settings.inconclusive,
                "honesty": self.settings.honesty,
                "report_dir": str(self.settings.report_dir),
                "pytest_args": [str(a) for a in self.config.invocation_params.args],
                "interrupted": self.interrupted,
                "cache": {"dir": None if cache_dir is None else str(cache_dir), "note": cache_note,
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
        from .report import write_report
        from .report.comparison import build_matrix

        caught: list[warnings.WarningMessage] = []
        try:
            results = self.results()
            matrix = build_matrix(results)
            self.comparison = (len(matrix.rows), len(matrix.columns)) if matrix else None
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self.files = write_report(results, self.settings.report_dir, pdf=self.settings.pdf)
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
        for a in sorted(audits, key=lambda a: (("FAIL", "INCONCLUSIVE", "ERROR", "PASS").index(a["status"]), a["nodeid"])):
            if a["status"] != "PASS":
                what = a["claim"]
                if a["status"] == "ERROR" and a["message"]:
                    what = a["message"].splitlines()[0]
                reason = next((c["reason"] for c in a["checks"] if c.get("reason")), None)
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
