"""What every section view shares: tolerant readers of results.json values, quoting, metric rows, the image budget."""
from __future__ import annotations

import re
from typing import Any

from ..formatting import DASH, fmt_value

MAX_IMAGES = 6            # per evidence block, most telling first
# Characters of data-URI images one report may embed (thumbnails + overlays). Evidence of the
# audits listed first (FAIL, INCONCLUSIVE, ...) gets images first; past the budget the numbers
# stay and the images are left out with a note.
IMAGE_BUDGET_CHARS = 7_000_000


class ImageBudget:
    """How many data-URI characters the report may still embed; once one image does not fit, none does."""

    def __init__(self, chars: int = IMAGE_BUDGET_CHARS):
        self.left = chars
        self.total = chars
        self.exhausted = False

    def fits(self, *uris: str | None) -> bool:
        need = sum(len(u) for u in uris if u)
        if self.exhausted or need > self.left:
            self.exhausted = True
            return False
        self.left -= need
        return True

    @property
    def note(self) -> str:
        mb = self.total / 1_000_000
        return (f"Images left out to keep the report small (its image budget of {mb:.0f} MB was "
                "used by the audits listed earlier). The numbers are complete; results.json "
                "holds every thumbnail.")


def as_dict(x: Any) -> dict:
    return x if isinstance(x, dict) else {}


def as_list(x: Any) -> list:
    return x if isinstance(x, list) else []


def text(x: Any, default: str = "") -> str:
    if x is None:
        return default
    return x if isinstance(x, str) else str(x)


def quote(name: Any) -> str:
    return f"‘{text(name)}’" if name not in (None, "") else DASH


def slug_anchor(prefix: str, key: Any) -> str:
    """An HTML id from any text: ``prefix-`` + its letters, digits, ``_`` and ``-`` (64 at most)."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", text(key)).strip("-")[:64]
    return f"{prefix}-{slug or 'x'}"


_COUNT_NAME = re.compile(r"(^|[._])(n|count|top|images|excluded_images|images_of_class|n_\w+|\w+_count)$")


def metrics_rows(metrics: Any) -> list[tuple[str, str]]:
    """(name, value) rows; counts recorded as floats (4.0 images) are shown as integers."""
    rows = []
    for k, v in as_dict(metrics).items():
        if isinstance(v, float) and v.is_integer() and _COUNT_NAME.search(str(k)):
            v = int(v)
        rows.append((str(k), fmt_value(v)))
    return rows
