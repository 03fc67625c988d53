"""How a run is stopped: Ctrl-C and SIGTERM end it the same way, and a second press lets the report finish.

The first Ctrl-C (or a SIGTERM, what CI services send on a timeout or a cancel) stops the tests as
Python's own handler does, and the run is marked interrupted at that moment, whatever pytest has
recorded yet. An impatient second Ctrl-C would otherwise land while pytest handles the first or while
the report of the finished audits is written, and leave a traceback and a report that reads as a whole
run. It is absorbed with a one-line note; only a third one abandons the report.
"""
from __future__ import annotations

import signal
import sys
import threading
from typing import Any

ABANDON_AFTER = 3  # presses: the third one stops even the report


class Stopper:
    """The controller's SIGINT / SIGTERM handler; ``interrupted`` is set by the first signal."""

    def __init__(self) -> None:
        self.interrupted = False
        self.presses = 0
        self.previous: dict[int, Any] = {}

    def install(self) -> bool:
        """Take over SIGINT and SIGTERM in the main thread; False (nothing changed) where that is not possible."""
        if threading.current_thread() is not threading.main_thread():
            return False
        for sig in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
            if sig is None:
                continue
            try:
                self.previous[sig] = signal.signal(sig, self._handle)
            except (OSError, ValueError):  # not settable here: leave the default
                continue
        return bool(self.previous)

    def restore(self) -> None:
        for sig, handler in self.previous.items():
            try:
                signal.signal(sig, handler)
            except (OSError, ValueError, TypeError):
                pass
        self.previous.clear()

    def _handle(self, signum: int, frame: Any) -> None:
        self.presses += 1
        name = "SIGTERM" if signum == getattr(signal, "SIGTERM", None) else "Ctrl-C"
        if self.presses == 1:
            self.interrupted = True
            raise KeyboardInterrupt(f"stopped by {name}")
        if self.presses < ABANDON_AFTER:
            sys.stderr.write(f"\nmodel-audit: stopping; writing the report of the audits that finished "
                             f"(marked interrupted). {name} once more abandons the report.\n")
            sys.stderr.flush()
            return
        self.restore()
        raise KeyboardInterrupt(f"stopped by {name}; the report was abandoned")
