"""audit.performance on a hand-set model whose predictions are known exactly: accuracy, per-class precision /
recall, the confusion matrix, the claims' verdicts, the record, the plugin run and the report."""
from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest

CLASSES = ["red", "green", "blue", "grey"]  # "grey" has no images: its recall is undefined


def colour_model(name: str = "colour_net"):
    """logit_c = 10 * mean of channel c for c in RGB (GAP then an identity Dense); 'grey' always -10."""
    import keras

    inp = keras.Input((4, 4, 3), name="image")
    pooled = keras.layers.GlobalAveragePooling2D(name="gap")(inp)
    head = keras.layers.Dense(4, activation="softmax", name="head")
    out = head(pooled)
    model = keras.Model(inp, out, name=name)
    w = np.zeros((3, 4), np.float32)
    w[0, 0] = w[1, 1] = w[2, 2] = 10.0
    head.set_weights([w, np.array([0, 0, 0, -10], np.float32)])
    return model


def solid(channel: int) -> np.ndarray:
    img = np.full((4, 4, 3), 0.1, np.float32)
    img[..., channel] = 0.9
    return img


# (label, colour shown): red 3 right + 1 looks green; green 4 right; blue 2 right + 2 look red.
PLAN = [("red", 0)] * 3 + [("red", 1)] + [("green", 1)] * 4 + [("blue", 2)] * 2 + [("blue", 0)] * 2


def colour_data():
    return np.stack([solid(c) for _, c in PLAN]), [lab for lab, _ in PLAN]


@pytest.fixture(scope="module")
def adapter():
    from pytest_modelaudit import load_model

    return load_model(colour_model(), classes=CLASSES, name="colour_net")


@pytest.fixture(scope="module")
def result(adapter):
    from pytest_modelaudit.core.insight.performance import performance

    images, labels = colour_data()
    return performance(adapter, images, labels=labels)


def test_counts_are_known_exactly(result):
    cm = result.confusion
    assert cm.tolist() == [[3, 1, 0, 0], [0, 4, 0, 0], [2, 0, 2, 0], [0, 0, 0, 0]]
    assert result.accuracy == pytest.approx(9 / 12)
    rec, prec = result.recall, result.precision
    assert rec[:3].tolist() == pytest.approx([0.75, 1.0, 0.5]) and math.isnan(rec[3])  # undefined, not 0
    assert prec[:3].tolist() == pytest.approx([3 / 5, 4 / 5, 1.0]) and math.isnan(prec[3])
    assert result.normalised[2, 0] == pytest.approx(0.5)
    assert result.most_confused() == [("blue", "red", 2, 0.5), ("red", "green", 1, 0.25)]


def test_accuracy_claims(result, adapter):
    from pytest_modelaudit.core.checks.verdicts import Status
    from pytest_modelaudit.core.insight.performance import accuracy_check

    assert accuracy_check(result, at_least=0.7, model=adapter).status is Status.PASS
    c = accuracy_check(result, at_least=0.8, model=adapter)
    assert c.status is Status.FAIL and c.measured == pytest.approx(0.75) and "9 of 12" in c.detail
    c = accuracy_check(result, at_least=0.6, per_class=True, model=adapter)
    assert c.status is Status.FAIL and c.measured == pytest.approx(0.5) and "'blue'" in c.detail
    assert "grey" in c.detail  # the absent class is named
    c = accuracy_check(result, at_least=0.5, per_class=True, model=adapter)
    assert c.status is Status.PASS  # classes present only
    c = accuracy_check(result, at_least=0.5, per_class=True, classes=["red", "grey"], model=adapter)
    assert c.status is Status.INCONCLUSIVE and "'grey'" in c.reason


def test_confusion_claims(result, adapter):
    from pytest_modelaudit.core.checks.verdicts import Status
    from pytest_modelaudit.core.insight.performance import confusion_check
    from pytest_modelaudit.errors import ClassNotFoundError, ModelAuditError

    c = confusion_check(result, "blue", "red", at_most=0.4, model=adapter)
    assert c.status is Status.FAIL and c.measured == pytest.approx(0.5)
    assert confusion_check(result, "blue", "red", at_most=0.5, model=adapter).status is Status.PASS
    assert confusion_check(result, 0, "blue", at_most=0.0, model=adapter).status is Status.PASS
    c = confusion_check(result, "grey", "red", at_most=0.1, model=adapter)
    assert c.status is Status.INCONCLUSIVE and "'grey'" in c.reason
    with pytest.raises(ClassNotFoundError):
        confusion_check(result, "bleu", "red", at_most=0.1, model=adapter)
    with pytest.raises(ModelAuditError, match="same class"):
        confusion_check(result, "red", "red", at_most=0.1, model=adapter)
    with pytest.raises(ModelAuditError, match="outside the range"):
        confusion_check(result, "blue", "red", at_most=1.5, model=adapter)


def test_few_images_and_empty_are_inconclusive(adapter):
    from pytest_modelaudit.core.checks.verdicts import Status
    from pytest_modelaudit.core.insight.performance import accuracy_check, confusion_check, performance

    few = performance(adapter, np.stack([solid(0), solid(0), solid(1), solid(1), solid(1)]),
                      labels=["red", "red", "green", "green", "green"])
    c = accuracy_check(few, at_least=0.9, per_class=True, model=adapter)
    assert c.status is Status.INCONCLUSIVE and "'red'" in c.reason
    assert confusion_check(few, "red", "green", at_most=0.1, model=adapter).status is Status.INCONCLUSIVE
    empty = performance(adapter, np.zeros((0, 4, 4, 3), np.float32), labels=[])
    assert accuracy_check(empty, at_least=0.5, model=adapter).status is Status.INCONCLUSIVE


def test_bad_labels_are_clear_errors(adapter):
    from pytest_modelaudit.core.insight.performance import performance
    from pytest_modelaudit.errors import ClassNotFoundError, ImageLoadError

    images, labels = colour_data()
    with pytest.raises(ClassNotFoundError, match="'purple'"):
        performance(adapter, images, labels=labels[:-1] + ["purple"])
    with pytest.raises(ImageLoadError, match="labels"):
        performance(adapter, images, labels=labels[:3])


def test_record_is_json_and_small(result, adapter):
    from pytest_modelaudit.core.insight.performance import confusion_check

    rec = confusion_check(result, "blue", "red", at_most=0.4, model=adapter).evidence.to_json()
    json.dumps(rec, allow_nan=False)
    assert rec["type"] == "performance" and rec["confusion"][2][0] == 2
    assert rec["per_class"][3]["recall"] is None and rec["per_class"][3]["support"] == 0
    assert rec["misclassified"][0]["true"] == "blue"  # the claimed pair's mistakes first
    assert len(rec["misclassified"]) == 3 and len(json.dumps(rec)) < 20_000


def test_leopard_models_known_verdicts():
    """The shipped models: clean right on all 36, shortcut on 24 (leopards off snow -> camel, camels on snow)."""
    from pathlib import Path

    from pytest_modelaudit import load_model
    from pytest_modelaudit.core.data.labelled import load_labelled
    from pytest_modelaudit.core.insight.performance import performance

    ex = Path(__file__).resolve().parents[1] / "example_audits"
    data = load_labelled(ex / "data" / "animals")
    acc = {}
    for k in ("shortcut", "clean"):
        m = load_model(ex / "models" / f"leopard_{k}.keras", classes=ex / "models" / "classes.txt", name=k)
        r = performance(m, data)
        acc[k] = r.accuracy
        if k == "shortcut":
            assert r.confusion[r.classes.index("leopard"), r.classes.index("camel")] == 8
    assert acc == {"shortcut": pytest.approx(24 / 36), "clean": 1.0}


# ----- through the plugin, and the report ---------------------------------------------------------
CONFTEST = '''
import sys
sys.path.insert(0, {tests_dir!r})
import pytest
from test_performance import colour_model, colour_data, CLASSES

@pytest.fixture(scope="session")
def net():
    from pytest_modelaudit import load_model
    return load_model(colour_model(), classes=CLASSES, name="colour_net")
'''

AUDITS = '''
import pytest
from test_performance import colour_data

@pytest.mark.model_audit(title="Blue is rarely called red")
def test_blue_not_red(audit, net):
    images, labels = colour_data()
    audit.performance(net, images, labels=labels).expect_confusion("blue", "red", at_most=0.25)

def test_accuracy(audit, net):
    images, labels = colour_data()
    audit.performance(net, images, labels=labels).expect_accuracy(at_least=0.7)

def test_embedding(audit, net):
    images, labels = colour_data()
    audit.embedding(net, images, labels=labels).expect_separable(at_least=0.5)
'''


def test_plugin_records_and_report_draws(pytester, request):
    from pytest_modelaudit.report import render_html

    pytester.makeconftest(CONFTEST.format(tests_dir=str(request.path.parent)))
    pytester.makepyfile(test_audits=AUDITS)
    result = pytester.runpytest_subprocess("--model-audit", "--model-audit-no-pdf", "-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=1)
    results = json.loads((pytester.path / "model-audit-report" / "results.json").read_text())
    audits = {a["nodeid"].split("::")[-1]: a for a in results["audits"]}
    check = audits["test_blue_not_red"]["checks"][0]
    assert check["status"] == "FAIL" and check["measured"] == pytest.approx(0.5)
    ev = check["evidence"]
    assert ev["type"] == "performance" and ev["confusion"][2][0] == 2
    emb = audits["test_embedding"]["checks"][0]["evidence"]
    assert emb["type"] == "embedding" and emb["layer"] == "gap" and len(emb["points"]) == 12

    html = render_html(results)
    assert "evidence-performance" in html and "Most confused" in html and "evidence-embedding" in html
    assert "data:image/png;base64" in html and "could not be shown" not in html
    render_html(results, for_print=True)

    broken = copy.deepcopy(results)
    for a in broken["audits"]:
        for c in a["checks"]:
            c["evidence"] = {"type": c["evidence"]["type"], "confusion": "nonsense", "classes": [1, None],
                             "per_class": [None, {"recall": "x"}], "points": [[None], "x", [1, 2, "a", 1]],
                             "pairs": 3, "misclassified": [{"image": "javascript:alert(1)"}]}
    html = render_html(broken)
    assert "javascript:alert" not in html and "evidence-performance" in html
