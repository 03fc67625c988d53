"""The starter audits (TCAV and features): the same seed gives identical numbers, another seed the same verdicts.

Each run is a separate process, so nothing cached in memory can make two runs agree.
"""
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STARTERS = ROOT / "example_audits" / "starters"


def _run(pytester: pytest.Pytester, seed: int, folder: str) -> dict:
    # two TCAV audits are INCONCLUSIVE (see the example README): skip them rather than fail the run
    result = pytester.runpytest_subprocess(str(STARTERS), "--model-audit", "--model-audit-no-pdf",
                                           "--model-audit-inconclusive=skip",
                                           f"--model-audit-seed={seed}", f"--model-audit-report={folder}",
                                           "-p", "no:cacheprovider", "-q")
    assert result.ret == 0, result.stdout.str()
    return json.loads((pytester.path / folder / "results.json").read_text())


def _numbers(data: dict) -> dict:
    """TCAV: every layer's scores and p-values; other evidence (features, with its seeded maximisation images):
    the whole record."""
    def numbers(ev: dict) -> list:
        if ev.get("type") != "tcav":
            return [ev]
        return [(l["layer"], l["concept_scores"], l["random_scores"], l["concept_accuracies"], l["p_adjusted"])
                for l in ev["layers"]]

    return {a["nodeid"]: [n for c in a["checks"] for n in numbers(c["evidence"])] for a in data["audits"]}


def test_same_seed_same_numbers_other_seed_same_verdicts(pytester):
    first = _run(pytester, 0, "a")
    second = _run(pytester, 0, "b")
    other = _run(pytester, 7, "c")
    assert _numbers(first) == _numbers(second)
    verdicts = {a["nodeid"]: a["status"] for a in first["audits"]}
    assert verdicts == {a["nodeid"]: a["status"] for a in other["audits"]}
    assert sorted(verdicts.values()) == ["INCONCLUSIVE", "INCONCLUSIVE", "PASS", "PASS", "PASS"] and len(verdicts) == 5
    assert _numbers(first) != _numbers(other)  # the seed really changes the random choices
