"""The validation suite's fast subset (benchmarks/validity, `make validate` runs all of it).

Two tiny models trained on procedural scenes (cached under benchmarks/validity/.models/): a total
background shortcut (s = 1: the background alone decides the class) and no shortcut (s = 0: only the
object does). Their truth is measured by counterfactual swaps on the very images audited (background
swapped, object removed), never by an attribution method; then ablation (with and without fill
images) and Grad-CAM claims of both truths run through the product's public audit path. A clear-cut
claim must never get a wrong PASS.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

VALIDITY = Path(__file__).resolve().parents[1] / "benchmarks" / "validity"
KINDS = ("ablation", "ablation+fill_images", "gradcam")


def _load_runner():
    spec = importlib.util.spec_from_file_location("validity_run", VALIDITY / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # puts benchmarks/validity on sys.path for its sibling modules
    return module


@pytest.fixture(scope="module")
def fast_run():
    pytest.importorskip("keras")
    runner = _load_runner()
    claims, summaries = runner.collect(runner.FAST_MODELS, KINDS, targets=runner.FAST_TARGETS, log=lambda s: None)
    return claims, summaries


@pytest.mark.slow
def test_planted_reliance_is_measured_by_counterfactuals(fast_run):
    _, summaries = fast_run
    for cls, t in summaries["bg_shortcut_s100"]["truth"].items():
        assert t["accuracy"] >= 0.9, (cls, t)
        assert t["bg_drop"] >= 0.5, f"s=1 model should be driven by the background for {cls}: {t}"
        assert t["obj_drop"] <= 0.05, f"s=1 model should ignore the object for {cls}: {t}"
    for cls, t in summaries["bg_shortcut_s000"]["truth"].items():
        assert t["accuracy"] >= 0.9, (cls, t)
        # below the "drives" claims' bound (drop >= 0.3): a training's small leftover background effect (0.0-0.19
        # over the trainings seen, which differ with the process's threads) is not a planted reliance
        assert t["bg_drop"] < 0.3, f"s=0 model should not be driven by the background for {cls}: {t}"
        assert t["obj_drop"] >= 0.5, f"s=0 model should be driven by the object for {cls}: {t}"


@pytest.mark.slow
def test_no_wrong_pass_on_clear_cut_claims(fast_run):
    claims, _ = fast_run
    assert {c.kind for c in claims} == set(KINDS)
    errors = [f"{c.model} / {c.kind}: {c.claim}: {c.reason}" for c in claims if c.verdict == "ERROR"]
    assert not errors, "\n".join(errors)
    clear = [c for c in claims if c.clear_cut]
    assert len(clear) >= 40, f"only {len(clear)} clear-cut claims: the truth bands moved"
    # both truths are represented, and the product decides some of each correctly
    assert {c.expected for c in clear} == {"PASS", "FAIL"}
    assert any(c.outcome == "correct" and c.verdict == "PASS" for c in clear)
    assert any(c.outcome == "correct" and c.verdict == "FAIL" for c in clear)
    # INCONCLUSIVE only where the audit's images cannot decide (labelled from how the scenes were drawn)
    unexplained = [c for c in clear if c.outcome == "INCONCLUSIVE"]
    assert not unexplained, "INCONCLUSIVE where the images could decide:\n" + "\n".join(
        f"  {c.model} / {c.kind}: {c.claim}: {(c.reason or '')[:200]}" for c in unexplained)
    assert any(c.outcome == "undecidable" for c in clear)
    wrong = [c for c in clear if c.outcome == "wrong PASS"]
    assert not wrong, "wrong PASS on clear-cut claims:\n" + "\n".join(
        f"  {c.model} / {c.kind}: {c.claim} (truth {c.truth_name} = {c.truth:+.2f}, measured {c.measured}; "
        f"{(c.detail or '')[:200]})" for c in wrong)


@pytest.mark.slow
def test_no_colour_claim_passes_on_the_shape_reliant_starter_model():
    """The negative control: colour is random in training, only shape decides. Every colour claim whose truth
    is "no dependence" (recolouring moves P by at most 0.05) must not PASS as depends or opposes, at any layer
    set, the pre-GAP layer included (it must decide nothing)."""
    pytest.importorskip("keras")
    runner = _load_runner()
    claims, summaries = runner.collect(("starter_shape",), ("tcav",), log=lambda s: None)
    for cls, t in summaries["starter_shape"]["truth"].items():
        assert t["accuracy"] >= 0.9, (cls, t)
    colour = [c for c in claims if c.kind.startswith("tcav") and "vs " not in c.claim
              and any(f"'{col}'" in c.claim for col in ("red", "blue", "green", "white", "yellow", "black"))]
    assert len(colour) >= 50
    wrong = [c for c in colour if c.outcome == "wrong PASS"
             or (c.verdict == "PASS" and ("depends on" in c.claim or "is opposed by" in c.claim))]
    assert not wrong, "\n".join(f"  {c.claim}: {(c.detail or '')[:200]}" for c in wrong)
    # not vacuous: the same claims are decided, and the ones that say "depends" / "opposes" are correctly FAILed
    assert sum(c.verdict == "FAIL" and c.outcome == "correct" for c in colour) >= 20
    pre_gap = [c for c in colour if c.kind == "tcav (pre-GAP only)"]
    assert pre_gap and all(c.verdict == "INCONCLUSIVE" for c in pre_gap)
