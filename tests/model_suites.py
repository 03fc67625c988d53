"""Pytester suites for the plugin-level tests (xdist, CI outputs, comparison): two square detectors.

``clean`` is the hand-weighted square detector of known_models.py; ``shortcut`` has the detector
inverted, so it fires on the dark background and ignores the square: its Grad-CAM mass is all on
the background and removing the square leaves P(square) at 1. Audits of the same claim on both
give a known PASS / FAIL pair.
"""
from __future__ import annotations

import numpy as np

from known_models import square_model


def detector(kind: str):
    """The square detector ("clean") or its background-reading twin ("shortcut")."""
    model = square_model()
    if kind == "shortcut":
        detect = model.get_layer("detect")
        detect.set_weights([-np.ones((1, 1, 3, 1), np.float32), np.array([0.9], np.float32)])
    elif kind != "clean":
        raise ValueError(kind)
    return model


def conftest(tests_dir) -> str:
    """A conftest with a session fixture `detector` parametrised over both models, and `squares`."""
    return f'''
import sys
sys.path.insert(0, {str(tests_dir)!r})
import pytest
from known_models import square_images
from model_suites import detector as build


@pytest.fixture(scope="session", params=["clean", "shortcut"])
def detector(request):
    from pytest_modelaudit import load_model
    return load_model(build(request.param), classes=["square", "none"], name=f"square_{{request.param}}")


@pytest.fixture
def squares():
    from pytest_modelaudit import ImageSet
    imgs, masks = square_images()
    return ImageSet.from_arrays(imgs, masks)
'''


AUDITS = '''
import pytest


@pytest.mark.model_audit(title="The square drives 'square'", severity="critical")
def test_square_drives(audit, detector, squares):
    audit.gradcam(detector, squares, "square").expect_share(squares.masks, at_least=0.9, region_name="square")


def test_removing_the_square_drops_the_score(audit, detector, squares):
    audit.ablation(detector, squares, "square", squares.masks, region_name="square").expect_drop(at_least=0.5)


def test_no_evidence(audit, detector, squares):
    audit.gradcam(detector, squares, "none").expect_share(squares.masks, at_most=0.5)


def test_typo_in_class(audit, detector, squares):
    audit.gradcam(detector, squares, "sqare").expect_share(squares.masks, at_least=0.9)


def test_ordinary_unit_test():
    assert True
'''

# test function -> (verdict on clean, verdict on shortcut) for AUDITS
EXPECTED = {
    "test_square_drives": ("PASS", "FAIL"),
    "test_removing_the_square_drops_the_score": ("PASS", "FAIL"),
    "test_no_evidence": ("INCONCLUSIVE", "INCONCLUSIVE"),
    "test_typo_in_class": ("ERROR", "ERROR"),
}
