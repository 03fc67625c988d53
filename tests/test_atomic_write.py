"""schema.atomic_write / stage_file: the one write-then-rename helper of the report, baselines and cache."""
import os

import pytest

from pytest_modelaudit.schema import atomic_write, stage_file


def test_writes_bytes_or_a_writer_and_makes_the_folder(tmp_path):
    path = tmp_path / "a" / "b" / "f.bin"
    atomic_write(path, b"one")
    assert path.read_bytes() == b"one"
    atomic_write(path, lambda fh: fh.write(b"two"), fsync=False)
    assert path.read_bytes() == b"two"
    assert os.listdir(path.parent) == ["f.bin"]


def test_permissions_follow_the_umask(tmp_path):
    umask = os.umask(0o022)
    try:
        atomic_write(tmp_path / "f", b"x")
    finally:
        os.umask(umask)
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o644


def test_a_failed_replace_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "f.json"
    atomic_write(path, b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, b"new")
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["f.json"]


@pytest.mark.parametrize("error", [RuntimeError("render failed"), KeyboardInterrupt()])
def test_a_failing_writer_leaves_nothing(tmp_path, error):
    def writer(fh):
        fh.write(b"half")
        raise error

    with pytest.raises(type(error)):
        atomic_write(tmp_path / "f", writer)
    assert os.listdir(tmp_path) == []


def test_stage_file_names_the_temporary_beside_its_target(tmp_path):
    tmp = stage_file(tmp_path / "results.json", b"{}")
    assert tmp.parent == tmp_path and tmp.name.startswith(".results.json.") and tmp.name.endswith(".tmp")
    assert tmp.read_bytes() == b"{}" and not (tmp_path / "results.json").exists()
    other = stage_file(tmp_path / "x.entry", b"", prefix=".tmp-")
    assert other.name.startswith(".tmp-") and other != tmp
