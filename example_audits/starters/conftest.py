"""Fixtures for the starter example: the shipped three-class creature classifier."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_modelaudit import load_model

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def starter_model():
    """hibany / messon / sarunori classifier; inputs are 32x32 RGB in [0, 1]."""
    return load_model(HERE / "models" / "starter.keras", classes=HERE / "models" / "classes.txt",
                      input_range=(0, 1), name="starter")
