"""Traced passes take any batch size from their first trace: a partial last batch does not retrace."""
import numpy as np

from pytest_modelaudit.core import load_model
from pytest_modelaudit.core.model.tracing import AnyBatch


def _model():
    import keras

    inp = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inp)
    out = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(x))
    return keras.Model(inp, out)


def test_a_partial_last_batch_reuses_the_first_trace_and_gives_the_models_outputs():
    model = _model()
    adapter = load_model(model)
    x = np.random.default_rng(0).random((70, 8, 8, 3), dtype=np.float32)  # batches of 64 and 6
    logits = adapter.logits(x)
    _, grads = adapter.input_gradients(x, 1, batch_size=32)  # 32, 32 and 6
    assert adapter._functions[("logits",)].tracing_count() == 1
    assert adapter._functions[("input_gradients",)].tracing_count() == 1
    np.testing.assert_allclose(logits, np.asarray(model(x, training=False)), rtol=1e-5, atol=1e-6)
    assert grads.shape == x.shape and np.abs(grads).sum() > 0


def test_another_shape_or_dtype_after_the_batch_is_traced_once_more_not_refused():
    import tensorflow as tf

    mix = AnyBatch(lambda x, m: x * (1.0 - tf.cast(m, x.dtype)))
    x = tf.ones((5, 4, 4, 3))
    assert float(tf.reduce_sum(mix(x, tf.zeros((5, 4, 4, 1), tf.bool)))) == 240.0
    assert float(tf.reduce_sum(mix(x[:2], tf.ones((2, 4, 4, 1))))) == 0.0  # float masks, 2 images
    assert float(tf.reduce_sum(mix(x[:3], tf.zeros((3, 4, 4, 1), tf.bool)))) == 144.0
    assert mix.tracing_count() == 2
