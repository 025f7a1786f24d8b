"""A recurrent layer over the task's values skips the gradient into its inputs (nothing below
it learns), and everything it does compute stays bit for bit what it was."""
import numpy as np
import pytest

from trainer.layers import TimeGRU, TimeLSTM, TimePeepholeLSTM, TimeRNN
from trainer.layers.lstm import block_steps

LAYERS = {"rnn": (TimeRNN, 1), "lstm": (TimeLSTM, 4), "gru": (TimeGRU, 3),
          "peephole": (TimePeepholeLSTM, 4)}


def _layer(name, rng, D, H, dtype):
    cls, k = LAYERS[name]
    params = [(rng.standard_normal(shape) / np.sqrt(shape[0])).astype(dtype)
              for shape in ((D, k * H), (H, k * H))] + [np.zeros(k * H, dtype)]
    return cls(*params, stateful=True)


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_without_the_input_gradient_backward_returns_none_and_the_same_bits(rng, name, dtype):
    N, T, D, H = 5, 120, 3, 16  # at batch 5, blocks of 52 steps: 52 + 52 + 16 (block_steps)
    assert block_steps(N, T) == 52
    layers = [_layer(name, np.random.default_rng(7), D, H, dtype) for _ in range(2)]
    layers[1].input_grad = False
    windows = [(rng.standard_normal((N, T, D)).astype(dtype),
                rng.standard_normal((N, T, H)).astype(dtype)) for _ in range(2)]
    with_dx, without = layers
    for xs, dhs in windows:    # two windows: the second starts from the carried state
        np.testing.assert_array_equal(with_dx.forward(xs), without.forward(xs))
        dxs = with_dx.backward(dhs)
        assert without.backward(dhs) is None
        assert dxs.shape == (N, T, D) and np.isfinite(dxs).all()
        for g, g_skip in zip(with_dx.grads, without.grads):
            np.testing.assert_array_equal(g, g_skip)
        for state in with_dx.state_names:
            np.testing.assert_array_equal(getattr(with_dx, state), getattr(without, state))
        np.testing.assert_array_equal(with_dx.dh, without.dh)


def _model(task, cell="lstm"):
    from rnn_trainer_datasets import make_task
    from trainer.config.load import from_dict
    from trainer.model.network import build_model
    from trainer.plugins import cells
    cfg = from_dict({"task": {"name": task}, "model": {"cell": "lstm", "hidden": 8, "embed": 3}})
    rng = np.random.default_rng(0)
    return build_model(cfg["model"], make_task(cfg["task"], rng), rng, cells.resolve(cell))


def test_a_model_over_values_asks_its_recurrent_layer_for_no_input_gradient():
    model = _model("adding")
    assert model.layers[0] is model.rnn and model.rnn.input_grad is False


def test_a_model_over_tokens_keeps_the_input_gradient_its_embedding_learns_from():
    model = _model("copy")
    assert model.rnn.input_grad is True
    x = np.array([[1, 2, 3, 0]])
    model.forward(x, np.array([[1, 2, 3, 0]]))
    model.backward()
    embedding_grad = model.layers[0].grads[0]
    assert np.abs(embedding_grad[[1, 2, 3, 0]]).sum() > 0


def test_a_plug_in_cell_is_left_as_it_is(rng):
    # the package's own LSTM named as a plug-in: a guest's object, which the model does not set
    model = _model("adding", cell="trainer.layers.lstm:TimeLSTM")
    assert "input_grad" not in vars(model.rnn) and model.rnn.input_grad is True
