"""Pruning baselines of tests that no longer exist: once, on the controller, only in the collected scope."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .store import baseline_path, display_path, load_baseline

# --------------------------------------------------------------------------------------------- pruning

@dataclass
class PruneResult:
    deleted: list[str] = field(default_factory=list)
    skipped: str | None = None  # why nothing was pruned
    unreadable: list[str] = field(default_factory=list)


def _scopes(config: pytest.Config) -> list[tuple[str, str | None]] | None:
    """(rootdir-relative path, node part or None) per collection argument; None when it cannot be told."""
    if config.getoption("pyargs", False):
        return None
    root = Path(config.rootpath)
    out = []
    for arg in config.args:
        path, sep, node = str(arg).partition("::")
        full = (Path(config.invocation_params.dir) / path).resolve()
        rel = Path(os.path.relpath(full, root)).as_posix()
        out.append((rel, node if sep else None))
    return out


def _in_scope(nodeid: str, scopes: list[tuple[str, str | None]]) -> bool:
    file = nodeid.split("::", 1)[0]
    for rel, node in scopes:
        if node is not None:
            prefix = f"{rel}::{node}"
            if nodeid == prefix or nodeid.startswith((prefix + "[", prefix + "::")):
                return True
        elif rel == "." or file == rel or file.startswith(rel.rstrip("/") + "/"):
            return True
    return False


def find_orphans(root: Path, rootpath: Path, scopes: list[tuple[str, str | None]],
                 collected: set[str]) -> tuple[list[Path], list[Path]]:
    """Baseline files of tests in scope that no longer exist: their module is gone from disk, or it was
    collected and the test is not among its items. Returns (orphans, unreadable files left alone)."""
    modules = {n.split("::", 1)[0] for n in collected}
    orphans, unreadable = [], []
    for path in sorted(Path(root).rglob("*.json")):
        loaded = load_baseline(path, None)
        if loaded.status != "found":
            unreadable.append(path)
            continue
        nodeid = loaded.data["nodeid"]
        if nodeid in collected or baseline_path(root, nodeid) != path or not _in_scope(nodeid, scopes):
            continue
        module = nodeid.split("::", 1)[0]
        if module in modules or not (Path(rootpath) / module).exists():
            orphans.append(path)
    return orphans, unreadable


class PruneTracker:
    """Knows what this session collected (items plus deselected ones) and prunes once, on the controller."""

    def __init__(self, config: pytest.Config, root: Path):
        self.config, self.root = config, Path(root)
        self.collected: set[str] = set()
        self.errors: list[str] = []
        self.workers: list[dict[str, Any]] = []
        self.worker_problem: str | None = None
        self.result: PruneResult | None = None

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.collected.update(i.nodeid for i in items)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.errors.append(report.nodeid or "(session)")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.collected.update(i.nodeid for i in session.items)
        workeroutput = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput["model_audit_collected"] = {"nodeids": sorted(self.collected), "errors": self.errors}

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        out = getattr(node, "workeroutput", {}).get("model_audit_collected")
        if error or out is None:
            self.worker_problem = f"worker {getattr(node, 'gateway', node)!s} did not report what it collected"
            return
        self.workers.append(out)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if hasattr(self.config, "workerinput"):
            return
        self.result = self.prune(exitstatus)

    def prune(self, exitstatus: int) -> PruneResult:
        for w in self.workers:
            self.collected.update(w.get("nodeids", []))
            self.errors.extend(w.get("errors", []))
        xdist = self.config.pluginmanager.getplugin("dsession") is not None
        why = None
        if self.errors:
            why = "collection errors in " + ", ".join(sorted(set(self.errors)))
        elif exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
            why = "the session did not finish collecting"
        elif self.worker_problem or (xdist and not self.workers):
            why = self.worker_problem or "no xdist worker reported what it collected"
        scopes = _scopes(self.config)
        if why is None and scopes is None:
            why = "--pyargs collection arguments cannot be mapped to baseline files"
        if why is not None:
            return PruneResult(skipped=f"nothing pruned: {why}")
        if not self.root.is_dir():
            return PruneResult()
        orphans, unreadable = find_orphans(self.root, self.config.rootpath, scopes, self.collected)
        result = PruneResult(unreadable=[display_path(p) for p in unreadable])
        for path in orphans:
            path.unlink()
            result.deleted.append(display_path(path))
            parent = path.parent
            while parent != self.root and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
        return result
