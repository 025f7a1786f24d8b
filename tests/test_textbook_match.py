"""The fast layers compute what the textbook layers compute: TimeRNN to float32 rounding,
TimeLSTM and TimeGRU to float64 rounding.

The references are trainer/layers/textbook.py (a cell object per step, weight
gradients accumulated step by step: the seeds' layer with its defects fixed),
the same copy that scripts/bench.py measures against, on every benchmark size,
and the book's GRU and LSTM (there too).
"""
import numpy as np
import pytest

from trainer.layers import TimeGRU, TimeLSTM, TimeRNN, textbook

# the sizes of scripts/bench.py's table: (N, T, D, H)
BENCH_SIZES = [(8, 20, 1, 16), (16, 50, 1, 32), (32, 35, 100, 100), (64, 100, 1, 128),
               (128, 64, 10, 256)]


def _close(fast, ref, what):
    """Agreement to float32 rounding: max error within 64 float32 ulps of the largest entry."""
    fast, ref = np.asarray(fast), np.asarray(ref)
    assert fast.shape == ref.shape and fast.dtype == ref.dtype == np.float32, what
    scale = max(1.0, float(np.abs(ref).max()))
    err = float(np.abs(fast.astype(np.float64) - ref).max()) / scale
    assert err < 64 * np.finfo(np.float32).eps, f"{what}: relative error {err:.3g}"


@pytest.mark.parametrize("N,T,D,H", BENCH_SIZES)
def test_fast_time_rnn_matches_textbook_in_float32(N, T, D, H):
    rng = np.random.default_rng(N * 1000 + H)
    f32 = np.float32
    Wx = (rng.standard_normal((D, H)) / np.sqrt(D)).astype(f32)
    Wh = (rng.standard_normal((H, H)) / np.sqrt(H)).astype(f32)
    b = (rng.standard_normal(H) * 0.1).astype(f32)
    fast = TimeRNN(Wx.copy(), Wh.copy(), b.copy(), stateful=True)
    ref = textbook.TimeRNN(Wx.copy(), Wh.copy(), b.copy(), stateful=True)
    # two windows in a row, so the carried state is compared too: the benchmark's window, then
    # a short one carrying its state (the textbook loop is the slow half; any shape sequence is
    # compared in float64 by test_layer_properties)
    for window, steps in enumerate((T, min(T, 3))):
        xs = rng.standard_normal((N, steps, D)).astype(f32)
        dhs = rng.standard_normal((N, steps, H)).astype(f32)
        _close(fast.forward(xs), ref.forward(xs), f"hs, window {window}")
        _close(fast.h, ref.h, f"h, window {window}")
        _close(fast.backward(dhs), ref.backward(dhs), f"dxs, window {window}")
        _close(fast.dh, ref.dh, f"dh, window {window}")
        for name, g, r in zip(("dWx", "dWh", "db"), fast.grads, ref.grads):
            _close(g, r, f"{name}, window {window}")


def test_textbook_reference_is_the_fixed_seed_layer():
    """The reference multiplies by dh_next (the seed 002 defect) and follows the params' dtype."""
    rng = np.random.default_rng(0)
    Wx, Wh, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 3)), rng.standard_normal(3)
    ref = textbook.TimeRNN(Wx, Wh, b)
    hs = ref.forward(rng.standard_normal((2, 4, 2)))
    assert hs.dtype == np.float64
    zero = ref.backward(np.zeros_like(hs))
    assert not zero.any() and not any(g.any() for g in ref.grads)


def _close64(fast, ref, what):
    fast, ref = np.asarray(fast), np.asarray(ref)
    assert fast.shape == ref.shape and fast.dtype == ref.dtype == np.float64, what
    np.testing.assert_allclose(fast, ref, rtol=1e-10, atol=1e-12, err_msg=what)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gated_layers_match_the_textbook_cells_in_float64(cell):
    """Outputs, dxs, every gradient, the carried state (h, and c for the LSTM) and dh (dc),
    over two stateful windows and then a fresh state for another batch size."""
    fast_cls, ref_cls, k = {"lstm": (TimeLSTM, textbook.TimeLSTM, 4),
                            "gru": (TimeGRU, textbook.TimeGRU, 3)}[cell]
    rng = np.random.default_rng(7)
    D, H = 3, 5
    Wx, Wh = rng.standard_normal((D, k * H)), rng.standard_normal((H, k * H)) * 0.6
    b = rng.standard_normal(k * H) * 0.5
    fast = fast_cls(Wx.copy(), Wh.copy(), b.copy(), stateful=True)
    ref = ref_cls(Wx.copy(), Wh.copy(), b.copy(), stateful=True)
    names = ("h", "c") if cell == "lstm" else ("h",)
    for window, N in enumerate((4, 4, 2)):
        xs, dhs = rng.standard_normal((N, 6, D)), rng.standard_normal((N, 6, H))
        _close64(fast.forward(xs), ref.forward(xs), f"hs, window {window}")
        for name in names:
            _close64(getattr(fast, name), getattr(ref, name), f"{name}, window {window}")
        _close64(fast.backward(dhs), ref.backward(dhs), f"dxs, window {window}")
        for name in names:
            _close64(getattr(fast, "d" + name), getattr(ref, "d" + name), f"d{name}, window {window}")
        for name, g, r in zip(("dWx", "dWh", "db"), fast.grads, ref.grads):
            _close64(g, r, f"{name}, window {window}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("T,ulps", [(1, 4), (6, 64)])
def test_tanh_from_exp_agrees_with_np_tanh_and_saturates_exactly(monkeypatch, dtype, T, ulps):
    """From rnn.EXP_TANH_MIN elements a step the forward computes tanh from exp: one step
    agrees with np.tanh to a few ulps of 1, several steps (errors carried through Wh) to the
    textbook match's 64; exactly -1 and 1 where exp overflows or underflows, without
    warnings; smaller layers keep np.tanh."""
    from trainer.layers import rnn as rnn_module
    rng = np.random.default_rng(7)
    N, D, H = 4, 2, 8
    Wx = rng.standard_normal((D, H)).astype(dtype)
    Wh = (rng.standard_normal((H, H)) / np.sqrt(H)).astype(dtype)
    b = (rng.standard_normal(H) * 0.1).astype(dtype)
    xs = rng.standard_normal((N, T, D)).astype(dtype)
    xs[0] *= 1e8                                       # row 0 saturates
    plain = TimeRNN(Wx, Wh, b).forward(xs)
    monkeypatch.setattr(rnn_module, "EXP_TANH_MIN", N * H)
    with np.errstate(all="raise"):
        from_exp = TimeRNN(Wx, Wh, b).forward(xs)
    assert from_exp.dtype == dtype
    assert float(np.abs(from_exp - plain).max()) <= ulps * np.finfo(dtype).eps
    assert np.all(np.abs(from_exp[0]) == 1) and np.array_equal(from_exp[0], plain[0])
    monkeypatch.setattr(rnn_module, "EXP_TANH_MIN", N * H + 1)
    np.testing.assert_array_equal(TimeRNN(Wx, Wh, b).forward(xs), plain)
