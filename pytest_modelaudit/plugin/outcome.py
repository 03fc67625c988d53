"""How one audit test's outcome becomes its record: status and message from the exception, the checks,
the models used, the baseline comparison, JUnit properties and a compact failure text."""
from __future__ import annotations

import re
import warnings
from typing import Any

import pytest

from .keys import AUDIT_KEY, SEVERITIES
from .options import Settings


def audit_title(item: pytest.Item) -> tuple[str, str]:
    """The audit's title (the marker's, else the test name in words, with its parameters) and severity."""
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


def add_junit_properties(item: pytest.Item, report: pytest.TestReport, payload: dict[str, Any],
                          settings: Settings) -> None:
    """Verdict and metrics as JUnit properties; on the item, so the teardown report (which junitxml reads) has them."""
    from .junit import junit_properties

    props = junit_properties(payload["audit"], payload.get("models", {}), settings.evidence_link(item.nodeid))
    item.user_properties.extend(props)
    report.user_properties.extend(props)


def compact_longrepr(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> None:
    """Audit verdicts and bad input show the user's line and the message, not the plugin's internals."""
    from ..errors import AuditFailure, AuditInconclusive, ModelAuditError

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


def _filters(adapter: Any) -> dict[str, Any] | None:
    """The first conv layer's filter grid; a courtesy that never costs an audit its record."""
    from .thumbnails import filters_record

    try:
        return filters_record(adapter)
    except Exception:
        return None


def audit_passes(audit: Any) -> dict[str, Any]:
    """The images this test ran through its models (a randomised copy counts as its model), cache hits cost
    none: what the audit cost, and what `make bench` times as plain batched passes."""
    from ..core.model.passes import since

    spent = since(audit.passes_before)
    by_model = {fp: {"forward": spent[a.passes_key][0], "forward_backward": spent[a.passes_key][1]}
                for fp, a in audit.models.items() if a.passes_key in spent}
    return {"forward": sum(m["forward"] for m in by_model.values()),
            "forward_backward": sum(m["forward_backward"] for m in by_model.values()), "by_model": by_model}


def build_record(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport,
                  settings: Settings) -> dict[str, Any] | None:
    from ..core.checks.verdicts import Status
    from ..errors import AuditFailure, AuditInconclusive
    from .records import audit_json, check_json, worst

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
    title, severity = audit_title(item)
    checks_json = [check_json(c, audit.message(c)) for c in checks] if audit is not None else []
    record = audit_json(nodeid=item.nodeid, anchor=settings.anchor(item.nodeid), title=title, severity=severity,
                        status=status, message=message, checks=checks_json, duration=report.duration)
    models = {}
    if audit is not None:
        for fp, adapter in audit.models.items():
            from .thumbnails import panel_feature_maps
            models[fp] = {**adapter.describe(sorted(audit.layers_used.get(fp, ()))), "filters": _filters(adapter),
                          "feature_maps": panel_feature_maps(adapter, audit)}
    record["models"] = list(models)  # fingerprints this audit used, in order of first use (keys into "models")
    if audit is not None:
        record["passes"] = audit_passes(audit)
    if audit is not None and settings.baseline_dir is not None:
        from .baselines import baseline_block

        try:  # compare with the test's baseline; write it when updating (on the process that ran the test)
            record["baseline"] = baseline_block(audit, status.value)
        except Exception as exc:  # a baseline problem never loses the audit's record
            warnings.warn(f"model-audit: baseline of {item.nodeid} not handled: {type(exc).__name__}: {exc}", stacklevel=1)
    return {"audit": record, "models": models}


def intended_problem(expect: Any) -> str | None:
    """What is wrong with an `expect=` of intended verdicts ({model name: status} or one status), or None."""
    from ..schema import STATUSES

    if expect is None:
        return None
    values = [expect] if isinstance(expect, str) else list(expect.values()) if isinstance(expect, dict) else None
    if values is None or (isinstance(expect, dict) and not all(isinstance(k, str) for k in expect)):
        return f"must map model names to verdicts, e.g. {{'leopard_shortcut': 'FAIL'}}, or be one verdict; got {expect!r}"
    bad = [v for v in values if v not in STATUSES]
    if bad:
        return f"verdicts must be one of {', '.join(STATUSES)}; got {', '.join(map(repr, bad))}"
    return None


def apply_intended(item: pytest.Item, report: pytest.TestReport, payload: dict[str, Any]) -> None:
    """With `expect=` on the marker the recorded verdict stays, and the test passes when it is the intended one
    and fails when it is not (like a strict xfail); the record says which."""
    marker = item.get_closest_marker("model_audit")
    expect = marker.kwargs.get("expect") if marker is not None else None
    if expect is None or intended_problem(expect):
        return
    record = payload["audit"]
    names = [payload["models"].get(fp, {}).get("name") for fp in record.get("models", [])]
    if isinstance(expect, str):
        intended = expect
    else:
        hits = {expect[n] for n in names if n in expect}
        if len(hits) != 1:
            return  # this model (or these models) has no intended verdict: the ordinary outcome
        intended = hits.pop()
    record["intended"] = intended
    record["as_intended"] = record["status"] == intended
    for props in (item.user_properties, report.user_properties):
        props.append(("model_audit.intended", intended))
        props.append(("model_audit.as_intended", str(record["as_intended"]).lower()))
    if record["as_intended"] and report.failed:
        report.outcome, report.longrepr = "passed", None
    elif not record["as_intended"]:
        why = f"model-audit: verdict {record['status']}, but {intended} is intended on {', '.join(n for n in names if n) or 'this model'}"
        report.outcome = "failed"
        report.longrepr = f"{why}\n{record.get('message') or ''}".rstrip()
