"""What the plugin's modules share: stash keys, the plugin names and the marker's severities."""
from __future__ import annotations

from typing import Any

import pytest

from .options import Settings

SKIP_REASON = "model audits are off; run pytest --model-audit"
SETTINGS_KEY = pytest.StashKey[Settings]()
AUDIT_KEY = pytest.StashKey[Any]()
CACHE_SEEN_KEY = pytest.StashKey[dict[str, int]]()
CACHE_DIR_KEY = pytest.StashKey[tuple[Any, str]]()  # (folder in use or None, why not)
MARKER_PROBLEM = pytest.StashKey[str]()
SEVERITIES = ("critical", "major", "minor", "info")
PRUNE_PLUGIN = "model-audit-baseline-prune"
