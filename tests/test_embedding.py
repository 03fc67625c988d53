"""audit.embedding on hand-set models: one whose embedding layer separates the classes perfectly, one whose
embedding is constant; the default layer, the separability numbers, determinism, the record and the report."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

CLASSES = ["red", "green", "blue"]


def feature_model(scale: float, name: str):
    """A 1x1 conv (identity x scale, so scale 0 gives a constant embedding), GAP, then a Dense on it."""
    import keras

    inp = keras.Input((4, 4, 3), name="image")
    conv = keras.layers.Conv2D(3, 1, name="feat")
    gap = keras.layers.GlobalAveragePooling2D(name="gap")
    head = keras.layers.Dense(3, activation="softmax", name="head")
    model = keras.Model(inp, head(gap(conv(inp))), name=name)
    conv.set_weights([np.eye(3, dtype=np.float32).reshape(1, 1, 3, 3) * scale, np.zeros(3, np.float32)])
    head.set_weights([np.eye(3, dtype=np.float32) * 10, np.zeros(3, np.float32)])
    return model


def coloured(n_per: int = 5, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """n_per images per class: channel c bright (0.7..0.9), the others dim, with a little noise."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for c, name in enumerate(CLASSES):
        for _ in range(n_per):
            img = rng.uniform(0.0, 0.2, (4, 4, 3)).astype(np.float32)
            img[..., c] = rng.uniform(0.7, 0.9)
            images.append(img)
            labels.append(name)
    return np.stack(images), labels


@pytest.fixture(scope="module")
def models():
    from pytest_modelaudit import load_model

    return {k: load_model(feature_model(s, k), classes=CLASSES, name=k) for k, s in (("separating", 1.0),
                                                                                       ("constant", 0.0))}


def test_default_layer_is_the_input_of_the_logits_dense(models):
    from pytest_modelaudit.core.insight.embedding import default_embedding_layer

    assert default_embedding_layer(models["separating"]) == "gap"


def test_separating_layer_passes_and_constant_layer_fails(models):
    from pytest_modelaudit.core.checks.verdicts import Status
    from pytest_modelaudit.core.insight.embedding import embedding, separable_check

    images, labels = coloured()
    good = embedding(models["separating"], images, labels=labels)
    assert good.k == 4 and good.knn_accuracy == 1.0 and good.chance == pytest.approx(1 / 3)
    assert good.silhouette > 0.5 and good.coords.shape == (15, 2)
    assert separable_check(good, at_least=0.9).status is Status.PASS
    flat = embedding(models["constant"], images, labels=labels)
    assert flat.constant and math.isnan(flat.silhouette) and flat.knn_accuracy <= flat.chance
    c = separable_check(flat, at_least=0.9)
    assert c.status is Status.FAIL and "no information" in c.detail
    # a spatial layer is averaged over H, W: the same features as the pooling after it
    conv = embedding(models["separating"], images, labels=labels, layer="feat")
    np.testing.assert_allclose(conv.features, good.features, rtol=1e-5, atol=1e-6)


def test_knn_is_leave_one_out_on_a_known_layout():
    from pytest_modelaudit.core.insight.embedding import knn_loo

    z = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [3.5]])
    labels = np.array([0, 0, 0, 1, 1, 1])  # the last point sits among class 0: it alone is wrong
    assert knn_loo(z, labels, 1) == pytest.approx(5 / 6)
    assert knn_loo(z, labels, 2) == pytest.approx(5 / 6)  # 2 sees 1 (class 0) and 3.5 (class 1): the nearer wins


def test_bound_at_chance_and_small_classes_are_inconclusive(models):
    from pytest_modelaudit.core.checks.verdicts import Status
    from pytest_modelaudit.core.insight.embedding import embedding, separable_check

    images, labels = coloured()
    good = embedding(models["separating"], images, labels=labels)
    c = separable_check(good, at_least=0.3)
    assert c.status is Status.INCONCLUSIVE and "chance" in c.reason
    few = embedding(models["separating"], images[:7], labels=labels[:7])  # 5 red, 2 green
    assert separable_check(few, at_least=0.9).status is Status.INCONCLUSIVE
    one = embedding(models["separating"], images[:5], labels=labels[:5])
    assert "only one class" in separable_check(one, at_least=0.9).reason


def test_tsne_is_seeded_and_pca_deterministic(models):
    from pytest_modelaudit.core.insight.embedding import embedding

    images, labels = coloured()
    a = embedding(models["separating"], images, labels=labels, method="tsne", seed=3)
    b = embedding(models["separating"], images, labels=labels, method="tsne", seed=3)
    assert a.method == "tsne" and np.array_equal(a.coords, b.coords)
    p = embedding(models["separating"], images, labels=labels)
    assert p.method == "pca" and len(p.explained) == 2 and sum(p.explained) <= 1 + 1e-9


def test_bad_input_is_a_clear_error(models):
    from pytest_modelaudit.core.insight.embedding import embedding
    from pytest_modelaudit.errors import ClassNotFoundError, LayerNotFoundError, ModelAuditError

    images, labels = coloured()
    with pytest.raises(ModelAuditError, match="method"):
        embedding(models["separating"], images, labels=labels, method="umap")
    with pytest.raises(LayerNotFoundError):
        embedding(models["separating"], images, labels=labels, layer="nope")
    with pytest.raises(ClassNotFoundError):
        embedding(models["separating"], images, labels=["cyan"] * len(images))


def test_record_and_report(models):
    from pytest_modelaudit.core.insight.embedding import embedding, separable_check
    from pytest_modelaudit.report.views.common import ImageBudget
    from pytest_modelaudit.report.views.evidence_embedding import view

    images, labels = coloured()
    labels[0] = "green"  # one red image labelled green: the model (right about the colour) is "wrong" there
    r = embedding(models["separating"], images, labels=labels)
    rec = separable_check(r, at_least=0.5).evidence.to_json()
    json.dumps(rec, allow_nan=False)
    assert rec["type"] == "embedding" and len(rec["points"]) == 15
    assert rec["points"][0][2] == 1 and rec["points"][0][3] is False and rec["points"][1][3] is True
    v = view(rec, ImageBudget())
    assert v["template"] == "evidence_embedding.html.j2" and v["figure"].startswith("data:image/png;base64,")
    assert ("chance (majority share)", "0.333") in v["facts"] or any(k.startswith("chance") for k, _ in v["facts"])
    assert view({"type": "embedding", "points": "x", "k": None}, ImageBudget())["figure"] is None


def test_leopard_models_separate_at_the_pooling_layer_only_when_clean():
    """Measured on the shipped set: k-NN at 'gap' is 1.0 for the clean model and 0.69 for the shortcut one."""
    from pathlib import Path

    from pytest_modelaudit import load_model
    from pytest_modelaudit.core.data.labelled import load_labelled
    from pytest_modelaudit.core.insight.embedding import embedding

    ex = Path(__file__).resolve().parents[1] / "example_audits"
    data = load_labelled(ex / "data" / "animals")
    knn = {}
    for k in ("shortcut", "clean"):
        m = load_model(ex / "models" / f"leopard_{k}.keras", classes=ex / "models" / "classes.txt", name=k)
        knn[k] = embedding(m, data).knn_accuracy
    assert knn["clean"] == 1.0 and knn["shortcut"] < 0.8
