"""The persistent cache: served from disk with identical arrays, keyed by content, corruption-proof, optional.

Every computation here is real (hand-weighted tiny models, real TensorFlow passes); the cache's own
counters prove where a result came from. "A new process" is simulated in-process by forgetting the
memory layer; the pytester runs at the end are real separate processes.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from concept_data import make_root, red_pixel_model
from known_models import expected_cam, square_conftest, square_images, square_model
from pytest_modelaudit import load_model
from pytest_modelaudit.core.ablation import region_ablation
from pytest_modelaudit.core.cache.memory import SESSION_CACHE
from pytest_modelaudit.core.data.concepts import ConceptLibrary
from pytest_modelaudit.core.cache.disk import (TEMP_PREFIX, DiskStore, ModelAuditCacheWarning, TieredCache,
                                               configure_cache, decode, encode, model_identity)
from pytest_modelaudit.core.heatmaps.gradcam import gradcam
from pytest_modelaudit.core.heatmaps.occlusion import occlusion
from pytest_modelaudit.core.heatmaps import saliency
from pytest_modelaudit.core.tcav.scores import tcav

TESTS = Path(__file__).resolve().parent


def new_process() -> None:
    """Forget the memory layer and the counters: what a fresh pytest process starts with."""
    SESSION_CACHE.clear()


@pytest.fixture
def disk(tmp_path):
    """The session cache with its disk layer in a fresh folder; restored to memory-only afterwards."""
    folder = tmp_path / "cache"
    assert configure_cache(folder).problem is None
    new_process()
    yield folder
    configure_cache(None)
    new_process()


def entries(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.entry"))


def square_adapter(head_weight: float = 200.0):
    model = square_model()
    if head_weight != 200.0:  # one weight changed: the 'square' column of the head
        head = model.get_layer("head")
        w, b = head.get_weights()
        w[0, 0] = head_weight
        head.set_weights([w, b])
    return load_model(model, classes=["square", "none"])


METHODS = {
    "gradcam": lambda a, x, m: gradcam(a, x, "square").maps,
    "occlusion": lambda a, x, m: occlusion(a, x, "square", patch=4, fill="blur").maps,
    "ablation": lambda a, x, m: region_ablation(a, x, "square", m, fills=["mean", "shuffle"], seed=3).ablated_logit,
    "smoothgrad": lambda a, x, m: saliency(a, x, "square", method="smoothgrad", samples=3, seed=5).maps,
    "integrated_gradients": lambda a, x, m: saliency(a, x, "square", method="integrated_gradients", steps=4).maps,
    "gradcam++": lambda a, x, m: saliency(a, x, "square", method="gradcam++").maps,
}


@pytest.mark.parametrize("method", list(METHODS))
def test_a_new_process_gets_the_result_from_disk_identical(disk, method):
    imgs, masks = square_images()
    first = METHODS[method](square_adapter(), imgs, masks)
    assert SESSION_CACHE.stats.misses == 1 and SESSION_CACHE.stats.writes == 1 and len(entries(disk)) == 1
    new_process()
    second = METHODS[method](square_adapter(), imgs, masks)  # a new model object with the same weights
    assert SESSION_CACHE.stats.disk_hits == 1 and SESSION_CACHE.stats.misses == 0
    np.testing.assert_array_equal(first, second)


def test_gradcam_from_disk_is_still_the_analytic_map(disk):
    imgs, _ = square_images()
    gradcam(square_adapter(), imgs, "square", layer="pool")
    new_process()
    res = gradcam(square_adapter(), imgs, "square", layer="pool")
    assert SESSION_CACHE.stats.disk_hits == 1
    np.testing.assert_allclose(res.maps, expected_cam(imgs), rtol=1e-5, atol=1e-5)
    assert res.maps.flags.writeable  # the caller's own copy: changing it cannot change the cache
    res.maps[:] = -1
    again = gradcam(square_adapter(), imgs, "square", layer="pool")
    np.testing.assert_allclose(again.maps, expected_cam(imgs), rtol=1e-5, atol=1e-5)


def test_batch_size_is_not_part_of_the_key(disk):
    imgs, _ = square_images()
    a = gradcam(square_adapter(), imgs, "square", batch_size=32)
    new_process()
    b = gradcam(square_adapter(), imgs, "square", batch_size=1)
    assert SESSION_CACHE.stats.disk_hits == 1
    np.testing.assert_array_equal(a.maps, b.maps)


def test_changing_one_weight_invalidates_exactly_that_models_entries(disk):
    imgs, _ = square_images()
    other = square_adapter(head_weight=150.0)
    base = gradcam(square_adapter(), imgs, "square").maps
    other_maps = gradcam(other, imgs, "square").maps
    stored = entries(disk)
    assert len(stored) == 2
    new_process()
    changed = gradcam(square_adapter(head_weight=201.0), imgs, "square").maps  # one weight of the first model
    assert SESSION_CACHE.stats.misses == 1 and SESSION_CACHE.stats.disk_hits == 0
    np.testing.assert_allclose(changed, base * 201.0 / 200.0, rtol=1e-5)  # really recomputed: the map scales
    again = gradcam(square_adapter(head_weight=150.0), imgs, "square").maps  # the other model: untouched
    assert SESSION_CACHE.stats.disk_hits == 1
    np.testing.assert_array_equal(again, other_maps)
    assert set(stored) < set(entries(disk)) and len(entries(disk)) == 3


def test_changing_one_image_recomputes(disk):
    imgs, _ = square_images()
    gradcam(square_adapter(), imgs, "square")
    new_process()
    moved = imgs.copy()
    moved[0] = 0.2
    moved[0, 8:12, 2:6] = 1.0  # image 0's square moves
    res = gradcam(square_adapter(), moved, "square", layer="pool")
    assert SESSION_CACHE.stats.misses == 1 and SESSION_CACHE.stats.disk_hits == 0
    np.testing.assert_allclose(res.maps, expected_cam(moved), rtol=1e-5, atol=1e-5)


def test_preprocessing_is_part_of_the_models_identity():
    model = square_model()
    plain = load_model(model, input_range=(0, 1))
    wide = load_model(model, input_range=(0, 255))
    fn_a = load_model(model, preprocess=lambda x: x / 255.0)
    fn_b = load_model(model, preprocess=lambda x: x / 127.5 - 1.0)
    ids = {model_identity(a) for a in (plain, wide, fn_a, fn_b)}
    assert len(ids) == 4
    assert model_identity(load_model(square_model(), input_range=(0, 1))) == model_identity(plain)


@pytest.mark.parametrize("damage", ["truncate", "flip_a_byte", "empty"])
def test_a_corrupt_entry_warns_is_discarded_and_recomputed(disk, damage):
    imgs, _ = square_images()
    gradcam(square_adapter(), imgs, "square", layer="pool")
    (path,) = entries(disk)
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip_a_byte":
        path.write_bytes(data[:-40] + bytes([data[-40] ^ 0xFF]) + data[-39:])
    else:
        path.write_bytes(b"")
    new_process()
    with pytest.warns(ModelAuditCacheWarning, match=f"discarded corrupt cache entry {path}"):
        res = gradcam(square_adapter(), imgs, "square", layer="pool")
    assert SESSION_CACHE.stats.discarded == 1 and SESSION_CACHE.stats.misses == 1
    np.testing.assert_allclose(res.maps, expected_cam(imgs), rtol=1e-5, atol=1e-5)
    new_process()
    gradcam(square_adapter(), imgs, "square", layer="pool")
    assert SESSION_CACHE.stats.disk_hits == 1  # recomputed and written again, whole


def test_an_entry_is_only_read_under_its_own_key():
    blob = encode("gradcam|key A", {"value": np.arange(3)})
    np.testing.assert_array_equal(decode(blob, "gradcam|key A")["value"], np.arange(3))
    with pytest.raises(ValueError, match="another key"):
        decode(blob, "gradcam|key B")


def _unwritable(tmp_path: Path) -> Path:
    """A folder nobody can write: read-only by mode, or (as root, whom modes do not stop) under a plain file."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    return blocker / "cache"


def test_an_unwritable_cache_folder_is_one_clear_message_and_audits_run_uncached(tmp_path):
    folder = _unwritable(tmp_path)
    try:
        status = configure_cache(folder)
        assert status.dir is None
        assert str(folder) in status.problem and "audits run uncached" in status.problem
        new_process()
        imgs, _ = square_images()
        res = gradcam(square_adapter(), imgs, "square", layer="pool")
        np.testing.assert_allclose(res.maps, expected_cam(imgs), rtol=1e-5, atol=1e-5)
        assert SESSION_CACHE.stats.writes == 0
    finally:
        configure_cache(None)
        new_process()
        if folder.exists():
            folder.chmod(0o755)


def test_a_write_failure_mid_run_warns_once_and_the_audit_goes_on(disk):
    imgs, _ = square_images()
    (disk / "v1").rename(disk / "moved")
    (disk / "v1").write_text("a file where the entries folder was")  # every write now fails
    with pytest.warns(ModelAuditCacheWarning, match="cannot write to") as caught:
        a = gradcam(square_adapter(), imgs, "square", layer="pool")
        b = occlusion(square_adapter(), imgs, "square", patch=4)
    assert len(caught) == 1
    np.testing.assert_allclose(a.maps, expected_cam(imgs), rtol=1e-5, atol=1e-5)
    assert b.maps.shape == imgs.shape[:3]


def test_ctrl_c_during_a_write_leaves_no_entry_and_no_temp_file(tmp_path, monkeypatch):
    store = DiskStore(tmp_path)

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        store.write("gradcam", "ab" * 20, encode("k", {"value": np.ones(10)}))
    monkeypatch.undo()
    assert list((tmp_path / "v1" / "gradcam").iterdir()) == []


def test_ctrl_c_in_a_real_process_leaves_only_whole_entries(tmp_path):
    code = (
        "import pathlib, signal, numpy as np\n"
        # an xdist worker ignores SIGINT and its children inherit that: restore Python's Ctrl-C handler
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "from pytest_modelaudit.core.cache.disk import DiskStore, encode\n"
        f"store = DiskStore(pathlib.Path({str(tmp_path)!r}))\n"
        "big = np.random.default_rng(0).random(1_000_000)\n"
        "print('ready', flush=True)\n"
        "for i in range(400):  # bounded: a run that misses the signal ends instead of filling the disk\n"
        "    store.write('k', f'{i:040x}', encode(f'key {i}', {'value': big + i}))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert b"KeyboardInterrupt" in err, err.decode(errors="replace")
    whole = sorted((tmp_path / "v1" / "k").glob("*.entry"))
    assert whole  # entries were being written when the interrupt came
    for path in whole:  # every entry under its name is complete and verifies
        i = int(path.stem, 16)
        np.testing.assert_array_equal(decode(path.read_bytes(), f"key {i}")["value"],
                                      np.random.default_rng(0).random(1_000_000) + i)


def test_a_temp_file_left_by_a_killed_process_is_ignored_then_cleaned(tmp_path):
    cache = TieredCache(store=DiskStore(tmp_path))
    folder = tmp_path / "v1" / "gradcam"
    folder.mkdir(parents=True)
    leftover = folder / f"{TEMP_PREFIX}1234.part"
    leftover.write_bytes(b"half an entry")
    got = cache.cached("gradcam", ("k",), lambda: {"value": np.arange(4)})
    np.testing.assert_array_equal(got["value"], np.arange(4))
    assert cache.stats.misses == 1 and cache.stats.discarded == 0
    assert cache.store.clean_stale_temps() == 0  # young: may belong to a live writer
    old = time.time() - 7200
    os.utime(leftover, (old, old))
    assert cache.store.clean_stale_temps() == 1 and not leftover.exists()
    assert len(entries(tmp_path)) == 1


def test_tcav_activations_cavs_and_baseline_come_from_disk(tmp_path):
    lib = ConceptLibrary(make_root(tmp_path / "concepts", randoms=4), min_images=20, warn_images=20)
    model = load_model(red_pixel_model(), classes=["red_class", "other"])
    store = DiskStore(tmp_path / "cache")
    cold = TieredCache(store=store)
    a = tcav(model, "red_class", "red", layers=["feat"], concepts=lib, cache=cold)
    assert cold.stats.disk_hits == 0 and cold.stats.writes > 0
    warm = TieredCache(store=store)  # a new process: empty memory, same folder
    b = tcav(load_model(red_pixel_model(), classes=["red_class", "other"]), "red_class", "red", layers=["feat"],
             concepts=lib, cache=warm)
    assert warm.stats.misses == 0 and warm.stats.disk_hits > 0 and warm.stats.writes == 0
    for la, lb in zip(a.layers, b.layers):
        np.testing.assert_array_equal(la.concept_scores, lb.concept_scores)
        np.testing.assert_array_equal(la.random_scores, lb.random_scores)
        np.testing.assert_array_equal(la.concept_accuracies, lb.concept_accuracies)


AUDITS = '''
import pytest

def test_square_gradcam(audit, setup):
    model, squares = setup
    audit.gradcam(model, squares, "square").expect_share(squares.masks, at_least=0.5, region_name="square")

def test_square_ablation(audit, setup):
    model, squares = setup
    audit.ablation(model, squares, "square", squares.masks, region_name="square").expect_drop(at_least=0.5)
'''


@pytest.fixture
def suite(pytester):
    pytester.makeconftest(square_conftest(TESTS))
    pytester.makepyfile(test_square_audits=AUDITS)
    return pytester


def _results(pytester, folder: str) -> dict:
    return json.loads((pytester.path / folder / "results.json").read_text())


def _measured(data: dict) -> dict:
    return {a["nodeid"]: [(c["kind"], c["measured"], c["metrics"]) for c in a["checks"]] for a in data["audits"]}


@pytest.mark.slow  # two xdist workers: real new processes, each importing TensorFlow
def test_a_run_creates_the_cache_new_processes_reuse_it_cache_clear_empties_it(suite):
    cache_dir = suite.path / "evidence-cache"
    mine = cache_dir / "NOTES.txt"  # a file of the user's in the folder they named: never ours to delete
    cache_dir.mkdir()
    mine.write_text("keep me")
    args = ["-p", "no:randomly", "--model-audit", "--model-audit-no-pdf", f"--model-audit-cache-dir={cache_dir}"]
    cold = suite.runpytest(*args, "--model-audit-report=cold")  # in-process: a session starts with empty memory
    cold.stdout.fnmatch_lines([f"model-audit: on, *cache={cache_dir}*"])
    first = _results(suite, "cold")
    assert first["run"]["cache"]["dir"] == "evidence-cache"  # named relative to where pytest ran: no machine path
    assert first["run"]["cache"]["disk_hits"] == 0 and first["run"]["cache"]["writes"] > 0
    written = entries(cache_dir)
    assert len(written) == first["run"]["cache"]["writes"]

    # new processes: two xdist workers read the entries the first run wrote
    warm = suite.runpytest_subprocess(*args, "--model-audit-report=warm", "-n", "2")
    assert warm.ret == cold.ret
    second = _results(suite, "warm")
    assert second["run"]["cache"]["disk_hits"] > 0
    assert second["run"]["cache"]["writes"] == second["run"]["cache"]["misses"]
    assert _measured(second) == _measured(first)
    assert set(written) <= set(entries(cache_dir))

    cleared = suite.runpytest(*args, "--model-audit-report=cleared", "--cache-clear")
    assert cleared.ret == cold.ret
    again = _results(suite, "cleared")["run"]["cache"]
    assert again["disk_hits"] == 0 and again["writes"] > 0
    assert len(entries(cache_dir)) == again["writes"]  # what the earlier runs wrote is gone
    assert _measured(_results(suite, "cleared")) == _measured(first)
    assert mine.read_text() == "keep me"


def test_no_cache_writes_nothing_and_says_so(suite):
    cache_dir = suite.path / "evidence-cache"
    result = suite.runpytest("-p", "no:randomly", "--model-audit", "--model-audit-no-pdf", "--model-audit-no-cache",
                             f"--model-audit-cache-dir={cache_dir}", "--model-audit-report=out")
    result.stdout.fnmatch_lines(["model-audit: on, *cache=off (--model-audit-no-cache)*"])
    assert not cache_dir.exists()
    run = _results(suite, "out")["run"]["cache"]
    assert run["dir"] is None and run["disk_hits"] == 0 and run["writes"] == 0


def test_ini_twins_and_pytests_own_cache_folder_by_default(suite):
    result = suite.runpytest("-p", "no:randomly", "--model-audit", "--model-audit-no-pdf", "--model-audit-report=out")
    default = suite.path / ".pytest_cache" / "d" / "model_audit"
    result.stdout.fnmatch_lines([f"model-audit: on, *cache={default}*"])
    assert entries(default)
    suite.makeini("[pytest]\nmodel_audit_cache_dir = ini-cache\n")
    suite.runpytest("-p", "no:randomly", "--model-audit", "--model-audit-no-pdf", "--model-audit-report=out2")
    assert entries(suite.path / "ini-cache")
    suite.makeini("[pytest]\nmodel_audit_cache = false\n")
    result = suite.runpytest("-p", "no:randomly", "--model-audit", "--model-audit-no-pdf", "--model-audit-report=out3")
    result.stdout.fnmatch_lines(["model-audit: on, *cache=off (ini model_audit_cache = false)*"])


def test_an_unwritable_cache_dir_option_warns_and_the_audits_still_run(suite, tmp_path):
    folder = _unwritable(tmp_path)
    try:
        result = suite.runpytest("-p", "no:randomly", "--model-audit", "--model-audit-no-pdf",
                                 f"--model-audit-cache-dir={folder}", "--model-audit-report=out")
        result.stdout.fnmatch_lines([f"*ModelAuditCacheWarning: model-audit cache: cannot write to {folder}*"])
        # the header says the disk cache is off and why, not cache=<the folder it cannot use>
        result.stdout.fnmatch_lines([f"model-audit: on, *cache=off (model-audit cache: cannot write to {folder}*"])
        assert f"cache={folder}" not in result.stdout.str()
        data = _results(suite, "out")
        assert data["summary"]["total"] == 2 and data["summary"]["ERROR"] == 0
        assert data["run"]["cache"]["dir"] is None and "audits run uncached" in data["run"]["cache"]["note"]
    finally:
        if folder.exists():
            folder.chmod(0o755)
