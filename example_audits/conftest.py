"""Fixtures for the leopard example: both shipped models and the shipped audit images."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_modelaudit import load_images, load_model

HERE = Path(__file__).resolve().parent
MODELS = HERE / "models"
DATA = HERE / "data"


@pytest.fixture(scope="session", params=["shortcut", "clean"])
def leopard_model(request):
    """Each audit runs against both models: the one trained with the snow shortcut and the clean one."""
    return load_model(MODELS / f"leopard_{request.param}.keras", classes=MODELS / "classes.txt",
                      input_range=(0, 1), name=f"leopard_{request.param}")


@pytest.fixture(scope="session")
def snow_leopards():
    """16 leopards on snow; ``.masks`` is 1 on the snow background, 0 on the animal."""
    return load_images(DATA / "leopards_on_snow", masks=True)


@pytest.fixture(scope="session")
def leopard_bodies(snow_leopards):
    """The complementary region: 1 on the leopard's body."""
    return 1.0 - snow_leopards.masks


@pytest.fixture(scope="session")
def sand():
    """Plain sand backgrounds: in-distribution content to put where the snow was."""
    return load_images(DATA / "sand_backgrounds")


@pytest.fixture(scope="session")
def animals():
    """The labelled set: every class on every background (``data/animals/<class>/``), 36 images."""
    from pytest_modelaudit.core.data.labelled import load_labelled

    return load_labelled(DATA / "animals")


@pytest.fixture(scope="session")
def both_leopard_models():
    """The shortcut and the clean model together, for audits that compare models."""
    return [load_model(MODELS / f"leopard_{k}.keras", classes=MODELS / "classes.txt", input_range=(0, 1),
                       name=f"leopard_{k}") for k in ("shortcut", "clean")]
