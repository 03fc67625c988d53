"""Data-level audits of the leopard classifiers on the labelled set ``data/animals`` (every class on snow, sand
and grass, 4 images each, 36 in all).

    audit                                              leopard_shortcut   leopard_clean
    at least 90% accurate on every class               FAIL (0.33)        PASS (1.00)
    camels are not called leopards                     FAIL (0.33)        PASS (0.00)
    the classes are separable before the head          FAIL (0.69)        PASS (1.00)

Measured: the clean model is right on all 36 images; the shortcut model on 24: it calls the leopards on sand and
grass "camel" (8 of 12 leopards) and the camels on snow "leopard" (4 of 12 camels). The data cover every class on
every background, so a model that reads the background instead of the animal cannot score well here.

Separability is leave-one-out 5-NN accuracy on the standardised features of the layer before the logits' Dense
(the global average pooling, 64 features), against the chance level 0.33. The clean model's classes form three
separate clusters there (1.00, silhouette 0.65); the shortcut model's pooled features are organised by
background as much as by animal (0.69, silhouette 0.08). At the earlier conv layers neither model separates the
classes to 0.9 (conv1: 0.56 / 0.69, conv2: 0.69 / 0.86).
"""
from __future__ import annotations

import pytest

INTENDED = {"leopard_shortcut": "FAIL", "leopard_clean": "PASS"}

MIN_ACCURACY = 0.9       # per class: at most 1 mistake in 12 images of a class
MAX_CAMEL_AS_LEOPARD = 0.1
MIN_SEPARABILITY = 0.9   # leave-one-out k-NN accuracy in the layer space; chance is 1/3


@pytest.mark.model_audit(title="The model is at least 90% accurate on every class, whatever the background",
                         severity="critical", expect=INTENDED)
def test_accurate_on_every_background(audit, leopard_model, animals):
    perf = audit.performance(leopard_model, animals)
    perf.expect_accuracy(at_least=MIN_ACCURACY, per_class=True)


@pytest.mark.model_audit(title="Camels are not called leopards", severity="major", expect=INTENDED)
def test_camels_not_called_leopards(audit, leopard_model, animals):
    audit.performance(leopard_model, animals).expect_confusion("camel", "leopard", at_most=MAX_CAMEL_AS_LEOPARD)


@pytest.mark.model_audit(title="The classes are separable in the features the head reads", severity="minor",
                         expect=INTENDED)
def test_classes_separable_before_the_head(audit, leopard_model, animals):
    audit.embedding(leopard_model, animals).expect_separable(at_least=MIN_SEPARABILITY)
