"""Where the two leopard models differ: on the labelled animals (every class on every background) the clean
model and the shortcut model disagree on the leopards off snow and the camels on snow, and each model's
Grad-CAM on those images shows why (the shortcut model's evidence sits on the background). On the foxes they
agree: a passing claim that could have failed."""

from __future__ import annotations

from pathlib import Path

import pytest

FOXES = Path(__file__).resolve().parent / "data" / "animals" / "fox"  # 12 foxes: on grass, sand and snow


@pytest.mark.model_audit(title="The shortcut and the clean model agree on the animals", severity="major",
                         expect="FAIL")  # they agree on 24 of 36: the shortcut model errs off snow
def test_models_agree_on_the_animals(audit, both_leopard_models, animals):
    audit.disagreement(both_leopard_models, animals).expect_agreement(at_least=0.9)


@pytest.mark.model_audit(title="The shortcut and the clean model agree on the foxes, whatever the background",
                         severity="minor", expect="PASS")  # the shortcut model gets every fox right, even on snow
def test_models_agree_on_the_foxes(audit, both_leopard_models):
    audit.disagreement(both_leopard_models, FOXES).expect_agreement(at_least=0.9)
