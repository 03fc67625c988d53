"""Per-test metric baselines: file per test, atomic writes, drift against them, `expect_stable`, pruning.

One JSON file per test node (so xdist workers never write the same file), written by the process that
ran the test with write-then-rename. Pruning runs once, on the controller, and only deletes files of
tests that were in this session's collection scope and no longer exist.

- `store`: file paths, reading with clear errors, atomic writes;
- `drift`: the metrics a baseline holds and their drift;
- `stable`: `expect_stable` and the baseline block of an audit's record;
- `prune`: deleting baselines of tests that no longer exist;
- `terminal`: the baseline lines of the terminal summary.
"""
from .drift import AuditBaseline, Drift
from .prune import PruneResult, PruneTracker
from .stable import baseline_block, stable_check
from ...errors import BaselineError
from .store import BaselineWarning, baseline_path, load_baseline, write_baseline
from .terminal import summary_lines

__all__ = ["AuditBaseline", "BaselineError", "BaselineWarning", "Drift", "PruneResult", "PruneTracker",
           "baseline_block", "baseline_path", "load_baseline", "stable_check", "summary_lines", "write_baseline"]
