"""Where the two leopard models differ: on the labelled animals (every class on every background) the clean
model and the shortcut model disagree on the leopards off snow and the camels on snow, and each model's
Grad-CAM on those images shows why (the shortcut model's evidence sits on the background)."""

from __future__ import annotations

import pytest


@pytest.mark.model_audit(title="The shortcut and the clean model agree on the animals", severity="major",
                         expect="FAIL")  # they agree on 24 of 36: the shortcut model errs off snow
def test_models_agree_on_the_animals(audit, both_leopard_models, animals):
    audit.disagreement(both_leopard_models, animals).expect_agreement(at_least=0.9)
