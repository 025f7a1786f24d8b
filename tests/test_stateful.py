"""Stateful carry and reset of TimeRNN, and the stream batching of truncated BPTT."""
import numpy as np

from rnn_trainer_datasets.base import steps_per_epoch
from trainer.training.batching import stream_rows, window
from trainer.layers import TimeRNN


def make_layer(rng, stateful=True, D=2, H=4):
    return TimeRNN(rng.standard_normal((D, H)), rng.standard_normal((H, H)) * 0.5,
                   rng.standard_normal(H) * 0.1, stateful=stateful)


def test_carry_across_calls_equals_one_long_forward(rng):
    xs = rng.standard_normal((3, 10, 2))
    layer = make_layer(rng)
    whole = layer.forward(xs)
    layer.reset_state()
    parts = np.concatenate([layer.forward(xs[:, :4]), layer.forward(xs[:, 4:7]),
                            layer.forward(xs[:, 7:])], axis=1)
    np.testing.assert_allclose(parts, whole, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.h, whole[:, -1])


def test_reset_state_starts_from_zero(rng):
    xs = rng.standard_normal((2, 5, 2))
    layer = make_layer(rng)
    first = layer.forward(xs)
    carried = layer.forward(xs)
    assert not np.allclose(first, carried)
    layer.reset_state()
    np.testing.assert_array_equal(layer.forward(xs), first)


def test_not_stateful_ignores_previous_call(rng):
    xs = rng.standard_normal((2, 5, 2))
    layer = make_layer(rng, stateful=False)
    np.testing.assert_array_equal(layer.forward(xs), layer.forward(xs))


def test_set_state_is_used_and_batch_size_change_starts_fresh(rng):
    layer = make_layer(rng)
    xs = rng.standard_normal((2, 3, 2))
    h0 = rng.standard_normal((2, 4))
    layer.set_state(h0)
    a = layer.forward(xs)
    step = np.tanh(xs[:, 0] @ layer.params[0] + h0 @ layer.params[1] + layer.params[2])
    np.testing.assert_allclose(a[:, 0], step)
    # the textbook's stateful h breaks when the batch size changes; here a new size starts from zero
    fresh = TimeRNN(*layer.params).forward(xs[:1])
    np.testing.assert_array_equal(layer.forward(xs[:1]), fresh)


def test_stream_rows_start_at_evenly_spaced_offsets():
    stream = np.arange(103)
    rows = stream_rows(stream, 4)
    jump = 103 // 4
    assert rows.shape == (4, jump)
    np.testing.assert_array_equal(rows[:, 0], [0, jump, 2 * jump, 3 * jump])
    assert np.shares_memory(rows, stream)


def test_windows_are_consecutive_and_in_order():
    stream = np.arange(200)[:, None] * 1.0  # value streams keep their feature axis
    rows = stream_rows(stream, 4)            # jump 50
    k = steps_per_epoch(4, 12, length=200)
    assert k == 4
    seen = [window(rows, i, 12)[:, :, 0] for i in range(k)]
    for i, w in enumerate(seen):
        assert w.shape == (4, 12)
        np.testing.assert_array_equal(w[:, 0], np.arange(4) * 50 + i * 12)
    joined = np.concatenate(seen, axis=1)
    np.testing.assert_array_equal(np.diff(joined, axis=1), 1)  # each row reads its stretch in order


def test_every_recurrent_layer_exposes_its_carried_state_one_way(rng):
    """state_names and state() cover the LSTM's c: a window continued from state() equals
    the long forward, and reset_state() clears every carried array."""
    from trainer.layers import TimeGRU, TimeLSTM
    D, H = 2, 3
    xs = rng.standard_normal((2, 6, D))
    for cls, k, names in ((TimeRNN, 1, ("h",)), (TimeLSTM, 4, ("h", "c")), (TimeGRU, 3, ("h",))):
        layer = cls(rng.standard_normal((D, k * H)), rng.standard_normal((H, k * H)) * 0.5,
                    rng.standard_normal(k * H) * 0.1, stateful=True)
        assert layer.state_names == names and layer.state() == (None,) * len(names)
        whole = layer.forward(xs)
        layer.reset_state()
        layer.forward(xs[:, :4])
        carried = layer.state()
        assert len(carried) == len(names) and all(s.shape == (2, H) for s in carried)
        layer.reset_state()
        assert layer.state() == (None,) * len(names)
        layer.set_state(*carried)
        np.testing.assert_allclose(layer.forward(xs[:, 4:]), whole[:, 4:], rtol=1e-12, atol=1e-12)



def test_what_a_layer_carries_is_named_by_one_rule(rng):
    """The book's TimeRNN, as a student copies it, declares no state_names: it carries ("h",).
    The checkpoint, a resolved cell and the gradient check read that from the one helper, as
    they read a declared ("h", "c")."""
    import importlib.util
    from pathlib import Path
    from trainer.checks.under_test import LayerUnderTest
    from trainer.layers import carried_state, state_names, textbook
    from trainer.plugins.cells import Cell
    from trainer.training import checkpoint

    spec = importlib.util.spec_from_file_location(
        "book_time_layers", Path(__file__).resolve().parent / "book" / "time_layers.py")
    book = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(book)
    assert not hasattr(book.TimeRNN, "state_names")
    assert checkpoint.state_names is state_names
    for cls, gates, names in ((book.TimeRNN, 1, ("h",)), (textbook.TimeLSTM, 4, ("h", "c"))):
        assert tuple(state_names(cls)) == names and Cell("x", cls, gates).state_names == names
        sizes = {"D": 2, "H": 3, "N": 2, "T": 3}
        assert LayerUnderTest(Cell("x", cls, gates), sizes, rng).state_names == names
        layer = cls(*(rng.standard_normal(s) for s in ((2, 3 * gates), (3, 3 * gates),
                                                        (3 * gates,))), stateful=True)
        layer.forward(rng.standard_normal((2, 3, 2)))
        assert [a.shape for a in carried_state(layer)] == [(2, 3)] * len(names)


def test_the_one_rnn_cell_is_the_books_and_keeps_the_params_dtype(rng):
    """trainer.layers.RNN is the book's cell in textbook.py (the one the book's TimeRNN runs per
    step); float32 parameters give float32 outputs and gradients whatever the dtype of x and
    h_prev."""
    from trainer.layers import RNN, textbook
    assert RNN is textbook.RNN is textbook.TimeRNN.cell
    cell = RNN(*(rng.standard_normal(s).astype(np.float32) for s in ((2, 3), (3, 3), (3,))))
    h = cell.forward(rng.standard_normal((4, 2)), rng.standard_normal((4, 3)))
    dx, dh_prev = cell.backward(np.ones((4, 3), np.float32))
    assert h.dtype == dx.dtype == dh_prev.dtype == np.float32
    assert all(g.dtype == np.float32 for g in cell.grads)
