"""pytest-modelaudit: audit tests for image classifiers, with evidence and reports.

Importing this package is cheap: TensorFlow, matplotlib and WeasyPrint load only when an audit runs.
"""
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "load_model": "pytest_modelaudit.core.adapter",
    "ModelAdapter": "pytest_modelaudit.core.adapter",
    "load_images": "pytest_modelaudit.core.images",
    "ImageSet": "pytest_modelaudit.core.images",
    "ModelAuditError": "pytest_modelaudit.core.errors",
    "AuditFailure": "pytest_modelaudit.exceptions",
    "AuditInconclusive": "pytest_modelaudit.exceptions",
    "Status": "pytest_modelaudit.core.verdicts",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pytest_modelaudit' has no attribute {name!r}")
