"""TimeLSTM's and TimeGRU's backward take the weight and input gradients one product per block
of steps, ceil(lstm.DW_BLOCK_COLUMNS / N) steps a block (chosen by size): one step a block,
blocks with a shorter last one, and the whole window as one block are each checked in float64
against finite differences, and against each other."""
import numpy as np
import pytest

import trainer.layers.gru as gru
import trainer.layers.lstm as lstm
from test_cells import test_gradients_of_params_inputs_and_state as check_gradients

# at the gradient check's N = 2, T = 5: blocks of 1, of 2 (2 + 2 + 1), of 3 (3 + 2), all 5
COLUMNS = {1: 1, 4: 2, 6: 3, 1 << 20: 5}


@pytest.mark.parametrize("columns", list(COLUMNS))
@pytest.mark.parametrize("stateful", [False, True])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_every_block_size_against_finite_differences(rng, monkeypatch, cell, columns, stateful):
    monkeypatch.setattr(lstm, "DW_BLOCK_COLUMNS", columns)
    assert lstm.block_steps(2, 5) == COLUMNS[columns]
    check_gradients(rng, cell, stateful)


def test_block_steps_by_size():
    assert lstm.block_steps(20, 120) == -(-lstm.DW_BLOCK_COLUMNS // 20)
    assert lstm.block_steps(50, 3) == 3            # never more than the window
    assert lstm.block_steps(10 ** 6, 7) == 1       # at least one step
    buf = lstm._Buffers(2, 7, 1, 3, np.float64)
    assert buf.eb.shape == (12, buf.B * 2) and buf.zb.shape == (5, buf.B * 2)
    buf = gru._Buffers(2, 7, 1, 3, np.float64)
    assert buf.eb.shape == (9, buf.B * 2) and buf.zb.shape == buf.yb.shape == (5, buf.B * 2)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_block_sizes_agree_over_windows_and_a_new_batch_size(rng, monkeypatch, cell):
    D, H = 3, 5
    layer_class, k = (lstm.TimeLSTM, 4) if cell == "lstm" else (gru.TimeGRU, 3)
    Wx, Wh = rng.standard_normal((D, k * H)), rng.standard_normal((H, k * H)) * 0.6
    b = rng.standard_normal(k * H) * 0.5
    names = ("h", "c", "dh", "dc") if cell == "lstm" else ("h", "dh")
    layers = []
    for columns in (1, 8, 16, 1 << 20):   # at N = 4, T = 6: blocks of 1, 2, 4 (4 + 2), 6
        monkeypatch.setattr(lstm, "DW_BLOCK_COLUMNS", columns)
        layer = layer_class(Wx.copy(), Wh.copy(), b.copy(), stateful=True)
        layer.forward(np.zeros((4, 6, D)))
        layers.append((columns, layer))
    assert [layer._fwd.B for _, layer in layers] == [1, 2, 4, 6]
    for N in (4, 4, 2):
        xs, dhs = rng.standard_normal((N, 6, D)), rng.standard_normal((N, 6, H))
        results = []
        for columns, layer in layers:
            monkeypatch.setattr(lstm, "DW_BLOCK_COLUMNS", columns)
            hs = layer.forward(xs).copy()
            dxs = layer.backward(dhs)
            results.append((hs, dxs, [getattr(layer, name).copy() for name in names],
                            [g.copy() for g in layer.grads]))
        (hs0, dxs0, state0, grads0), rest = results[0], results[1:]
        for hs, dxs, state, grads in rest:
            np.testing.assert_allclose(hs, hs0, rtol=1e-12, atol=1e-13)
            np.testing.assert_allclose(dxs, dxs0, rtol=1e-11, atol=1e-12)
            for s, s0 in zip(state, state0):
                np.testing.assert_allclose(s, s0, rtol=1e-11, atol=1e-12)
            for g, g0 in zip(grads, grads0):
                np.testing.assert_allclose(g, g0, rtol=1e-11, atol=1e-12)
