"""One root seed drives every random choice: each use derives its own seed from it and names of what it is for."""
from __future__ import annotations

import hashlib
from typing import Any


def derived_seed(root: int, *parts: Any) -> int:
    """A per-use seed derived from the root seed (stable across processes and xdist workers)."""
    digest = hashlib.sha256(":".join(map(str, (root, *parts))).encode()).digest()
    return int.from_bytes(digest[:8], "little")
