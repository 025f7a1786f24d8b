"""TimeLSTM, TimePeepholeLSTM and TimeGRU: float64 gradient checks, a per-step reference, stateful carry, dtypes."""
import warnings

import numpy as np
import pytest

from trainer.checks.numeric import assert_close, numerical_grad
from trainer.layers import TimeGRU, TimeLSTM, TimePeepholeLSTM


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lstm_reference(xs, Wx, Wh, b, h, c):
    """The textbook LSTM, one step at a time: gate blocks f, g, i, o."""
    H = Wh.shape[0]
    hs = []
    for t in range(xs.shape[1]):
        a = xs[:, t] @ Wx + h @ Wh + b
        f, g = sigmoid(a[:, :H]), np.tanh(a[:, H:2 * H])
        i, o = sigmoid(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
        c = f * c + g * i
        h = o * np.tanh(c)
        hs.append(h)
    return np.stack(hs, axis=1), (h, c)


def peephole_reference(xs, Wx, Wh, b, p, h, c):
    """The peephole LSTM (Gers, Schraudolph & Schmidhuber 2002), one step at a time."""
    H = Wh.shape[0]
    hs = []
    for t in range(xs.shape[1]):
        a = xs[:, t] @ Wx + h @ Wh + b
        f = sigmoid(a[:, :H] + p[:H] * c)
        i = sigmoid(a[:, 2 * H:3 * H] + p[H:2 * H] * c)
        c = f * c + np.tanh(a[:, H:2 * H]) * i
        o = sigmoid(a[:, 3 * H:] + p[2 * H:] * c)
        h = o * np.tanh(c)
        hs.append(h)
    return np.stack(hs, axis=1), (h, c)


def gru_reference(xs, Wx, Wh, b, h):
    """The standard GRU, one step at a time: gate blocks z, r, h~."""
    H = Wh.shape[0]
    hs = []
    for t in range(xs.shape[1]):
        x = xs[:, t]
        z = sigmoid(x @ Wx[:, :H] + h @ Wh[:, :H] + b[:H])
        r = sigmoid(x @ Wx[:, H:2 * H] + h @ Wh[:, H:2 * H] + b[H:2 * H])
        h_hat = np.tanh(x @ Wx[:, 2 * H:] + (r * h) @ Wh[:, 2 * H:] + b[2 * H:])
        h = (1 - z) * h + z * h_hat
        hs.append(h)
    return np.stack(hs, axis=1), (h,)


# layer class, gate blocks, reference, names of the carried state
CELLS = {"lstm": (TimeLSTM, 4, lstm_reference, ("h", "c")),
         "peephole": (TimePeepholeLSTM, 4, peephole_reference, ("h", "c")),
         "gru": (TimeGRU, 3, gru_reference, ("h",))}


def make(cell, rng, D=3, H=4, stateful=False, dtype=np.float64):
    cls, k, _, _ = CELLS[cell]
    Wx = rng.standard_normal((D, k * H)) / np.sqrt(D)
    Wh = rng.standard_normal((H, k * H)) / np.sqrt(H)
    b = rng.standard_normal(k * H) * 0.3
    layer = cls(Wx.astype(dtype), Wh.astype(dtype), b.astype(dtype), stateful=stateful)
    if cls is TimePeepholeLSTM:    # peepholes that matter (they start at zero)
        layer.params[3][...] = rng.standard_normal(3 * H) * 0.5
    return layer


def states(cell, rng, N, H):
    return [rng.standard_normal((N, H)) * 0.5 for _ in CELLS[cell][3]]


def state_grads(layer, cell):
    return [getattr(layer, "d" + name).copy() for name in CELLS[cell][3]]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("stateful", [False, True])
def test_gradients_of_params_inputs_and_state(rng, cell, stateful):
    N, T, D, H = 2, 5, 3, 4
    layer = make(cell, rng, D, H, stateful)
    xs = rng.standard_normal((N, T, D))
    s0 = states(cell, rng, N, H)
    G = rng.standard_normal((N, T, H))
    if not stateful:  # the state it starts from is zero; a stateful twin is given that zero
        s0 = [np.zeros_like(s) for s in s0]
        twin = type(layer)(*layer.params, stateful=True)

    def loss():
        layer.set_state(*s0)  # ignored unless stateful
        return float((layer.forward(xs) * G).sum())

    def twin_loss():
        twin.set_state(*s0)
        return float((twin.forward(xs) * G).sum())

    loss()
    dxs = layer.backward(G)
    grads = [g.copy() for g in layer.grads]
    dstate = state_grads(layer, cell)
    assert dxs.dtype == np.float64 and dxs.shape == xs.shape
    assert_close(dxs, numerical_grad(loss, xs))
    for p, g in zip(layer.params, grads):
        assert g.shape == p.shape
        assert_close(g, numerical_grad(loss, p))
    for s, ds in zip(s0, dstate):  # the gradient into the state the forward started from
        assert_close(ds, numerical_grad(loss if stateful else twin_loss, s))


@pytest.mark.parametrize("cell", CELLS)
def test_forward_matches_per_step_reference(rng, cell):
    N, T, D, H = 3, 7, 2, 5
    layer = make(cell, rng, D, H, stateful=True)
    xs = rng.standard_normal((N, T, D))
    s0 = states(cell, rng, N, H)
    reference = CELLS[cell][2]
    layer.set_state(*s0)
    hs = layer.forward(xs)
    ref_hs, ref_state = reference(xs, *layer.params, *s0)
    np.testing.assert_allclose(hs, ref_hs, rtol=1e-12, atol=1e-13)
    for name, ref in zip(CELLS[cell][3], ref_state):
        np.testing.assert_allclose(getattr(layer, name), ref, rtol=1e-12, atol=1e-13)
    layer.reset_state()  # from zero
    zeros = [np.zeros((N, H)) for _ in s0]
    np.testing.assert_allclose(layer.forward(xs), reference(xs, *layer.params, *zeros)[0],
                               rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("cell", CELLS)
def test_stateful_carry_equals_one_long_forward(rng, cell):
    layer = make(cell, rng, stateful=True)
    xs = rng.standard_normal((3, 10, 3))
    whole = layer.forward(xs)
    end = [getattr(layer, name).copy() for name in CELLS[cell][3]]
    layer.reset_state()
    parts = np.concatenate([layer.forward(xs[:, :4]), layer.forward(xs[:, 4:])], axis=1)
    np.testing.assert_allclose(parts, whole, rtol=1e-12, atol=1e-13)
    for name, value in zip(CELLS[cell][3], end):
        np.testing.assert_allclose(getattr(layer, name), value, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("cell", CELLS)
def test_reset_state_and_batch_size_change_start_from_zero(rng, cell):
    layer = make(cell, rng, stateful=True)
    xs = rng.standard_normal((2, 5, 3))
    first = layer.forward(xs)
    carried = layer.forward(xs)
    assert not np.allclose(first, carried)
    layer.reset_state()
    np.testing.assert_array_equal(layer.forward(xs), first)
    fresh = type(layer)(*layer.params, stateful=True)
    np.testing.assert_array_equal(layer.forward(xs[:1]), fresh.forward(xs[:1]))
    not_stateful = type(layer)(*layer.params)
    not_stateful.set_state(*states(cell, rng, 2, 4))
    np.testing.assert_array_equal(not_stateful.forward(xs), first)
    np.testing.assert_array_equal(not_stateful.forward(xs), first)


def test_lstm_set_state_without_c_starts_from_zero_cell(rng):
    layer = make("lstm", rng, stateful=True)
    xs = rng.standard_normal((2, 4, 3))
    h0 = rng.standard_normal((2, 4))
    layer.set_state(h0)
    assert layer.c.shape == h0.shape and not layer.c.any()
    a = layer.forward(xs)
    layer.set_state(h0, np.zeros((2, 4)))
    np.testing.assert_array_equal(layer.forward(xs), a)


@pytest.mark.parametrize("cell", CELLS)
def test_grads_written_in_place(rng, cell):
    layer = make(cell, rng)
    ids = [id(g) for g in layer.grads]
    for T in (4, 2):
        layer.forward(rng.standard_normal((2, T, 3)))
        layer.backward(rng.standard_normal((2, T, 4)))
    assert [id(g) for g in layer.grads] == ids
    assert all(np.abs(g).sum() > 0 for g in layer.grads)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_follows_params(rng, cell, dtype):
    layer = make(cell, rng, stateful=True, dtype=dtype)
    layer.set_state(*states(cell, rng, 2, 4))
    hs = layer.forward(rng.standard_normal((2, 3, 3)))   # float64 inputs
    dxs = layer.backward(rng.standard_normal((2, 3, 4)))  # float64 gradients
    names = CELLS[cell][3]
    arrays = [hs, dxs, *layer.grads, *(getattr(layer, n) for n in names),
              *(getattr(layer, "d" + n) for n in names)]
    assert all(a.dtype == dtype for a in arrays)


@pytest.mark.parametrize("cell", CELLS)
def test_huge_inputs_saturate_without_warnings(rng, cell):
    layer = make(cell, rng)
    xs = rng.standard_normal((2, 4, 3)) * 1e4
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        hs = layer.forward(xs)
        dxs = layer.backward(np.ones((2, 4, 4)))
    assert np.all(np.isfinite(hs)) and np.all(np.abs(hs) <= 1)
    assert np.all(np.isfinite(dxs))


@pytest.mark.parametrize("cell", CELLS)
def test_outputs_survive_later_calls_and_shapes_alternate(rng, cell):
    layer = make(cell, rng)
    reference = CELLS[cell][2]
    xa, xb, xc = (rng.standard_normal(shape) for shape in [(2, 5, 3), (3, 2, 3), (2, 5, 3)])
    outputs = [layer.forward(x) for x in (xa, xb, xc)]
    for x, hs in zip((xa, xb, xc), outputs):
        zeros = [np.zeros((x.shape[0], 4)) for _ in CELLS[cell][3]]
        np.testing.assert_allclose(hs, reference(x, *layer.params, *zeros)[0],
                                   rtol=1e-12, atol=1e-13)


def _lstm_model(rng, task="copy", **model):
    from rnn_trainer_datasets import make_task
    from trainer.config.load import from_dict
    from trainer.model.network import build_model
    cfg = from_dict({"task": {"name": task, "delay": 30}, "train": {"batch_size": 2},
                     "model": {"cell": "lstm", "hidden": 64, **model}})
    return build_model(cfg["model"], make_task(cfg["task"], rng), rng)


def test_chrono_init_spreads_forget_biases_over_log_1_to_log_tmax_and_negates_them_for_input(rng):
    H = 64
    b = _lstm_model(rng, init_gates="chrono").rnn.params[2]      # copy at delay 30: 50 steps
    f, g, i, o = b[:H], b[H:2 * H], b[2 * H:3 * H], b[3 * H:]
    assert f.min() >= 0 and f.max() <= np.log(49) and f.max() > np.log(20)
    np.testing.assert_array_equal(i, -f)
    assert not g.any() and not o.any()
    b = _lstm_model(rng, init_gates="chrono", chrono_tmax=4).rnn.params[2]
    assert b[:H].max() <= np.log(3) and np.ptp(b[:H]) > 0
    b = _lstm_model(rng, forget_bias=-2.5).rnn.params[2]
    assert np.all(b[:H] == -2.5) and not b[H:].any()


def test_chrono_init_draws_every_weight_but_the_lstm_bias_as_constant_init_does(rng):
    """Chrono draws its biases from a child of the init stream, so the stream gives every other
    weight as the default (forget bias 1) draws it."""
    a = _lstm_model(np.random.default_rng(3))
    b = _lstm_model(np.random.default_rng(3), init_gates="chrono")
    lstm_bias = 3                     # embedding, Wx, Wh, b, head W, head b
    assert a.params[lstm_bias] is a.rnn.params[2]
    for k, (p, q) in enumerate(zip(a.params, b.params)):
        if k != lstm_bias:
            np.testing.assert_array_equal(p, q)


def test_peepholes_build_the_peephole_layer_from_zero_peepholes(rng):
    model = _lstm_model(rng, peepholes=True)
    assert isinstance(model.rnn, TimePeepholeLSTM) and not model.rnn.params[3].any()
    assert len(model.params) == len(_lstm_model(rng).params) + 1


@pytest.mark.parametrize("keys,message", [
    ({"cell": "gru", "peepholes": True}, "model.peepholes: an option of the lstm cell"),
    ({"cell": "textbook-lstm", "peepholes": True}, "model.peepholes"),
    ({"cell": "rnn", "init_gates": "chrono"}, "model.init_gates: 'chrono' sets LSTM gate biases"),
    ({"cell": "lstm", "chrono_tmax": 1}, "model.chrono_tmax: expected 0"),
])
def test_lstm_options_on_other_cells_are_one_line_errors(keys, message):
    from trainer.config.load import ConfigError, from_dict
    with pytest.raises(ConfigError, match=message):
        from_dict({"task": {"name": "copy"}, "model": keys})
