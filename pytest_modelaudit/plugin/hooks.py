"""pytest plugin: options, the `audit` fixture, per-test records on reports, the report at session end.

Records travel on the test reports as JSON-able data and the report is written once, on the
controller, so the plugin is xdist-safe. Nothing heavy is imported here.
"""
from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .keys import (AUDIT_KEY, CACHE_DIR_KEY, CACHE_SEEN_KEY, MARKER_PROBLEM, PRUNE_PLUGIN, SETTINGS_KEY,
                   SEVERITIES, SKIP_REASON)
from .options import Settings, resolve
from .outcome import add_junit_properties, apply_intended, audit_title, build_record, compact_longrepr
from .session import SESSION_KEY, AuditSession

# TensorFlow's C++ start-up lines (oneDNN, CUDA probing) would land in the first audit's captured output:
# silenced unless the user chose a level. Set here, at plugin import, before any audit imports TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")



def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("model-audit", "model audits (pytest-modelaudit)")
    group.addoption("--model-audit", action="store_true", default=None, dest="model_audit",
                    help="run model audit tests and write the report (ini: model_audit = true)")
    group.addoption("--model-audit-report", metavar="DIR", default=None, dest="model_audit_report",
                    help="folder for index.html, report.pdf and results.json (ini: model_audit_report; default model-audit-report)")
    group.addoption("--model-audit-no-pdf", action="store_true", default=False, dest="model_audit_no_pdf",
                    help="do not write report.pdf (ini: model_audit_pdf = false)")
    from .scan import add_options

    add_options(parser, group)
    group.addoption("--model-audit-pdf", choices=("summary", "full"), default=None, dest="model_audit_pdf",
                    help="what report.pdf holds: summary (default: the audit table and the cards of every audit "
                         "that did not pass) or full (every card and the model details) (ini: model_audit_pdf)")
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
    group.addoption("--model-audit-companions", choices=("on", "off"), default=None, dest="model_audit_companions",
                    help="Grad-CAM, occlusion and Integrated Gradients maps beside every heatmap audit's own, with "
                         "their deletion/insertion curves: on (default) or off, for verdicts without the extra "
                         "passes; they never decide a verdict (ini: model_audit_companions)")
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
    parser.addini("model_audit_pdf", "report.pdf next to index.html: summary (default), full, or false for none",
                  default="summary")
    parser.addini("model_audit_seed", "root seed of every random choice in the audits", default="0")
    parser.addini("model_audit_inconclusive", "fail | skip: what an INCONCLUSIVE audit does to its test", default="fail")
    parser.addini("model_audit_gpu_memory_growth", "let TensorFlow take GPU memory as needed (set on every process "
                  "before TensorFlow starts; needed to share a GPU between xdist workers)", type="bool", default=False)
    parser.addini("model_audit_models", "model files (one per line, relative to the rootdir) that the audit_model "
                  "fixture is parametrised over", type="linelist", default=[])
    parser.addini("model_audit_files", "file name patterns of TOML claim files (default audit_*.toml)",
                  type="linelist", default=["audit_*.toml"])
    parser.addini("model_audit_honesty", "inconclusive | report | off: what a failed heatmap honesty check does",
                  default="inconclusive")
    parser.addini("model_audit_companions", "on | off: the other methods' maps and curves beside each heatmap audit",
                  default="on")


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




def _configure_cache(config: pytest.Config, settings: Settings) -> None:
    """Point the core's session cache at the cache folder; --cache-clear empties it (once, on the controller)."""
    from ..core.cache.memory import SESSION_CACHE
    from ..core.cache.disk import ModelAuditCacheWarning, configure_cache

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
    from ..core.cache.memory import SESSION_CACHE

    now = SESSION_CACHE.stats.as_dict()
    seen = config.stash.get(CACHE_SEEN_KEY, {})
    config.stash[CACHE_SEEN_KEY] = now
    return {k: v - seen.get(k, 0) for k, v in now.items()}


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = config.stash[SETTINGS_KEY]
    lines = [settings.header()]
    if settings.enabled and not hasattr(config, "workerinput"):
        from ..report.write import report_dir_problem

        problem = report_dir_problem(settings.report_dir)
        if problem:  # say it now, not after a long run; the audits still run
            lines.append(f"model-audit: WARNING: the report cannot be written to {settings.report_dir}: {problem}")
    return lines


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """TOML claim files (ini model_audit_files; default audit_*.toml): one test item per claim and model."""
    if file_path.suffix != ".toml":
        return None
    from .toml_claims import ClaimFile, is_claim_file

    if is_claim_file(file_path, parent.config.getini("model_audit_files")):
        return ClaimFile.from_parent(parent, path=file_path)
    return None


def is_audit(item: pytest.Item) -> bool:
    return "audit" in getattr(item, "fixturenames", ()) or item.get_closest_marker("model_audit") is not None


@pytest.hookimpl(tryfirst=True)  # before -k / -m deselect, so the scan's items can be selected like any
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    settings = config.stash[SETTINGS_KEY]
    if config.getoption("model_audit_model") or config.getini("model_audit_model"):
        from .scan import scan_items

        items.extend(scan_items(session))
    for item in items:
        if not is_audit(item):
            continue
        marker = item.get_closest_marker("model_audit")
        problem = _marker_problem(item, marker) if marker is not None else None
        if problem is not None:  # an ERROR of this test at setup; the other audits still run
            item.stash[MARKER_PROBLEM] = problem
        if not settings.enabled:
            item.add_marker(pytest.mark.skip(reason=SKIP_REASON))




def _marker_problem(item: pytest.Item, marker: pytest.Mark) -> str | None:
    """What is wrong with a test's model_audit marker, or None."""
    unknown = set(marker.kwargs) - {"title", "severity", "expect"}
    if marker.args or unknown:
        return (f"{item.nodeid}: @pytest.mark.model_audit takes only title=..., severity=... and expect=...; got "
                + ", ".join([repr(a) for a in marker.args] + [repr(k) for k in sorted(unknown)]))
    from .outcome import intended_problem

    problem = intended_problem(marker.kwargs.get("expect"))
    if problem:
        return f"{item.nodeid}: @pytest.mark.model_audit(expect=...) {problem}"
    severity = marker.kwargs.get("severity", "major")
    if severity not in SEVERITIES:
        return f"{item.nodeid}: model_audit severity must be one of {', '.join(SEVERITIES)}, got {severity!r}"
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    problem = item.stash.get(MARKER_PROBLEM, None)
    if problem is not None and item.config.stash[SETTINGS_KEY].enabled:
        from ..errors import ModelAuditError

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
    from ..errors import ModelAuditError

    path = getattr(request, "param", None)
    if path is None:
        raise ModelAuditError("the audit_model fixture needs model files: list them in ini model_audit_models "
                              "(one path per line, relative to the rootdir)")
    from ..core.model.adapter import load_model

    options = {"name": Path(path).stem, **audit_model_options}
    return load_model(path, **options)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    settings = item.config.stash[SETTINGS_KEY]
    if not settings.enabled or not is_audit(item):
        return report
    if report.when == "setup" and report.passed:  # lets the controller name this audit if its worker dies
        from .unfinished import PENDING_ATTR, pending_payload

        setattr(report, PENDING_ATTR, pending_payload(item.nodeid, settings.anchor(item.nodeid), *audit_title(item)))
    if report.when == "call" or (report.when == "setup" and report.failed):
        try:
            payload = build_record(item, call, report, settings)
        except Exception as exc:  # never lose the test outcome to a recording problem
            warnings.warn(f"model-audit: could not record {item.nodeid}: {type(exc).__name__}: {exc}", stacklevel=1)
            payload = None
        if payload is not None:
            payload["cache"] = _cache_counts(item.config)
            report.model_audit = payload
            add_junit_properties(item, report, payload, settings)
        compact_longrepr(item, call, report)
        if payload is not None:  # after the failure text: an intended verdict may turn it into a pass
            apply_intended(item, report, payload)
    return report
