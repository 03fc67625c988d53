"""What the starter classifier's class 'hibany' and one conv3 channel look for: their top-activating images.

Images: the first 20 creatures of each class folder (``concepts/hibany``, ``messon``, ``sarunori``),
labelled by folder, so chance is 1/3 for any class. Measured (seed-independent, no randomness in the
evidence): the 6 images with the highest 'hibany' logit are all hibany creatures (share 1.00); the 6
images activating conv3 channel 1 most (mean over H, W) are all hibany (1.00), while channel 0's are all
sarunori. The report also shows the activation-maximisation images (illustrative only) and, in the
model panel, the feature maps of every conv / pooling stage on the first image.

    audit                                           verdict
    test_hibany_top_images_are_hibany               PASS   (share 1.00 >= 0.8)
    test_conv3_channel1_looks_for_hibany            PASS   (share 1.00 >= 0.8)
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CLASSES = ["hibany", "messon", "sarunori"]


@pytest.fixture(scope="module")
def creatures():
    """20 creatures per class, labelled by their folder."""
    from pytest_modelaudit.core.data.images import load_images
    from pytest_modelaudit.core.data.labelled import as_labelled

    files, labels = [], []
    for c in CLASSES:
        found = sorted((HERE / "concepts" / c).glob("*.png"))[:20]
        files += found
        labels += [c] * len(found)
    return as_labelled(load_images(files), labels)


@pytest.mark.model_audit(title="The images scoring highest for 'hibany' are hibany creatures", severity="major")
def test_hibany_top_images_are_hibany(audit, starter_model, creatures):
    audit.show_features(starter_model, creatures.images.images[:1])
    audit.features(starter_model, creatures, target="hibany", layer="conv3", top=6).expect_top_images(
        of="hibany", at_least=0.8)


@pytest.mark.model_audit(title="conv3 channel 1 looks for hibany", severity="minor")
def test_conv3_channel1_looks_for_hibany(audit, starter_model, creatures):
    audit.features(starter_model, creatures, layer="conv3", channels=[1], top=6).expect_top_images(
        of="hibany", at_least=0.8)
