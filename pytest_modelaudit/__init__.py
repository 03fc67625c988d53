"""pytest-modelaudit: audit tests for image classifiers, with evidence and reports.

Importing this package is cheap: TensorFlow, matplotlib and WeasyPrint load only when an audit runs.
"""
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "load_model": "pytest_modelaudit.core.model.adapter",
    "ModelAdapter": "pytest_modelaudit.core.model.adapter",
    "load_images": "pytest_modelaudit.core.data.images",
    "ImageSet": "pytest_modelaudit.core.data.images",
    "load_labelled": "pytest_modelaudit.core.data.labelled",
    "LabelledSet": "pytest_modelaudit.core.data.labelled",
    "ModelAuditError": "pytest_modelaudit.errors",
    "AuditFailure": "pytest_modelaudit.errors",
    "AuditInconclusive": "pytest_modelaudit.errors",
    "Status": "pytest_modelaudit.core.checks.verdicts",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pytest_modelaudit' has no attribute {name!r}")
