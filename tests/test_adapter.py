"""Model adapter: logits in every output form, layer capture on nested / Input-less models, errors."""
import numpy as np
import pytest

from known_models import expected_square_logit, nested_square_model, square_images, square_model
from pytest_modelaudit.core import load_model
from pytest_modelaudit.errors import ClassNotFoundError, LabelFileError, LayerNotFoundError, ModelLoadError
from pytest_modelaudit.core.model.capture import layer_paths


@pytest.mark.parametrize("head,kind", [("dense_softmax", "softmax"), ("activation", "softmax"),
                                       ("softmax_layer", "softmax"), ("linear", "linear")])
def test_logits_found_whatever_way_the_model_ends(head, kind):
    model = square_model(head)
    imgs, _ = square_images()
    before = model(imgs, training=False).numpy()
    adapter = load_model(model, classes=["square", "none"])
    logits = adapter.logits(imgs)
    assert adapter.head.kind == kind
    np.testing.assert_allclose(logits[:, 0], expected_square_logit(imgs), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(logits[:, 1], -logits[:, 0], atol=1e-5)
    # the user's model is untouched: same outputs, no patched attributes left behind
    np.testing.assert_allclose(model(imgs, training=False).numpy(), before, atol=1e-6)
    assert all("call" not in vars(layer) for _, layer in layer_paths(model))
    if head == "dense_softmax":
        assert model.get_layer("head").activation.__name__ == "softmax"


def test_nested_sequential_without_input_layers_are_addressable():
    model = nested_square_model()
    adapter = load_model(model, classes=["square", "none"])
    assert adapter.default_gradcam_layer() == "backbone/pool"
    assert adapter.resolve("pool") == "backbone/pool"  # a unique bare name is accepted
    imgs, _ = square_images()
    logits, (acts,), (grads,) = adapter.capture(imgs, ["backbone/pool"], 0)
    assert acts.shape == (4, 8, 8, 1) and grads.shape == (4, 8, 8, 1)
    np.testing.assert_allclose(grads, 200.0 / 64, rtol=1e-5)  # d logit / d pooled cell, analytically
    np.testing.assert_allclose(logits[:, 0], expected_square_logit(imgs), rtol=1e-5, atol=1e-5)


def test_default_layer_is_last_spatial_before_pooling(square_net):
    assert square_net.default_gradcam_layer() == "pool"


def test_unknown_layer_lists_closest_names(square_net):
    with pytest.raises(LayerNotFoundError, match=r"no layer 'poool'.*Closest valid names: 'pool'"):
        square_net.resolve("poool")


def test_unknown_class_lists_closest_names(square_net):
    with pytest.raises(ClassNotFoundError, match=r"no class 'sqare'.*'square'"):
        square_net.class_index("sqare")
    with pytest.raises(ClassNotFoundError, match="out of range"):
        square_net.class_index(7)


def test_class_file_and_count_mismatch(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("square\nnone\nextra\n")
    adapter = load_model(square_model(), classes=labels)
    with pytest.raises(LabelFileError, match=r"labels.txt.*3 labels.*2 outputs"):
        adapter.class_index("square")
    with pytest.raises(LabelFileError, match="does not exist"):
        load_model(square_model(), classes=tmp_path / "missing.txt")


def test_load_from_keras_and_h5_files(tmp_path):
    model = square_model()
    imgs, _ = square_images()
    for suffix in (".keras", ".h5"):
        path = tmp_path / f"m{suffix}"
        model.save(path)
        adapter = load_model(path, classes=["square", "none"])
        assert adapter.source == str(path) and adapter.name == "m"
        np.testing.assert_allclose(adapter.logits(imgs)[:, 0], expected_square_logit(imgs), atol=1e-4)


def test_safe_mode_refuses_code_in_model_files(tmp_path):
    import keras

    inp = keras.Input((4,))
    out = keras.layers.Lambda(lambda t: t * 2)(inp)
    path = tmp_path / "lambda.keras"
    keras.Model(inp, out).save(path)
    with pytest.raises(ModelLoadError, match=r"lambda.keras.*safe_mode=False"):
        load_model(path)
    assert load_model(path, safe_mode=False).model is not None


@pytest.mark.parametrize("name,match", [("nope.keras", "does not exist"), ("model.onnx", "unsupported extension")])
def test_bad_model_paths(tmp_path, name, match):
    path = tmp_path / name
    if name.endswith(".onnx"):
        path.write_bytes(b"x")
    with pytest.raises(ModelLoadError, match=match):
        load_model(path)


def test_corrupt_model_file_names_the_file(tmp_path):
    path = tmp_path / "broken.keras"
    path.write_bytes(b"not a zip file")
    with pytest.raises(ModelLoadError, match="broken.keras.*exists .14 bytes. but is not a valid .keras archive"):
        load_model(path)


def test_truncated_or_foreign_keras_files_are_named_invalid_archives(tmp_path):
    import zipfile

    from known_models import square_model

    good = tmp_path / "good.keras"
    square_model().save(good)
    data = good.read_bytes()
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(data[: len(data) // 2])  # an interrupted copy
    with pytest.raises(ModelLoadError, match="truncated.keras.*not a valid .keras archive"):
        load_model(truncated)
    other = tmp_path / "notes.keras"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("readme.txt", "a zip, but not a model")
    with pytest.raises(ModelLoadError, match="notes.keras.*zip file but not a .keras archive: it has no config.json"):
        load_model(other)
    assert load_model(good).num_classes == 2  # the real archive still loads


def test_savedmodel_folder_is_explained(tmp_path):
    (tmp_path / "sm").mkdir()
    (tmp_path / "sm" / "saved_model.pb").write_bytes(b"")
    with pytest.raises(ModelLoadError, match="SavedModel.*save the model as a .keras file"):
        load_model(tmp_path / "sm")


def test_fingerprint_tracks_weights():
    a = load_model(square_model())
    b = load_model(square_model())
    assert a.fingerprint == b.fingerprint
    model = square_model()
    w, bias = model.get_layer("head").get_weights()
    w[0, 0] += 1e-3
    model.get_layer("head").set_weights([w, bias])
    assert load_model(model).fingerprint != a.fingerprint


def test_preprocessing_range_and_callable():
    imgs = np.full((1, 16, 16, 3), 0.5, np.float32)
    assert load_model(square_model(), input_range=(0, 255)).preprocess(imgs).max() == pytest.approx(127.5)
    assert load_model(square_model(), input_range=(-1, 1)).preprocess(imgs).max() == pytest.approx(0.0)
    seen = {}

    def prep(x):
        seen["max"] = float(x.max())
        return x / 255.0

    adapter = load_model(square_model(), preprocess=prep)
    adapter.logits(imgs)
    assert seen["max"] == pytest.approx(127.5)  # callables receive [0, 255]
    assert adapter.to_display(imgs) is None
    with pytest.raises(ModelLoadError, match="input_range"):
        load_model(square_model(), input_range=(1, 0))


def test_a_model_with_two_outputs_is_refused_naming_them():
    import keras

    inp = keras.Input((8, 8, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, name="conv")(inp))
    two = keras.Model(inp, [keras.layers.Dense(3, activation="softmax", name="species")(x),
                            keras.layers.Dense(2, activation="softmax", name="habitat")(x)], name="twoheads")
    with pytest.raises(ModelLoadError, match=r"Model 'twoheads' has 2 outputs \(0: 'species', 1: 'habitat'\); an "
                                             r"audit explains one classifier output.*model.outputs\[0\]"):
        load_model(two, classes=["a", "b", "c"])
    one = keras.Model(two.inputs, two.outputs[0])  # what the message says to do
    assert load_model(one, classes=["a", "b", "c"]).num_classes == 3
