"""Every exception and warning of pytest-modelaudit, one hierarchy; names say what went wrong.

Stdlib only: the evidence core, the pytest layer and the report all import it.

    ModelAuditError (ValueError)      bad input to an audit: shown as ERROR, the message names it
        ModelLoadError                a model file or object that cannot be used
        LayerError                    a layer that cannot serve this evidence
            LayerNotFoundError        no layer of that name (or an ambiguous bare name)
            LayerUnsuitableError      the layer exists but cannot be used (not a spatial map, no gradient)
        ClassNotFoundError            a class name or index the model does not have
        LabelFileError                a class-label file or list that does not fit the model
        ImageLoadError                an image or mask that cannot be read or does not fit
        ConceptError                  a concept folder that is missing, too small or unreadable
        BaselineError                 a baseline expect_stable needs is missing or unreadable
    AuditFailure (AssertionError)     the claim does not hold
    AuditInconclusive (AssertionError)  the evidence cannot decide the claim (never a pass)
    ModelAuditWarning (UserWarning)
        TargetMismatchWarning, ImageResizeWarning, ModelAuditCacheWarning

(The report's ReportWriteError / ReportWarning and the pytest-layer BaselineWarning, a
pytest.PytestWarning, live with the code that raises them.)
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable


class ModelAuditError(ValueError):
    """Bad input to an audit (a file, layer, class or option); shown as ERROR in the report."""


class ModelLoadError(ModelAuditError):
    """A model file or object that cannot be used."""


class LayerError(ModelAuditError):
    """A layer that cannot serve the evidence asked for."""


class LayerNotFoundError(LayerError):
    """A layer name that does not exist in the model (or a bare name that matches several)."""


class LayerUnsuitableError(LayerError):
    """A layer that exists but cannot be used: not a spatial map, or no gradient flows to it."""


class ClassNotFoundError(ModelAuditError):
    """A class name or index the model does not have."""


class LabelFileError(ModelAuditError):
    """A class-label file or list that is missing, empty, duplicated or does not match the model's outputs."""


class ImageLoadError(ModelAuditError):
    """An image or mask file that cannot be read or does not fit."""


class ConceptError(ModelAuditError):
    """A concept folder that is missing, too small or unreadable."""


class BaselineError(ModelAuditError):
    """A baseline that expect_stable needs is missing or unreadable (the message says how to fix it)."""


class AuditFailure(AssertionError):
    """The claim does not hold: the measured value is on the wrong side of the threshold."""


class AuditInconclusive(AssertionError):
    """The evidence cannot decide the claim (never a pass); fails the test by default."""


class ModelAuditWarning(UserWarning):
    """Something an audit's reader should know; the audit still runs."""


class TargetMismatchWarning(ModelAuditWarning):
    """Most audited images are not classified as the target: the audit explains a decision the model does not make."""


class ImageResizeWarning(ModelAuditWarning):
    """Images were resized to the model input with a change of aspect ratio: the model sees them stretched."""


class ModelAuditCacheWarning(ModelAuditWarning):
    """The disk cache could not be used as asked (unwritable folder, corrupt entry); audits still run."""


def closest(name: str, valid: Iterable[str], n: int = 5) -> str:
    """A ' Closest valid names: a, b.' hint (or the first valid names) for an unknown name."""
    valid = list(valid)
    matches = difflib.get_close_matches(name, valid, n=n, cutoff=0.4)
    if matches:
        return " Closest valid names: " + ", ".join(repr(m) for m in matches) + "."
    shown = ", ".join(repr(v) for v in valid[:10])
    more = f" (and {len(valid) - 10} more)" if len(valid) > 10 else ""
    return f" Valid names: {shown}{more}." if valid else ""
