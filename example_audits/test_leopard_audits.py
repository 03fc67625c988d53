"""Audits of the leopard classifiers: is it the leopard, or the snow behind it?

Every audit runs on both shipped models (see ``conftest.py``). Expected verdicts, established
independently by ``tests/test_example_ground_truth.py``:

    audit                                   leopard_shortcut   leopard_clean
    snow is not driving 'leopard'           FAIL               PASS
    Grad-CAM evidence is not on the snow    FAIL               PASS
    the leopard's body drives 'leopard'     FAIL               PASS
    Grad-CAM evidence is on the body        FAIL               PASS
    occlusion evidence is not on the snow   FAIL               PASS
    Integrated Gradients not on the snow    FAIL               PASS
    SmoothGrad evidence is not on the snow  INCONCLUSIVE       INCONCLUSIVE

Every heatmap audit also runs the honesty checks of its method on the model (maps of copies with
re-initialised weights, maps for the other classes, deletion / insertion curves, input noise).
Grad-CAM, occlusion and Integrated Gradients pass them. SmoothGrad does not: its maps barely
change when the model's weights are re-initialised, and they are the same for every class, so
they say little about this model. On the shortcut model they would even *pass* the snow claim
(they follow the bright edges of the animal); the honesty checks turn that into INCONCLUSIVE.

Each method has its own test: an expectation that fails ends its test (like ``assert``), so
putting the causal and the Grad-CAM checks in separate tests gives each its own verdict and
evidence in the report. The causal (ablation) audits are "critical": they measure what the
model does when the region changes. Grad-CAM only says where the gradient-weighted evidence
lies, so its audits are "major".

Ablation fills: the tool tries a flat mean fill, a blur of the image itself, other images' content
outside their own region, and the sand images we pass (``fill_images``). A fill counts only if it
removed what it replaced (on a uniform snow background only the sand does, so without it the snow
audit would be INCONCLUSIVE); the verdict uses the counted fill least favourable to the claim and
the report says whether the verdict hinges on it.
"""

from __future__ import annotations

import pytest

# What each audit is meant to give on each model (the shortcut model is caught, the clean one is not). The
# recorded verdict stays as measured; a test passes when its verdict is the intended one, and the report's
# comparison matrix marks every cell "as intended" or "unexpected".
INTENDED = {"leopard_shortcut": "FAIL", "leopard_clean": "PASS"}
INTENDED_SMOOTHGRAD = {"leopard_shortcut": "INCONCLUSIVE", "leopard_clean": "INCONCLUSIVE"}

# Probability thresholds. With three classes, P(leopard) = 0.5 is the point above which the
# model's decision is "leopard" whatever the other two classes share.
MAX_DROP_FROM_BACKGROUND = 0.2   # a background may shift P(leopard) a little, not decide it
DECISIVE = 0.5                   # "alone makes / takes away the decision"

# Grad-CAM lift = (share of positive Grad-CAM mass in the region) / (share of the image area
# it covers). Lift 1 is what a map spread evenly over the image would give, so it is the
# natural line for "not more than its fair share". The snow covers ~90% of each image, which
# makes the raw share uninformative (even a map that ignores the snow gets much of its mass
# there through the 8x8 grid); the lift corrects for that.
FAIR_SHARE = 1.0
# The body covers ~10% of each image: we ask for at least twice its fair share of the mass,
# i.e. the map clearly concentrates on the animal, not just touches it.
BODY_MIN_LIFT = 2.0


@pytest.mark.model_audit(title="The snow background is not driving 'leopard'", severity="critical",
                         expect=INTENDED)
def test_snow_not_driving_leopard(audit, leopard_model, snow_leopards, sand):
    abl = audit.ablation(leopard_model, snow_leopards, target="leopard",
                         region=snow_leopards.masks, region_name="snow", fill_images=sand)
    # Necessity: put something else where the snow was; the leopard is still there, so
    # P(leopard) should barely move.
    abl.expect_drop(at_most=MAX_DROP_FROM_BACKGROUND)
    # Sufficiency: keep only the snow (the animal replaced); snow alone must not be a leopard.
    abl.expect_region_only(at_most=DECISIVE)


@pytest.mark.model_audit(title="Grad-CAM evidence for 'leopard' is not on the snow", severity="major",
                         expect=INTENDED)
def test_gradcam_not_on_snow(audit, leopard_model, snow_leopards):
    cam = audit.gradcam(leopard_model, snow_leopards, target="leopard")   # last conv layer (8x8)
    cam.expect_lift(region=snow_leopards.masks, region_name="snow", at_most=FAIR_SHARE)


@pytest.mark.model_audit(title="The leopard's body drives 'leopard'", severity="critical", expect=INTENDED)
def test_body_drives_leopard(audit, leopard_model, snow_leopards, leopard_bodies, sand):
    abl = audit.ablation(leopard_model, snow_leopards, target="leopard",
                         region=leopard_bodies, region_name="leopard body", fill_images=sand)
    # Necessity: remove the animal (filled with snow from other images, flat colour, blur or
    # sand); at least half of P(leopard) must go with it.
    abl.expect_drop(at_least=DECISIVE)
    # Sufficiency: the animal alone, its background replaced, is still called a leopard.
    abl.expect_region_only(at_least=DECISIVE)


@pytest.mark.model_audit(title="Grad-CAM evidence for 'leopard' is on the leopard's body", severity="major",
                         expect=INTENDED)
def test_gradcam_on_body(audit, leopard_model, snow_leopards, leopard_bodies):
    cam = audit.gradcam(leopard_model, snow_leopards, target="leopard")
    cam.expect_lift(region=leopard_bodies, region_name="leopard body", at_least=BODY_MIN_LIFT)


@pytest.mark.model_audit(title="Occlusion: covering the snow does not cost 'leopard' more than its share", severity="major",
                         expect=INTENDED)
def test_occlusion_not_on_snow(audit, leopard_model, snow_leopards):
    # Slide an 8x8 mid-grey patch over the image; the map is the drop of the 'leopard' logit. Lift on the
    # snow above 1: covering snow costs more than covering the animal. The default fill, the set's mean
    # colour, is snow-coloured on these images: covering snow with it removes nothing, and the audit would
    # say so (INCONCLUSIVE). Grey removes the snow, so the claim can go either way.
    occ = audit.occlusion(leopard_model, snow_leopards, target="leopard", patch=8, fill=0.5)
    occ.expect_lift(region=snow_leopards.masks, region_name="snow", at_most=FAIR_SHARE)


@pytest.mark.model_audit(title="Integrated Gradients evidence for 'leopard' is not on the snow", severity="major",
                         expect=INTENDED)
def test_integrated_gradients_not_on_snow(audit, leopard_model, snow_leopards):
    ig = audit.heatmap(leopard_model, snow_leopards, target="leopard", method="integrated_gradients")
    ig.expect_lift(region=snow_leopards.masks, region_name="snow", at_most=FAIR_SHARE)


@pytest.mark.model_audit(title="SmoothGrad evidence for 'leopard' is not on the snow", severity="minor",
                         expect=INTENDED_SMOOTHGRAD)
def test_smoothgrad_not_on_snow(audit, leopard_model, snow_leopards):
    # Kept to show the honesty checks at work: SmoothGrad fails them on these models.
    sg = audit.heatmap(leopard_model, snow_leopards, target="leopard", method="smoothgrad")
    sg.expect_lift(region=snow_leopards.masks, region_name="snow", at_most=FAIR_SHARE)
