"""Candidate models from ini ``model_audit_models``: the files the ``audit_model`` fixture is parametrised over."""
from __future__ import annotations

from pathlib import Path

import pytest

INI = "model_audit_models"
FIXTURE = "audit_model"


def model_files(config: pytest.Config, must_exist: bool) -> tuple[Path, ...]:
    """The listed model files, relative paths taken from the rootdir; a missing file is a usage error when audits run."""
    files = []
    for line in config.getini(INI) or []:
        line = str(line).strip()
        if not line or line.startswith("#"):
            continue
        path = Path(line)
        if not path.is_absolute():
            path = config.rootpath / path
        if must_exist and not path.exists():
            raise pytest.UsageError(
                f"{INI}: model file {line!r} does not exist (looked for {path}; relative paths are taken from "
                f"the rootdir {config.rootpath})"
            )
        files.append(path)
    return tuple(files)


def model_ids(files: tuple[Path, ...]) -> list[str]:
    """Test ids of the candidates: the file stems (pytest makes duplicates unique)."""
    return [p.stem if p.suffix else p.name for p in files]


def parametrize(metafunc: pytest.Metafunc, files: tuple[Path, ...]) -> None:
    """Parametrise a test that uses ``audit_model`` over the candidate files, unless it parametrises it itself."""
    if FIXTURE not in metafunc.fixturenames or not files:
        return
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0] if marker.args else marker.kwargs.get("argnames", "")
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        if FIXTURE in names:
            return
    metafunc.parametrize(FIXTURE, list(files), ids=model_ids(files), indirect=True, scope="session")
