"""Paths as the report and messages name them: relative to where the run started when they lie inside it, so
a report never shows the machine path of the checkout that produced it."""
from __future__ import annotations

import os
from pathlib import Path


def shown_path(path: str | os.PathLike[str], base: str | os.PathLike[str] | None = None) -> str:
    """`path` relative to `base` (default: the working directory) when it lies inside it, else as given."""
    try:
        inside = Path(path).resolve().relative_to(Path(os.getcwd() if base is None else base).resolve())
    except (ValueError, OSError):
        return str(path)
    return inside.as_posix() or "."
