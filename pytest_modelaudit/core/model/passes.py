"""A tally of the passes an audit runs through the model, per phase (evidence, randomisation, faithfulness, ...),
with each phase's wall time: what `make bench` compares with the same passes run as plain batched calls.

Phase counting is off unless a `tally()` is open (the benchmarks open one). Phases nest; a phase's time
excludes the phases inside it, and passes count to the innermost. Apart from phases, every pass is booked to
its model in a process-wide ledger (a dict update per batch call), so each audit's record says what it cost.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

ROOT = "other"  # time and passes inside a tally but outside every named phase


@dataclass
class PhaseTally:
    forward: int = 0  # images through forward-only passes
    backward: int = 0  # images through a forward and a backward pass
    seconds: float = 0.0  # wall time in this phase, nested phases excluded


@dataclass
class Tally:
    phases: dict[str, PhaseTally] = field(default_factory=dict)

    def of(self, name: str) -> PhaseTally:
        return self.phases.setdefault(name, PhaseTally())

    @property
    def forward(self) -> int:
        return sum(p.forward for p in self.phases.values())

    @property
    def backward(self) -> int:
        return sum(p.backward for p in self.phases.values())


_active: Tally | None = None
_ledger: dict[str, list[int]] = {}  # model key -> [forward images, forward and backward images], this process
_stack: list[list] = []  # [phase name, when it (last) resumed]


def _switch(now: float) -> None:
    """Book the running phase's time up to now."""
    if _active is not None and _stack:
        name, since = _stack[-1]
        _active.of(name).seconds += now - since
        _stack[-1][1] = now


@contextmanager
def tally() -> Iterator[Tally]:
    """Count every pass and time every phase until the block ends (not re-entrant)."""
    global _active
    if _active is not None:
        raise RuntimeError("a pass tally is already open")
    _active = Tally()
    _stack.append([ROOT, time.perf_counter()])
    try:
        yield _active
    finally:
        _switch(time.perf_counter())
        _stack.clear()
        _active = None


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Mark a phase of an audit; free when no tally is open."""
    if _active is None:
        yield
        return
    now = time.perf_counter()
    _switch(now)
    _stack.append([name, now])
    try:
        yield
    finally:
        now = time.perf_counter()
        _switch(now)
        _stack.pop()
        if _stack:
            _stack[-1][1] = now


def count(*, forward: int = 0, backward: int = 0, model: str = "") -> None:
    """Book images to `model`'s passes in the ledger and to the running phase's (phases only inside a tally)."""
    booked = _ledger.setdefault(model, [0, 0])
    booked[0] += int(forward)
    booked[1] += int(backward)
    if _active is None or not _stack:
        return
    p = _active.of(_stack[-1][0])
    p.forward += int(forward)
    p.backward += int(backward)


def ledger() -> dict[str, tuple[int, int]]:
    """Every model's passes so far in this process: {model key: (forward images, forward+backward images)}."""
    return {k: (v[0], v[1]) for k, v in _ledger.items()}


def since(before: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """The passes booked after the `ledger()` snapshot `before`, for the models that ran any."""
    out = {}
    for k, (f, b) in ledger().items():
        f0, b0 = before.get(k, (0, 0))
        if f - f0 or b - b0:
            out[k] = (f - f0, b - b0)
    return out
