"""Baseline files: one JSON file per test, its path, reading with clear errors, atomic writes."""
from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ...schema import atomic_write

BASELINE_VERSION = 1
STABLE_KIND = "stable"
UPDATE_HINT = "pytest --model-audit --model-audit-update-baselines"
FIX_HINT = f"delete it or re-run with {UPDATE_HINT} to regenerate it"
# Compared by default by expect_stable: everything but counts and p-values (shown, not compared).
NOT_COMPARED = re.compile(r"^(images|excluded_images|p_.*)$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.,=+@\[\]-]")
MAX_NAME = 100
MAX_SUMMARY_PATHS = 10
MAX_LISTED = 6  # drifted metrics named in a failure message


class BaselineWarning(pytest.PytestWarning):
    """A baseline problem that, by the configured policy, does not fail the test."""


# ----------------------------------------------------------------------------------------------- files

def _safe(part: str) -> str:
    cleaned = _UNSAFE.sub("_", part)
    if not cleaned.strip("."):
        cleaned = cleaned.replace(".", "_") or "_"
    if cleaned != part or len(cleaned) > MAX_NAME:
        cleaned = f"{cleaned[:MAX_NAME]}-{hashlib.sha1(part.encode()).hexdigest()[:8]}"
    return cleaned


def baseline_path(root: Path, nodeid: str) -> Path:
    """`<root>/<test file path without .py>/<test name[params]>.json`; unsafe characters replaced, plus a
    short hash of the original whenever anything was replaced or shortened, so paths stay unique."""
    file, _, rest = nodeid.partition("::")
    parts = [p for p in file.split("/") if p] or ["_"]
    if parts[-1].endswith(".py"):
        parts[-1] = parts[-1][:-3]
    name = rest.replace("::", ".") or "_module"
    return Path(root).joinpath(*[_safe(p) for p in parts], _safe(name) + ".json")


@dataclass
class Loaded:
    """A baseline file as read: status found | missing | invalid, its data, or what is wrong with it."""

    path: Path
    status: str
    data: dict[str, Any] | None = None
    error: str | None = None


def _problem(data: Any, nodeid: str | None) -> str | None:
    """What makes `data` not a baseline of `nodeid`, or None."""
    if not isinstance(data, dict):
        return "does not hold a JSON object"
    version = data.get("baseline_version")
    if isinstance(version, bool) or not isinstance(version, int):
        return "has no integer 'baseline_version'"
    if version > BASELINE_VERSION:
        return (f"was written by a newer pytest-modelaudit (baseline_version {version}; this one reads "
                f"{BASELINE_VERSION})")
    if not isinstance(data.get("nodeid"), str):
        return "has no 'nodeid'"
    if nodeid is not None and data["nodeid"] != nodeid:
        return f"belongs to test {data['nodeid']!r}, not {nodeid!r}"
    metrics = data.get("metrics")
    if not isinstance(metrics, dict) or not all(
            isinstance(k, str) and (v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)))
            for k, v in metrics.items()):
        return "has no 'metrics' object mapping names to numbers"
    if not isinstance(data.get("models", {}), dict):
        return "has a 'models' field that is not an object"
    return None


def load_baseline(path: Path, nodeid: str | None) -> Loaded:
    """Read and validate one baseline file; never raises (problems come back as status 'invalid')."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return Loaded(path, "missing")
    except (OSError, UnicodeDecodeError) as exc:
        return Loaded(path, "invalid", error=f"baseline file {path} cannot be read ({exc}); {FIX_HINT}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return Loaded(path, "invalid", error=(f"baseline file {path} is not valid JSON ({exc.msg} at line "
                                              f"{exc.lineno} column {exc.colno}); {FIX_HINT}"))
    problem = _problem(data, nodeid)
    if problem:
        return Loaded(path, "invalid", error=f"baseline file {path} {problem}; {FIX_HINT}")
    return Loaded(path, "found", data)


def write_baseline(path: Path, payload: dict[str, Any]) -> None:
    """Write atomically (schema.atomic_write: readers never see half a file), making its folder if needed."""
    atomic_write(path, (json.dumps(payload, indent=2, allow_nan=False) + "\n").encode("utf-8"))


def versions() -> dict[str, str | None]:
    """The versions a baseline records (read from package metadata once per process)."""
    return dict(_versions_cached())


@functools.lru_cache(maxsize=1)
def _versions_cached() -> tuple[tuple[str, str | None], ...]:
    from ..environment import environment

    env = environment()
    return tuple((k, env.get(k)) for k in ("pytest_modelaudit", "tensorflow", "keras", "numpy", "python"))


def display_path(path: Path) -> str:
    """A path relative to the working folder when it is inside it (shorter messages), else absolute."""
    try:
        return Path(path).relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)
