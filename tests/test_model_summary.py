"""The model summary (issue 13's model panel, first part): every layer with its path, type, output shape and
parameters, nested backbones and Sequential models without an Input included, and in the report."""
import keras
import numpy as np

from pytest_modelaudit.core import load_model
from pytest_modelaudit.core.model.summary import layer_summary, summary_json


def _nested():
    inner_in = keras.Input((8, 8, 3), name="backbone_in")
    inner = keras.Model(inner_in, keras.layers.Conv2D(4, 3, padding="same", name="conv")(inner_in), name="backbone")
    inp = keras.Input((8, 8, 3), name="image")
    x = keras.layers.GlobalAveragePooling2D(name="gap")(inner(inp))
    out = keras.layers.Dense(2, activation="softmax", name="head")(x)
    model = keras.Model(inp, out)
    inner.get_layer("conv").trainable = False
    return model


def test_nested_backbone_rows_shapes_parameters_and_the_logits_layer():
    adapter = load_model(_nested(), classes=["a", "b"])
    rows = {r.path: r for r in layer_summary(adapter)}
    assert list(rows) == ["backbone", "backbone/conv", "gap", "head"]  # input layers: the input shape row says it
    conv = rows["backbone/conv"]
    assert (conv.kind, conv.output_shape, conv.params, conv.trainable_params, conv.depth) == ("Conv2D", [8, 8, 4],
                                                                                              3 * 3 * 3 * 4 + 4, 0, 1)
    assert rows["backbone"].container and rows["backbone"].params == conv.params
    assert rows["gap"].output_shape == [4] and rows["head"].params == 4 * 2 + 2
    top = [r for r in layer_summary(adapter) if r.depth == 0]
    assert sum(r.params for r in top) == adapter.model.count_params()
    marked = [r["path"] for r in summary_json(adapter) if r["logits"]]
    assert marked == ["head"]  # the softmax's input is read as the logits


def test_sequential_without_input_is_summarised_without_rebuilding():
    model = keras.Sequential([keras.layers.Conv2D(2, 3, name="c"), keras.layers.Flatten(name="f"),
                              keras.layers.Dense(3, name="d")])
    model(np.zeros((1, 6, 6, 1), np.float32))
    adapter = load_model(model)
    rows = {r.path: r for r in layer_summary(adapter)}
    assert rows["c"].output_shape == [4, 4, 2] and rows["f"].output_shape == [32] and rows["d"].params == 32 * 3 + 3


def test_the_report_shows_the_layer_table(tmp_path):
    from pytest_modelaudit.report.views.models import model_views

    adapter = load_model(_nested(), classes=["a", "b"], name="nested")
    view = model_views({adapter.fingerprint: adapter.describe(["backbone/conv"])})[adapter.fingerprint]
    rows = {r["path"]: r for r in view["layers"]}
    assert rows["backbone/conv"]["notes"] == "used by an audit" and rows["backbone/conv"]["depth"] == 1
    assert rows["backbone/conv"]["trainable"] == "no" and rows["head"]["notes"] == "logits read here"
    assert rows["backbone/conv"]["shape"] == "8 × 8 × 4"


def test_first_conv_filters_as_a_grid_known_answer():
    """Filter 0 reads only red at its centre, filter 1 only blue at its top-left: the grid shows exactly that."""
    import base64
    import io

    from PIL import Image

    from pytest_modelaudit.plugin.thumbnails import FILTER_CELL, filters_record

    inp = keras.Input((8, 8, 3))
    conv = keras.layers.Conv2D(2, 3, name="first")
    out = keras.layers.Dense(2)(keras.layers.Flatten()(conv(inp)))
    model = keras.Model(inp, out)
    k = np.zeros((3, 3, 3, 2), np.float32)
    k[1, 1, 0, 0] = 1.0  # red, centre
    k[0, 0, 2, 1] = 1.0  # blue, top-left
    conv.set_weights([k, np.zeros(2, np.float32)])
    rec = filters_record(load_model(model))
    assert (rec["layer"], rec["count"], rec["shape"], rec["rgb"]) == ("first", 2, [3, 3, 3], True)
    grid = np.asarray(Image.open(io.BytesIO(base64.b64decode(rec["image"].split(",", 1)[1]))).convert("RGB"))
    third = FILTER_CELL // 3
    centre0 = grid[2 + third + third // 2, 2 + third + third // 2]  # filter 0's middle weight
    corner1 = grid[2 + third // 2, 2 + FILTER_CELL + 2 + third // 2]  # filter 1's top-left weight
    assert tuple(centre0) == (255, 0, 0) and tuple(corner1) == (0, 0, 255)
    assert tuple(grid[2 + third // 2, 2 + third // 2]) == (0, 0, 0)  # filter 0's corner: the minimum


def test_a_model_without_convolutions_has_no_filter_grid():
    from pytest_modelaudit.plugin.thumbnails import filters_record

    inp = keras.Input((4, 4, 3))
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.Flatten()(inp)))
    assert filters_record(load_model(model)) is None
