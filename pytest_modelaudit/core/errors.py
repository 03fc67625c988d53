"""Errors for bad input: each names the offending file, layer, class or option."""
from __future__ import annotations

import difflib
from collections.abc import Iterable


class ModelAuditError(ValueError):
    """Bad input to an audit (a file, layer, class or option); shown as ERROR in the report."""


class ModelLoadError(ModelAuditError):
    """A model file or object that cannot be used."""


class LayerNotFoundError(ModelAuditError):
    """A layer name that does not exist in the model."""


class ClassNotFoundError(ModelAuditError):
    """A class name or index the model does not have."""


class ImageLoadError(ModelAuditError):
    """An image or mask file that cannot be read or does not fit."""


class TargetMismatchWarning(UserWarning):
    """Most audited images are not classified as the target: the audit explains a decision the model does not make."""


class ImageResizeWarning(UserWarning):
    """Images were resized to the model input with a change of aspect ratio: the model sees them stretched."""


def closest(name: str, valid: Iterable[str], n: int = 5) -> str:
    """A ' Closest: a, b.' hint (or the first valid names) for an unknown name."""
    valid = list(valid)
    matches = difflib.get_close_matches(name, valid, n=n, cutoff=0.4)
    if matches:
        return " Closest valid names: " + ", ".join(repr(m) for m in matches) + "."
    shown = ", ".join(repr(v) for v in valid[:10])
    more = f" (and {len(valid) - 10} more)" if len(valid) > 10 else ""
    return f" Valid names: {shown}{more}." if valid else ""
