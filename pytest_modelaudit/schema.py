"""The results.json contract that the plugin (which writes it) and the report (which reads it) share, and how
it and every file beside it (report, baselines, cache entries) is written: atomically.

Stdlib only: importing it must stay cheap for the plugin and free of the report's dependencies.
docs/results-schema.md describes the file itself.
"""
from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

SCHEMA_VERSION = 1

# Audit statuses, worst first: the order audits are listed and sorted in.
STATUSES = ("FAIL", "INCONCLUSIVE", "ERROR", "PASS")
STATUS_ORDER = {s: i for i, s in enumerate(STATUSES)}

# Heatmap method keys (evidence "method", companion and curve keys) and their labels, in display order.
METHOD_LABELS = {
    "gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++", "layercam": "LayerCAM", "saliency": "Saliency",
    "occlusion": "Occlusion", "smoothgrad": "SmoothGrad", "integrated_gradients": "Integrated Gradients",
    "gradient_x_input": "Gradient × Input",
}
METHOD_KEYS = tuple(METHOD_LABELS)

_RECORDED_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,80}")


def json_number(v: Any) -> float | None:
    """A number as results.json stores it: a finite float, or null (NaN, infinities, what is not a number)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def normalise_status(status: object) -> str:
    """One of :data:`STATUSES`; anything unknown or missing counts as ERROR."""
    s = str(status or "").strip().upper()
    return s if s in STATUS_ORDER else "ERROR"


def anchor_for_nodeid(nodeid: str) -> str:
    """The HTML id of an audit's card: ``audit-`` + the first 10 hex digits of sha1(nodeid)."""
    return "audit-" + hashlib.sha1(nodeid.encode("utf-8")).hexdigest()[:10]


def audit_anchor(audit: dict[str, Any]) -> str:
    """The card id of one recorded audit: its ``id`` (failure messages link to it), else the nodeid rule."""
    rid = audit.get("id")
    if isinstance(rid, str) and _RECORDED_ID.fullmatch(rid):
        return rid
    nodeid = audit.get("nodeid")
    return anchor_for_nodeid("" if nodeid is None else str(nodeid))


def inconclusive_reason(audit: dict[str, Any]) -> str | None:
    """Why an audit is INCONCLUSIVE: the reason of its first INCONCLUSIVE check that gives one (None if none)."""
    raw = audit.get("checks")
    checks = [c for c in raw if isinstance(c, dict)] if isinstance(raw, list) else []
    return next((str(c["reason"]) for c in checks
                 if normalise_status(c.get("status")) == "INCONCLUSIVE" and c.get("reason")), None)


def deciding_check(audit: dict[str, Any]) -> dict[str, Any] | None:
    """The check that decides ``audit``: the one carrying the audit's claim, else the first with the audit's
    status, else the last check; None when it has no checks. Entries that are not objects count as empty."""
    raw = audit.get("checks")
    checks = [c if isinstance(c, dict) else {} for c in raw] if isinstance(raw, list) else []
    claim = audit.get("claim")
    if claim:
        for c in checks:
            if c.get("claim") == claim:
                return c
    status = normalise_status(audit.get("status"))
    for c in checks:
        if normalise_status(c.get("status")) == status:
            return c
    return checks[-1] if checks else None


# What a file is written from: its bytes, or a function that writes them to the open (binary) file.
FileContent = bytes | Callable[[IO[bytes]], object]


def stage_file(path: str | os.PathLike[str], content: FileContent, *, prefix: str | None = None,
               fsync: bool = True) -> Path:
    """Write `content` to a new temporary file beside `path` and return its path, for an os.replace into place
    (the same folder, so the move is atomic); on any failure, Ctrl-C included, nothing is left behind.

    The folder is made when missing, and once more if a concurrent clean-up removes it meanwhile. The name is
    `prefix` (default ".<name>.") + random hex + ".tmp"; the umask decides the permissions, as with open().
    `fsync=False` skips flushing to disk, for files that are cheap to lose (cache entries)."""
    path = Path(path)
    tmp = path.with_name((f".{path.name}." if prefix is None else prefix) + os.urandom(6).hex() + ".tmp")
    for attempt in (0, 1):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileNotFoundError:  # the folder vanished after mkdir (a concurrent clean-up): make it again, once
            if attempt:
                raise
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(content, bytes):
                fh.write(content)
            else:
                content(fh)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def atomic_write(path: str | os.PathLike[str], content: FileContent, *, prefix: str | None = None,
                 fsync: bool = True) -> None:
    """Write `path` so that a reader sees the old file or the whole new one, never half a file: `stage_file`,
    then os.replace; on any failure the old file stays and no temporary file is left.

    The one helper for the report files, baselines and cache entries. Here, not in core/ or report/: schema.py owns
    how results.json and the files beside it are written, and the report may import no other module (core does)."""
    tmp = stage_file(path, content, prefix=prefix, fsync=fsync)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
