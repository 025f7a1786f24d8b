"""TimeLSTM's two backward paths (the weight gradient summed per step, or one product over all
steps from lstm.BATCH_DW_MIN weights) in float64: finite differences, and each other."""
import numpy as np
import pytest

import trainer.layers.lstm as lstm
from test_cells import test_gradients_of_params_inputs_and_state as check_gradients


@pytest.fixture
def batched(monkeypatch):
    monkeypatch.setattr(lstm, "BATCH_DW_MIN", 0)   # every size takes the batched path


@pytest.mark.parametrize("stateful", [False, True])
def test_batched_path_gradients_against_finite_differences(rng, batched, stateful):
    check_gradients(rng, "lstm", stateful)


def test_batched_path_uses_its_buffers(batched):
    buf = lstm._Buffers(2, 3, 1, 2, np.float64)
    assert buf.batched and buf.da.shape == (3, 8, 2)


def test_both_paths_agree_over_windows_and_a_new_batch_size(rng, monkeypatch):
    D, H = 3, 5
    Wx, Wh = rng.standard_normal((D, 4 * H)), rng.standard_normal((H, 4 * H)) * 0.6
    b = rng.standard_normal(4 * H) * 0.5
    layers = []
    for limit in (1 << 62, 0):   # per step, then batched (the choice is made with the buffers)
        monkeypatch.setattr(lstm, "BATCH_DW_MIN", limit)
        layer = lstm.TimeLSTM(Wx.copy(), Wh.copy(), b.copy(), stateful=True)
        layer.forward(np.zeros((4, 6, D)))
        layers.append(layer)
    per_step, batched = layers
    assert not per_step._fwd.batched and batched._fwd.batched
    for N in (4, 4, 2):
        xs, dhs = rng.standard_normal((N, 6, D)), rng.standard_normal((N, 6, H))
        monkeypatch.setattr(lstm, "BATCH_DW_MIN", 1 << 62)
        hs, dxs = per_step.forward(xs).copy(), per_step.backward(dhs)
        monkeypatch.setattr(lstm, "BATCH_DW_MIN", 0)
        np.testing.assert_allclose(batched.forward(xs), hs, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(batched.backward(dhs), dxs, rtol=1e-11, atol=1e-12)
        for name in ("h", "c", "dh", "dc"):
            np.testing.assert_allclose(getattr(batched, name), getattr(per_step, name),
                                       rtol=1e-11, atol=1e-12)
        for g, r in zip(batched.grads, per_step.grads):
            np.testing.assert_allclose(g, r, rtol=1e-11, atol=1e-12)
