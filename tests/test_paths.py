"""Paths as the report names them (pytest_modelaudit/paths.py): relative to where the run started when inside it."""
import numpy as np
from PIL import Image

from pytest_modelaudit import load_images
from pytest_modelaudit.core.data.labelled import load_labelled
from pytest_modelaudit.paths import shown_path


def test_a_path_inside_the_run_folder_is_shown_relative_and_one_outside_as_given(tmp_path, monkeypatch):
    (tmp_path / "data" / "a").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert shown_path(tmp_path / "data" / "a") == "data/a"
    assert shown_path("data/a") == "data/a"
    assert shown_path(tmp_path) == "."
    assert shown_path(tmp_path.parent) == str(tmp_path.parent)
    assert shown_path(tmp_path / "data", base=tmp_path / "data" / "a") == str(tmp_path / "data")


def test_image_and_labelled_sets_record_where_they_came_from_without_the_machine_path(tmp_path, monkeypatch):
    for cls in ("cat", "dog"):
        (tmp_path / "animals" / cls).mkdir(parents=True)
        Image.fromarray(np.full((4, 4, 3), 128, np.uint8)).save(tmp_path / "animals" / cls / f"{cls}.png")
    monkeypatch.chdir(tmp_path)
    assert load_images(tmp_path / "animals" / "cat").source == "animals/cat"
    labelled = load_labelled(tmp_path / "animals")
    assert labelled.source == "animals" and labelled.images.source == "animals"
