"""Drawn pictures kept between runs: a warm run redraws the same overlays and plots from the same recorded
numbers, so each drawing is looked up by a digest of its inputs (and of the drawing code) in one file of the
evidence cache folder. Only a speed-up: without a folder, or with an unreadable file, everything is drawn.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

FILE_NAME = "drawn.json"
F = TypeVar("F", bound=Callable[..., Any])


@dataclasses.dataclass
class _Memo:
    path: Path
    known: dict[str, Any]
    used: dict[str, Any] = dataclasses.field(default_factory=dict)


_active: _Memo | None = None


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    """The drawing code and the libraries that draw: a change to any of them redraws everything."""
    from importlib.metadata import PackageNotFoundError, version

    h = hashlib.sha256()
    for src in sorted(Path(__file__).parent.glob("*.py")):
        h.update(src.name.encode() + src.read_bytes())
    for lib in ("matplotlib", "pillow", "numpy"):
        try:
            h.update(f"{lib}={version(lib)}".encode())
        except PackageNotFoundError:
            h.update(lib.encode())
    return h.hexdigest()


@contextlib.contextmanager
def kept_in(folder: str | os.PathLike[str] | None) -> Iterator[None]:
    """While active, memoised drawings are read from and written to `folder`/drawn.json (None: no memo). Only the
    drawings used by this render are written back, so the file holds one report's pictures, not every run's."""
    global _active
    if folder is None:
        yield
        return
    path = Path(folder) / FILE_NAME
    try:
        known = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(known, dict) or known.get("code") != _code_digest():
            known = {}
    except (OSError, ValueError):
        known = {}
    memo = _Memo(path, known.get("drawn", {}) if isinstance(known.get("drawn"), dict) else {})
    _active = memo
    try:
        yield
    finally:
        _active = None
        if memo.used != memo.known:
            _save(memo)


def _save(memo: _Memo) -> None:
    from ...schema import atomic_write

    try:
        atomic_write(memo.path, json.dumps({"code": _code_digest(), "drawn": memo.used}).encode("utf-8"), fsync=False)
    except OSError:
        pass  # a read-only cache folder only costs the next run its drawing time


def memoised(encode: Callable[[Any], Any] = lambda v: v, decode: Callable[[Any], Any] = lambda v: v
             ) -> Callable[[F], F]:
    """Decorate a drawing whose result depends only on its (JSON-like) arguments; `encode` / `decode` turn its
    result into JSON and back."""
    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def drawn(*args: Any, **kwargs: Any) -> Any:
            memo = _active
            if memo is None:
                return fn(*args, **kwargs)
            try:
                text = json.dumps([fn.__qualname__, args, kwargs], sort_keys=True, allow_nan=True)
            except (TypeError, ValueError):
                return fn(*args, **kwargs)  # not JSON-like: draw it
            key = hashlib.sha256(text.encode("utf-8")).hexdigest()
            if key in memo.known:
                try:
                    value = decode(memo.known[key])
                except (TypeError, ValueError, KeyError):
                    value = fn(*args, **kwargs)
            else:
                value = fn(*args, **kwargs)
            memo.used[key] = encode(value)
            return value
        return drawn  # type: ignore[return-value]
    return wrap
