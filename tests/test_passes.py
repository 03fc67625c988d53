"""The pass tally the audit benchmarks compare with: counts per phase, innermost phase wins, off by default."""
import numpy as np
import pytest

from pytest_modelaudit.core.model import passes


def test_counts_go_to_the_innermost_phase_and_time_excludes_nested_phases():
    with passes.tally() as t:
        passes.count(forward=2)
        with passes.phase("evidence"):
            passes.count(backward=3)
            with passes.phase("randomisation"):
                passes.count(forward=5, backward=1)
            passes.count(forward=1)
    assert (t.of("other").forward, t.of("other").backward) == (2, 0)
    assert (t.of("evidence").forward, t.of("evidence").backward) == (1, 3)
    assert (t.of("randomisation").forward, t.of("randomisation").backward) == (5, 1)
    assert (t.forward, t.backward) == (8, 4)
    assert all(p.seconds >= 0 for p in t.phases.values())


def test_nothing_is_counted_without_a_tally_and_tallies_do_not_nest():
    with passes.phase("evidence"):
        passes.count(forward=10)  # no tally open: a no-op
    with passes.tally() as t:
        with pytest.raises(RuntimeError):
            with passes.tally():
                pass
    assert t.forward == 0


def _tiny():
    import keras

    from pytest_modelaudit.core import load_model

    inp = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(2, 3, padding="same", name="conv")(inp)
    out = keras.layers.Dense(2, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    return load_model(keras.Model(inp, out))


def test_the_adapter_counts_its_batched_passes(tmp_path):
    adapter = _tiny()
    images = np.random.default_rng(0).random((5, 8, 8, 3), dtype=np.float32)
    with passes.tally() as t:
        adapter.logits(images)
        with passes.phase("evidence"):
            adapter.capture(images, ["conv"], 0, batch_size=2)
    assert t.of("other").forward == 5 and t.of("evidence").backward == 5


def test_the_ledger_books_every_pass_to_its_model_and_a_randomised_copys_to_its_source():
    from pytest_modelaudit.core.honesty.sanity import randomised_copy

    adapter, other = _tiny(), _tiny()
    images = np.random.default_rng(0).random((5, 8, 8, 3), dtype=np.float32)
    before = passes.ledger()
    adapter.logits(images)  # no tally open: the ledger counts all the same
    adapter.capture(images, ["conv"], 0, batch_size=2)
    randomised_copy(adapter, seed=1).logits(images[:3])
    other.logits(images[:2])
    assert passes.since(before) == {adapter.passes_key: (8, 5), other.passes_key: (2, 0)}
    assert passes.since(passes.ledger()) == {}
