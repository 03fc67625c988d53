"""Loading images and masks: formats, sizes, and a clear message naming the file for each bad input."""
import numpy as np
import pytest
from PIL import Image

from pytest_modelaudit.core import ImageSet, load_images
from pytest_modelaudit.errors import ImageLoadError


def _save(path, arr, mode=None):
    Image.fromarray(arr, mode) if mode else Image.fromarray(arr)
    Image.fromarray(arr).save(path)


@pytest.fixture
def folder(tmp_path):
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 0] = 255
    Image.fromarray(rgb).save(tmp_path / "a.png")
    Image.fromarray(np.full((8, 8), 128, np.uint8)).save(tmp_path / "b.jpg")  # grayscale JPEG
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 2] = 255
    rgba[:4, ..., 3] = 255  # top half opaque blue, bottom half transparent
    Image.fromarray(rgba).save(tmp_path / "c.png")
    for name in "abc":
        m = np.zeros((8, 8), np.uint8)
        m[:, :4] = 255
        Image.fromarray(m).save(tmp_path / f"{name}_mask.png")
    (tmp_path / "notes.txt").write_text("ignored")
    return tmp_path


def test_load_folder_with_masks(folder):
    s = load_images(folder, masks=True)
    assert s.names == ["a.png", "b.jpg", "c.png"]  # masks are not loaded as images
    assert s.images.shape == (3, 8, 8, 3) and s.images.dtype == np.float32
    np.testing.assert_allclose(s.images[0, 0, 0], [1, 0, 0])
    np.testing.assert_allclose(s.images[1, 0, 0], [128 / 255] * 3, atol=1e-6)  # gray -> RGB
    np.testing.assert_allclose(s.images[2, 0, 0], [0, 0, 1])  # opaque part
    np.testing.assert_allclose(s.images[2, 7, 0], [1, 1, 1])  # transparent part composited on white
    assert s.masks.shape == (3, 8, 8) and s.masks[:, :, :4].min() == 1 and s.masks[:, :, 4:].max() == 0


def test_list_of_files_and_resize(folder):
    s = load_images([folder / "a.png", folder / "c.png"], size=(4, 6))
    assert s.images.shape == (2, 4, 6, 3) and s.source == "2 files"


def test_empty_folder_gives_empty_set_with_note(tmp_path):
    s = load_images(tmp_path)
    assert len(s) == 0 and "no PNG or JPEG" in s.notes[0]


def test_corrupt_image_names_the_file(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(ImageLoadError, match=r"broken\.png.*could not be read"):
        load_images(tmp_path)


def test_missing_folder_and_file(tmp_path):
    with pytest.raises(ImageLoadError, match="folder .*nowhere.* does not exist"):
        load_images(tmp_path / "nowhere")
    with pytest.raises(ImageLoadError, match="ghost.png.* does not exist"):
        load_images([tmp_path / "ghost.png"])


def test_mask_errors_name_the_file(folder):
    (folder / "b_mask.png").unlink()
    with pytest.raises(ImageLoadError, match=r"Mask file .*b_mask\.png.* for image .*b\.jpg.* does not exist"):
        load_images(folder, masks=True)
    Image.fromarray(np.full((5, 5), 255, np.uint8)).save(folder / "b_mask.png")
    with pytest.raises(ImageLoadError, match=r"b_mask\.png.* is 5x5 but its image .*b\.jpg.* is 8x8"):
        load_images(folder, masks=True)
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(folder / "b_mask.png")
    with pytest.raises(ImageLoadError, match=r"b_mask\.png.* is empty"):
        load_images(folder, masks=True)
    (folder / "b_mask.png").write_bytes(b"nonsense")
    with pytest.raises(ImageLoadError, match=r"b_mask\.png.* could not be read"):
        load_images(folder, masks=True)


def test_arrays_are_checked():
    s = ImageSet.from_arrays(np.zeros((2, 4, 4, 3), np.uint8))
    assert s.images.dtype == np.float32 and s.names == ["image_000", "image_001"]
    with pytest.raises(ImageLoadError, match=r"must lie in \[0, 1\]"):
        ImageSet.from_arrays(np.full((1, 4, 4, 3), 200.0))
    with pytest.raises(ImageLoadError, match=r"shape \(N, H, W, C\)"):
        ImageSet.from_arrays(np.zeros((4, 4)))
    with pytest.raises(ImageLoadError, match=r"masks have shape \(3, 4, 4\)"):
        ImageSet.from_arrays(np.zeros((2, 4, 4, 3)), masks=np.zeros((3, 4, 4)))


def test_resizing_to_the_model_input_is_recorded_and_a_stretch_warned(tmp_path, square_net):
    from PIL import Image

    from pytest_modelaudit.core.ablation import region_ablation
    from pytest_modelaudit.core.checks.ablation import drop_check
    from pytest_modelaudit.errors import ImageResizeWarning
    from pytest_modelaudit.plugin.records import check_json

    folder = tmp_path / "wide"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((16, 32, 3), 60 * i, np.uint8)).save(folder / f"img{i}.png")
    images = load_images(folder)
    assert images.sizes == [(16, 32)] * 3
    with pytest.warns(ImageResizeWarning, match=r"3 of 3 image\(s\) resized \(bilinear\) from 16x32 \(3\) to the model "
                                                r"input 16x16; 3 of them change aspect ratio"):
        res = region_ablation(square_net, images, "square", np.ones((16, 32), np.float32), fills=[0.5])
    assert res.inputs.original_sizes == [(16, 32)] * 3 and "change aspect ratio" in res.inputs.resize
    record = check_json(drop_check(res, at_most=0.5), "")
    assert "resized (bilinear) from 16x32" in record["evidence"]["resize"]
    # resized while loading (size=...) still counts: the record keeps each file's own size
    loaded = load_images(folder, size=(16, 16))
    with pytest.warns(ImageResizeWarning):
        assert "from 16x32" in region_ablation(square_net, loaded, "square", np.ones((16, 16), np.float32),
                                               fills=[0.5]).inputs.resize
    # images already at the model's size: nothing to say
    same = ImageSet.from_arrays(np.full((3, 16, 16, 3), 0.2, np.float32))
    assert region_ablation(square_net, same, "square", np.ones((16, 16), np.float32), fills=[0.5]).inputs.resize == ""
