"""Claims in TOML files (audit_*.toml): collected as test items, same verdicts and records as Python audits,
and every mistake an ERROR of that claim naming the file, the line and the key."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import model_suites

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "example_audits"


def _write_square_set(folder: Path) -> None:
    from PIL import Image

    from known_models import square_images

    folder.mkdir(parents=True)
    imgs, masks = square_images()
    for i, (im, m) in enumerate(zip(imgs, masks)):
        Image.fromarray((im * 255).round().astype(np.uint8)).save(folder / f"sq_{i}.png")
        Image.fromarray((m * 255).round().astype(np.uint8)).save(folder / f"sq_{i}_mask.png")


GOOD = '''
[models]
clean = { path = "models/square_clean.keras", classes = "models/classes.txt" }
shortcut = { path = "models/square_shortcut.keras", classes = "models/classes.txt" }

[[claim]]
title = "The square drives 'square'"
severity = "critical"
model = ["clean", "shortcut"]
evidence = "gradcam"
images = "squares"
region = "masks"
region_name = "square"
target = "square"
expect = { share = { at_least = 0.9 } }

[[claim]]
title = "Removing the square drops the score"
model = ["clean", "shortcut"]
evidence = "ablation"
images = "squares"
region = "masks"
target = "square"
expect = { drop = { at_least = 0.5 } }
'''

MISTAKES = {
    "unknown_key": ('model = "clean"\nevidence = "ablation"\nimages = "squares"\nregion = "masks"\ntarget = "square"\n'
                    'fill_image = "squares"\nexpect = { drop = { at_least = 0.5 } }',
                    "audit_bad.toml:{line}: [[claim]] 1: unknown key 'fill_image'. Closest valid names: 'fill_images'"),
    "missing_file": ('model = "clean"\nevidence = "gradcam"\nimages = "nowhere"\nregion = "masks"\ntarget = "square"\n'
                     'expect = { share = { at_least = 0.9 } }', "images = 'nowhere': * does not exist"),
    "wrong_type": ('model = "clean"\nevidence = "gradcam"\nimages = 3\nregion = "masks"\ntarget = "square"\n'
                   'expect = { share = { at_least = 0.9 } }', "images must be a path (a string), got int 3"),
    "unknown_evidence": ('model = "clean"\nevidence = "gradcamm"\nexpect = { share = { at_least = 0.9 } }',
                         "evidence = 'gradcamm' is not an evidence kind. Closest valid names: 'gradcam'"),
    "unknown_expectation": ('model = "clean"\nevidence = "ablation"\nimages = "squares"\nregion = "masks"\n'
                            'target = "square"\nexpect = { drops = { at_least = 0.5 } }',
                            "ablation has no expectation 'drops'. Closest valid names: 'drop'"),
    "unknown_model": ('model = "clen"\nevidence = "ablation"\nexpect = { drop = { at_least = 0.5 } }',
                      "model 'clen' is not in [models]. Closest valid names: 'clean'"),
}


@pytest.fixture
def project(pytester):
    (pytester.path / "models").mkdir()
    for kind in ("clean", "shortcut"):
        model_suites.detector(kind).save(pytester.path / "models" / f"square_{kind}.keras")
    (pytester.path / "models" / "classes.txt").write_text("square\nnone\n")
    _write_square_set(pytester.path / "squares")
    return pytester


def test_toml_claims_run_as_audits_with_the_python_verdicts(project):
    (project.path / "audit_squares.toml").write_text(GOOD)
    result = project.runpytest("--model-audit", "--model-audit-no-pdf", "-p", "no:randomly", "--junitxml=j.xml")
    result.assert_outcomes(passed=2, failed=2)
    data = json.loads((project.path / "model-audit-report" / "results.json").read_text())
    got = {a["nodeid"].split("::")[1]: a["status"] for a in data["audits"]}
    # model_suites.EXPECTED holds the same two claims' verdicts written in Python
    assert got == {
        "claim1_the_square_drives_square[clean]": model_suites.EXPECTED["test_square_drives"][0],
        "claim1_the_square_drives_square[shortcut]": model_suites.EXPECTED["test_square_drives"][1],
        "claim2_removing_the_square_drops_the_score[clean]":
            model_suites.EXPECTED["test_removing_the_square_drops_the_score"][0],
        "claim2_removing_the_square_drops_the_score[shortcut]":
            model_suites.EXPECTED["test_removing_the_square_drops_the_score"][1],
    }
    first = next(a for a in data["audits"] if a["nodeid"].endswith("[clean]"))
    assert first["title"] == "The square drives 'square' [clean]" and first["severity"] == "critical"
    html = (project.path / "model-audit-report" / "index.html").read_text()
    assert 'id="comparison"' in html  # one row per claim, one column per model
    assert "model_audit.status" in (project.path / "j.xml").read_text()


@pytest.mark.parametrize("case", sorted(MISTAKES))
def test_a_mistake_is_an_error_of_that_claim_naming_file_line_and_key(project, case):
    body, message = MISTAKES[case]
    head = '[models]\nclean = { path = "models/square_clean.keras", classes = "models/classes.txt" }\n\n[[claim]]\n'
    good = ('\n[[claim]]\nmodel = "clean"\nevidence = "ablation"\nimages = "squares"\nregion = "masks"\n'
            'target = "square"\nexpect = { drop = { at_least = 0.5 } }\n')
    (project.path / "audit_bad.toml").write_text(head + body + "\n" + good)
    line = (head + body).splitlines().index(next(l for l in (head + body).splitlines() if l.startswith("fill_image"))) + 1 \
        if case == "unknown_key" else 0
    result = project.runpytest("--model-audit", "--model-audit-no-pdf", "-p", "no:randomly")
    result.assert_outcomes(failed=1, passed=1)  # the other claim still runs and passes
    out, at = result.stdout.str(), 0
    for part in message.format(line=line).split("*"):  # the parts in order ('*' stands for a machine path)
        at = out.index(part, at) + len(part)
    data = json.loads((project.path / "model-audit-report" / "results.json").read_text())
    assert sorted(a["status"] for a in data["audits"]) == ["ERROR", "PASS"]


def test_files_pattern_is_an_ini_option(project):
    (project.path / "claims.toml").write_text(GOOD)
    assert project.runpytest("--model-audit", "--co", "-q").ret == 5  # not collected by default
    project.makeini("[pytest]\nmodel_audit_files = claims*.toml\n")
    result = project.runpytest("--model-audit", "--co", "-q")
    assert "claims.toml::claim1_the_square_drives_square[clean]" in result.stdout.str()


def test_without_model_audit_the_claims_are_skipped(project):
    (project.path / "audit_squares.toml").write_text(GOOD)
    project.runpytest("-p", "no:randomly").assert_outcomes(skipped=4)


@pytest.mark.slow
def test_the_shipped_leopard_claims_give_the_python_audits_verdicts(pytester):
    """example_audits/claims/audit_leopard.toml reproduces test_leopard_audits.py (the causal and Grad-CAM
    audits here; the demo runs the rest)."""
    args = [str(EXAMPLES / "claims"), str(EXAMPLES / "test_leopard_audits.py"), "--model-audit",
            "--model-audit-no-pdf", "-p", "no:randomly", "-p", "no:cacheprovider", "--rootdir", str(EXAMPLES),
            "-k", "snow_background or body_drives or grad_cam or snow_not_driving or gradcam"]
    pytester.runpytest(*args)
    data = json.loads((pytester.path / "model-audit-report" / "results.json").read_text())
    toml = {a["title"]: a["status"] for a in data["audits"] if ".toml::" in a["nodeid"]}
    python = {a["title"].replace("[shortcut]", "[leopard_shortcut]").replace("[clean]", "[leopard_clean]"): a["status"]
              for a in data["audits"] if ".py::" in a["nodeid"]}
    assert len(toml) == 8 and toml == python


def test_the_shipped_data_claims_give_the_python_data_audits_verdicts(pytester):
    """example_audits/claims/audit_leopard_data.toml reproduces the performance, embedding and disagreement audits
    (one claim comparing two models: one item, as in Python) and adds robustness, which the Python examples leave
    to the scan."""
    import re

    args = [str(EXAMPLES / "claims" / "audit_leopard_data.toml"), str(EXAMPLES / "test_leopard_data_audits.py"),
            str(EXAMPLES / "test_leopard_disagreement.py"), "--model-audit", "--model-audit-no-pdf", "-p", "no:randomly",
            "-p", "no:cacheprovider", "--rootdir", str(EXAMPLES), "-k", "not foxes"]
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=16)  # every verdict is the intended one
    data = json.loads((pytester.path / "model-audit-report" / "results.json").read_text())

    def key(a):
        return re.sub(r" \[[^]]*\]$", "", a["title"]), tuple(sorted(a["models"]))

    toml = {key(a): a["status"] for a in data["audits"] if ".toml::" in a["nodeid"]}
    python = {key(a): a["status"] for a in data["audits"] if ".py::" in a["nodeid"]}
    robust = {k: v for k, v in toml.items() if k[0].startswith("Predictions are stable")}
    assert len(python) == 7 and {k: toml[k] for k in python} == python
    assert sorted(python.values()) == ["FAIL"] * 4 + ["PASS"] * 3 and list(robust.values()) == ["PASS", "PASS"]
