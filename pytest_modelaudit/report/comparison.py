"""The model comparison matrix: audit tests × models, built from results.json alone.

Audits are grouped by test function (the node id without its ``[param]`` part) and by the model
they used: the fingerprint in the record (``audit.models``, else the checks' ``model``), else
the parameter id, mapped to a fingerprint when other audits show which model that id stands for.
Only tests run on two or more models form rows. A cell holds the audit's verdict and its deciding
measurement, and links to its card; several audits of one test on one model (another parameter
besides the model) share a cell, each labelled with its parameter id.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ..schema import audit_anchor, deciding_check, normalise_status
from .formatting import DASH, fmt_num


@dataclass(frozen=True)
class Cell:
    """One audit in the matrix."""

    status: str
    metric: str
    measured: str
    anchor: str
    param: str
    nodeid: str
    intended: str = ""  # the verdict the test declared for this model ("" when none)
    as_intended: bool | None = None  # None: no intended verdict


@dataclass
class Column:
    """One model: its label, fingerprint ("" when known only by a parameter id) and how many of its audits passed."""

    key: str
    label: str
    fingerprint: str
    passed: int = 0
    total: int = 0
    as_intended: int = 0  # audits whose verdict is the one their test declared for this model
    unexpected: int = 0  # audits whose verdict is not


@dataclass
class Row:
    """One audit test: its title and, per column, the audits run on that model (empty: not run)."""

    test: str
    title: str
    function: str
    cells: list[list[Cell]] = field(default_factory=list)
    differs: bool = False


@dataclass(frozen=True)
class Across:
    """An audit that compared several of the matrix's models in one claim (e.g. ``audit.disagreement``)."""

    title: str
    status: str
    metric: str
    measured: str
    anchor: str
    nodeid: str
    models: tuple[str, ...]  # the column labels it compared
    intended: str = ""  # the verdict the test declared ("" when none)
    as_intended: bool | None = None


@dataclass
class Matrix:
    columns: list[Column]
    rows: list[Row]
    across: list[Across] = field(default_factory=list)


def split_nodeid(nodeid: str) -> tuple[str, str]:
    """``file.py::test_x[a-b]`` -> (``file.py::test_x``, ``a-b``); no parameter -> (nodeid, "")."""
    head, sep, last = nodeid.rpartition("::")
    if "[" in last and last.endswith("]"):
        name, param = last[:-1].split("[", 1)
        return f"{head}{sep}{name}", param
    return nodeid, ""


def audit_models(audit: dict[str, Any]) -> list[str]:
    """Fingerprints of the models an audit used: the record's list, else its checks' models."""
    listed = audit.get("models")
    if isinstance(listed, list) and listed:
        return [str(m) for m in listed]
    out: list[str] = []
    for c in audit.get("checks") or []:
        fp = c.get("model") if isinstance(c, dict) else None
        if fp and str(fp) not in out:
            out.append(str(fp))
    return out


def deciding_measurement(audit: dict[str, Any]) -> tuple[str, str]:
    """(metric, value text) of the check that decided the audit; a dash unless that is a number."""
    deciding = deciding_check(audit)
    threshold = audit.get("threshold") if isinstance(audit.get("threshold"), dict) else {}
    metric = str(threshold.get("metric") or (deciding or {}).get("metric") or "")
    if deciding is not None:
        value = deciding.get("measured")
    else:
        value = (audit.get("metrics") or {}).get(metric) if metric else None
    return metric, fmt_num(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else DASH


def _title(audit: dict[str, Any], param: str, function: str) -> str:
    title = str(audit.get("title") or function)
    suffix = f" [{param}]"
    return title[: -len(suffix)] if param and title.endswith(suffix) else title


def build_matrix(results: dict[str, Any]) -> Matrix | None:
    """The matrix of every test run on ≥ 2 models, or None when there is no such test."""
    audits = [a for a in results.get("audits") or [] if isinstance(a, dict) and isinstance(a.get("nodeid"), str)]
    models = results.get("models") if isinstance(results.get("models"), dict) else {}
    parsed = []
    seen_fp: dict[str, set[str]] = defaultdict(set)  # param id -> fingerprints seen with it
    for a in audits:
        test, param = split_nodeid(a["nodeid"])
        fps = audit_models(a)
        parsed.append((a, test, param, fps))
        if param and len(fps) == 1:
            seen_fp[param].add(fps[0])

    groups: dict[str, dict[str, list[tuple[dict[str, Any], str]]]] = defaultdict(lambda: defaultdict(list))
    for a, test, param, fps in parsed:
        if len(fps) == 1:
            key = "fp:" + fps[0]
        elif param and len(seen_fp.get(param, ())) == 1:
            key = "fp:" + next(iter(seen_fp[param]))
        elif param:
            key = "param:" + param
        else:
            continue  # one audit without a model or parameter: nothing to compare it with
        groups[test][key].append((a, param))

    kept = {t: g for t, g in groups.items() if len(g) >= 2}
    if not kept:
        return None
    columns: dict[str, Column] = {}
    for g in kept.values():
        for key in g:
            if key not in columns:
                kind, _, ident = key.partition(":")
                info = models.get(ident) if kind == "fp" and isinstance(models.get(ident), dict) else {}
                label = str(info.get("name") or ident) if kind == "fp" else ident
                columns[key] = Column(key, label, ident if kind == "fp" else "")
    labels = [c.label for c in columns.values()]
    for c in columns.values():
        if labels.count(c.label) > 1 and c.fingerprint:
            c.label = f"{c.label} ({c.fingerprint[:8]})"
    ordered = sorted(columns.values(), key=lambda c: (c.label, c.key))

    rows = []
    for test in sorted(kept):
        g = kept[test]
        function = test.rpartition("::")[2]
        first, first_param = sorted((x for cell in g.values() for x in cell), key=lambda x: x[0]["nodeid"])[0]
        row = Row(test=test, title=_title(first, first_param, function), function=function)
        statuses = set()
        for col in ordered:
            cell = []
            for a, param in sorted(g.get(col.key, []), key=lambda x: x[0]["nodeid"]):
                metric, measured = deciding_measurement(a)
                status = normalise_status(a.get("status"))
                intended = normalise_status(a["intended"]) if a.get("intended") else ""
                as_intended = (status == intended) if intended else None
                cell.append(Cell(status, metric, measured, audit_anchor(a), param, a["nodeid"], intended, as_intended))
                statuses.add(status)
                col.total += 1
                col.passed += status == "PASS"
                col.as_intended += as_intended is True
                col.unexpected += as_intended is False
            row.cells.append(cell)
        row.differs = len(statuses) > 1
        rows.append(row)
    return Matrix(ordered, rows, _across(parsed, ordered))


def _across(parsed: list[tuple[dict[str, Any], str, str, list[str]]], columns: list[Column]) -> list[Across]:
    """The audits that used two or more of the columns' models at once, in node-id order."""
    label = {c.fingerprint: c.label for c in columns if c.fingerprint}
    out = []
    for a, test, param, fps in sorted(parsed, key=lambda x: x[0]["nodeid"]):
        used = [label[f] for f in fps if f in label]
        if len(used) >= 2:
            metric, measured = deciding_measurement(a)
            status = normalise_status(a.get("status"))
            intended = normalise_status(a["intended"]) if isinstance(a.get("intended"), str) else ""
            out.append(Across(_title(a, param, test.rpartition("::")[2]), status, metric, measured, audit_anchor(a),
                              a["nodeid"], tuple(used), intended, (status == intended) if intended else None))
    return out
