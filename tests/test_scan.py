"""The one-command scan: `pytest --model-audit --model-audit-model=PATH --model-audit-data=DIR` from an empty
folder runs the default audits, with no test file, on the shipped leopard models and labelled set."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_modelaudit.plugin.scan import border_band

EX = Path(__file__).resolve().parents[1] / "example_audits"
MODELS = [f"--model-audit-model={EX / 'models' / f'leopard_{k}.keras'}" for k in ("shortcut", "clean")]
DATA = f"--model-audit-data={EX / 'data' / 'animals'}"


def test_border_band_is_ten_percent_of_the_width_on_every_edge():
    band = border_band((20, 30))
    assert band[:2].all() and band[-2:].all() and band[:, :2].all() and band[:, -2:].all()
    assert not band[2:-2, 2:-2].any()


@pytest.mark.slow
def test_scan_from_an_empty_folder(pytester):
    result = pytester.runpytest("--model-audit", *MODELS, DATA, "-p", "no:randomly")
    data = json.loads((pytester.path / "model-audit-report" / "results.json").read_text())
    got = {a["nodeid"]: a["status"] for a in data["audits"]}
    assert set(got) == {f"model-audit-scan::scan_{c}[leopard_{m}]" for c in ("gradcam_honest", "robust", "accuracy", "separable")
                        for m in ("shortcut", "clean")} | {
        f"model-audit-scan::scan_border[leopard_{m}-{k}]" for m in ("shortcut", "clean") for k in ("camel", "fox", "leopard")}
    # the shortcut model calls leopards off snow camels (24 of 36 right): it fails, the clean one passes
    assert got["model-audit-scan::scan_accuracy[leopard_shortcut]"] == "FAIL"
    assert got["model-audit-scan::scan_accuracy[leopard_clean]"] == "PASS"
    assert got["model-audit-scan::scan_gradcam_honest[leopard_clean]"] == "PASS"
    assert got["model-audit-scan::scan_separable[leopard_shortcut]"] == "FAIL"  # k-NN 0.69 at gap
    assert got["model-audit-scan::scan_separable[leopard_clean]"] == "PASS"
    assert "ERROR" not in got.values()
    html = (pytester.path / "model-audit-report" / "index.html").read_text()
    assert 'id="comparison"' in html and "Predictions are stable under small label-preserving changes" in html
    assert result.ret == 1


@pytest.mark.slow
def test_scan_defaults_are_ini_options(pytester):
    pytester.makeini("[pytest]\nmodel_audit_scan_accuracy = 0.5\n")
    pytester.runpytest("--model-audit", MODELS[0], DATA, "-p", "no:randomly", "-k", "accuracy")
    data = json.loads((pytester.path / "model-audit-report" / "results.json").read_text())
    (audit,) = data["audits"]
    assert audit["checks"][0]["threshold"]["value"] == 0.5 and audit["checks"][0]["status"] == "PASS"


def test_scan_without_data_is_inconclusive_and_says_what_to_give(pytester):
    result = pytester.runpytest("--model-audit", MODELS[1], "-p", "no:randomly", "-k", "robust")
    result.stdout.fnmatch_lines(["*INCONCLUSIVE*scan_robust*give --model-audit-data=DIR*"])


def test_a_missing_model_file_is_a_usage_error(pytester):
    result = pytester.runpytest("--model-audit", "--model-audit-model=nope.keras")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*--model-audit-model: model file */nope.keras does not exist*"])
