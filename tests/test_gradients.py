"""Float64 finite-difference checks of every layer and loss, including dx and the carried state."""
import numpy as np
import pytest

from trainer.checks.numeric import assert_close, numerical_grad
from trainer.layers import RNN, TimeAffine, TimeEmbedding, TimeRNN
from trainer.layers import rnn as rnn_module
from trainer.layers.losses import TimeMSE, TimeSigmoidWithLoss, TimeSoftmaxWithLoss


def rnn_params(rng, D, H):
    return (rng.standard_normal((D, H)) * 0.5, rng.standard_normal((H, H)) * 0.5,
            rng.standard_normal(H) * 0.1)


def test_rnn_cell(rng):
    N, D, H = 3, 4, 5
    cell = RNN(*rnn_params(rng, D, H))
    x, h_prev = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    G = rng.standard_normal((N, H))

    def loss():
        return float((cell.forward(x, h_prev) * G).sum())

    loss()
    dx, dh_prev = cell.backward(G)
    assert_close(dx, numerical_grad(loss, x))
    assert_close(dh_prev, numerical_grad(loss, h_prev))
    for p, g in zip(cell.params, list(cell.grads)):
        g = g.copy()
        assert_close(g, numerical_grad(loss, p))


@pytest.mark.parametrize("exp_tanh", [False, True])
@pytest.mark.parametrize("stateful", [False, True])
def test_time_rnn_params_inputs_and_state(rng, stateful, exp_tanh, monkeypatch):
    if exp_tanh:  # the forward's tanh from exp, used from EXP_TANH_MIN elements a step
        monkeypatch.setattr(rnn_module, "EXP_TANH_MIN", 0)
    N, T, D, H = 3, 6, 4, 5
    layer = TimeRNN(*rnn_params(rng, D, H), stateful=stateful)
    xs = rng.standard_normal((N, T, D))
    h0 = rng.standard_normal((N, H)) * 0.5
    G = rng.standard_normal((N, T, H))

    def loss():
        if stateful:
            layer.set_state(h0)
        return float((layer.forward(xs) * G).sum())

    loss()
    dxs = layer.backward(G)
    grads = [g.copy() for g in layer.grads]
    dh = layer.dh.copy()
    assert dxs.dtype == np.float64 and dxs.shape == xs.shape
    assert_close(dxs, numerical_grad(loss, xs))
    for p, g in zip(layer.params, grads):
        assert_close(g, numerical_grad(loss, p))
    if stateful:  # the gradient into a state given with set_state
        assert_close(dh, numerical_grad(loss, h0))


def test_time_rnn_refuses_a_bias_per_batch_row(rng):
    """The seeds' (N, H) bias ties the layer to one batch size; the (H,) bias is the model's
    (its gradient is checked above); the cell RNN keeps the seeds' form for their numbers."""
    Wx, Wh, _ = rnn_params(rng, 2, 3)
    with pytest.raises(ValueError, match=r"shape \(3,\), not \(4, 3\)"):
        TimeRNN(Wx, Wh, np.zeros((4, 3)))
    xs, row, flat = rng.standard_normal((4, 2, 2)), TimeRNN(Wx, Wh, np.zeros((1, 3))), \
        TimeRNN(Wx, Wh, np.zeros(3))            # one row of H biases is the same bias
    for layer in (row, flat):
        layer.backward(layer.forward(xs))
    assert row.grads[2].shape == (1, 3) and np.array_equal(row.grads[2][0], flat.grads[2])


def test_time_rnn_grads_written_in_place(rng):
    layer = TimeRNN(*rnn_params(rng, 2, 3))
    ids = [id(g) for g in layer.grads]
    layer.forward(rng.standard_normal((2, 4, 2)))
    layer.backward(rng.standard_normal((2, 4, 3)))
    assert [id(g) for g in layer.grads] == ids
    assert any(np.abs(g).sum() > 0 for g in layer.grads)


def test_time_affine(rng):
    N, T, H, O = 2, 5, 4, 3
    layer = TimeAffine(rng.standard_normal((H, O)), rng.standard_normal(O))
    xs, G = rng.standard_normal((N, T, H)), rng.standard_normal((N, T, O))

    def loss():
        return float((layer.forward(xs) * G).sum())

    loss()
    dxs = layer.backward(G)
    grads = [g.copy() for g in layer.grads]
    assert_close(dxs, numerical_grad(loss, xs))
    for p, g in zip(layer.params, grads):
        assert_close(g, numerical_grad(loss, p))


def test_time_embedding_with_repeated_ids(rng):
    V, D = 5, 3
    layer = TimeEmbedding(rng.standard_normal((V, D)))
    ids = np.array([[0, 1, 1, 4], [4, 4, 2, 0]])  # repeats must accumulate
    G = rng.standard_normal((2, 4, D))

    def loss():
        return float((layer.forward(ids) * G).sum())

    loss()
    assert layer.backward(G) is None
    assert_close(layer.grads[0].copy(), numerical_grad(loss, layer.params[0]))


@pytest.mark.parametrize("masked", [False, True])
def test_softmax_loss(rng, masked):
    N, T, V = 3, 4, 5
    xs = rng.standard_normal((N, T, V)) * 3
    ts = rng.integers(0, V, (N, T))
    mask = (rng.random((N, T)) < 0.6).astype(float) if masked else None
    ts[0, 0] = -1  # the ignore label is never scored
    loss_layer = TimeSoftmaxWithLoss()

    def loss():
        return loss_layer.forward(xs, ts, mask)

    loss()
    dx = loss_layer.backward()
    assert_close(dx, numerical_grad(loss, xs))
    assert np.all(dx[0, 0] == 0)
    if masked:
        assert np.all(dx[mask == 0] == 0)


def test_softmax_loss_is_safe_with_huge_logits():
    xs = np.array([[[1000.0, -1000.0, 0.0]]])
    loss_layer = TimeSoftmaxWithLoss()
    assert loss_layer.forward(xs, np.array([[0]])) == pytest.approx(0.0)
    big = loss_layer.forward(xs, np.array([[1]]))
    assert np.isfinite(big) and big == pytest.approx(2000.0)
    assert np.all(np.isfinite(loss_layer.backward()))


@pytest.mark.parametrize("masked", [False, True])
def test_mse_loss(rng, masked):
    N, T, O = 3, 4, 2
    ys, ts = rng.standard_normal((N, T, O)), rng.standard_normal((N, T, O))
    mask = (rng.random((N, T)) < 0.5).astype(float) if masked else None
    loss_layer = TimeMSE()

    def loss():
        return loss_layer.forward(ys, ts, mask)

    value = loss()
    w = np.ones((N, T)) if mask is None else mask
    expected = ((ys - ts) ** 2 * w[..., None]).sum() / (max(w.sum(), 1) * O)
    assert value == pytest.approx(expected)
    assert_close(loss_layer.backward(), numerical_grad(loss, ys))


def test_whole_model_gradient_in_float64(rng):
    """Embedding -> TimeRNN -> affine -> softmax loss, all parameters at once."""
    from rnn_trainer_datasets import make_task
    from trainer.config.load import from_dict
    from trainer.model.network import build_model
    cfg = from_dict({"task": {"name": "counting", "length": 60, "val_length": 10},
                     "model": {"hidden": 4, "embed": 3, "dtype": "float64"},
                     "train": {"batch_size": 2, "bptt": 5}})
    task = make_task(cfg["task"], rng)
    model = build_model(cfg["model"], task, rng)
    xs, ts = task.train_x[:10].reshape(2, 5), task.train_y[:10].reshape(2, 5)

    def loss():
        model.rnn.reset_state()
        return model.forward(xs, ts)

    loss()
    model.backward()
    grads = [g.copy() for g in model.grads]
    for p, g in zip(model.params, grads):
        assert_close(g, numerical_grad(loss, p))


def test_relu_time_rnn(rng):
    N, T, D, H = 3, 5, 2, 4
    layer = TimeRNN(*rnn_params(rng, D, H), stateful=True, activation="relu")
    xs, h0, G = rng.standard_normal((N, T, D)), np.abs(rng.standard_normal((N, H))), \
        rng.standard_normal((N, T, H))

    def loss():
        layer.set_state(h0)
        return float((layer.forward(xs) * G).sum())

    loss()
    dxs = layer.backward(G)
    grads, dh = [g.copy() for g in layer.grads], layer.dh.copy()
    assert_close(dxs, numerical_grad(loss, xs))
    assert_close(dh, numerical_grad(loss, h0))
    for p, g in zip(layer.params, grads):
        assert_close(g, numerical_grad(loss, p))


@pytest.mark.parametrize("masked", [False, True])
def test_sigmoid_loss(rng, masked):
    N, T, O = 3, 4, 3
    xs = rng.standard_normal((N, T, O)) * 3
    ts = (rng.random((N, T, O)) < 0.5).astype(float)
    mask = (rng.random((N, T)) < 0.6).astype(float) if masked else None
    loss_layer = TimeSigmoidWithLoss()

    def loss():
        return loss_layer.forward(xs, ts, mask)

    value = loss()
    p = 1 / (1 + np.exp(-xs))
    bce = -(ts * np.log(p) + (1 - ts) * np.log(1 - p))
    w = np.ones((N, T)) if mask is None else mask
    assert value == pytest.approx((bce * w[..., None]).sum() / (max(w.sum(), 1) * O))
    assert_close(loss_layer.backward(), numerical_grad(loss, xs))


def test_sigmoid_loss_is_safe_with_huge_logits():
    loss_layer = TimeSigmoidWithLoss()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = loss_layer.forward(np.array([[[1000.0, -1000.0]]]), np.array([[[0.0, 1.0]]]))
        assert value == pytest.approx(1000.0)
        assert np.all(np.isfinite(loss_layer.backward()))


@pytest.mark.parametrize("cell,task", [("lstm", "copy"), ("gru", "anbn"), ("rnn", "adding"),
                                       ("rnn", "parity"), ("peephole", "temporal_order"),
                                       ("lstm", "reber"), ("rnn", "multiplication")])
def test_whole_episode_model_gradient_in_float64(rng, cell, task):
    from rnn_trainer_datasets import make_task
    from trainer.config.load import from_dict
    from trainer.model.network import build_model
    keys = {"copy": {"delay": 2}, "anbn": {"n_max": 2, "n_test_max": 2}, "adding": {"length": 6},
            "parity": {"length": 5}, "temporal_order": {"length": 10, "spread": 2},
            "reber": {"max_length": 12}, "multiplication": {"length": 6}}[task]
    # the peephole LSTM with chrono gate biases
    model_keys = {"cell": "lstm", "peepholes": True, "init_gates": "chrono"} if cell == "peephole" \
        else {"cell": cell}
    cfg = from_dict({"task": {"name": task, **keys}, "train": {"batch_size": 2},
                     "model": {**model_keys, "hidden": 3, "embed": 2, "dtype": "float64",
                               "init": "orthogonal"}})
    t = make_task(cfg["task"], rng)
    model = build_model(cfg["model"], t, rng)
    if cell == "peephole":               # peepholes away from their zero start
        model.rnn.params[3][...] = rng.standard_normal(model.rnn.params[3].shape)
    b = t.sample(rng, 2)

    def loss():
        model.rnn.reset_state()
        return model.forward(b.x, b.y, b.mask)

    loss()
    model.backward()
    grads = [g.copy() for g in model.grads]
    for p, g in zip(model.params, grads):
        assert_close(g, numerical_grad(loss, p))
