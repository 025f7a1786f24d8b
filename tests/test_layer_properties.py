"""Property-based: the fast layers (TimeRNN, TimeLSTM, TimeGRU) compute what the textbook layers
compute, for any N, T, D, H (1 included) and any sequence of window shapes, past the work buffers
the fast layers keep for their last few shapes (recurrent.KEEP_SHAPES).

Over a sequence of stateful windows, each of its own (N, T) (D and H fixed by the weights), the
outputs, dxs, every gradient, the carried state (h, and c for the LSTM) and its gradient agree to
float64 rounding; what an earlier call returned is never overwritten by a later one; the grads
stay the same arrays (written in place).
"""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from trainer.layers import TimeGRU, TimeLSTM, TimeRNN, rnn as rnn_module, textbook
from trainer.layers.recurrent import KEEP_SHAPES

CELLS = {"rnn": (TimeRNN, textbook.TimeRNN, 1), "lstm": (TimeLSTM, textbook.TimeLSTM, 4),
         "gru": (TimeGRU, textbook.TimeGRU, 3)}

# a window's (N, T); few distinct values so that shapes recur, after others have evicted them
shapes = st.tuples(st.sampled_from([1, 2, 3, 5]), st.sampled_from([1, 2, 4, 7]))


def _close(fast, ref, what):
    fast, ref = np.asarray(fast), np.asarray(ref)
    assert fast.shape == ref.shape and fast.dtype == ref.dtype == np.float64, what
    np.testing.assert_allclose(fast, ref, rtol=1e-9, atol=1e-11, err_msg=what)


@settings(max_examples=40, deadline=None)
@given(cell=st.sampled_from(sorted(CELLS)), D=st.integers(1, 4), H=st.integers(1, 6),
       windows=st.lists(shapes, min_size=1, max_size=2 * KEEP_SHAPES + 2),
       resets=st.lists(st.booleans(), min_size=2 * KEEP_SHAPES + 2, max_size=2 * KEEP_SHAPES + 2),
       stateful=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_fast_layers_equal_the_textbook_layers(cell, D, H, windows, resets, stateful, seed):
    _check(cell, D, H, windows, resets, stateful, seed)


@settings(max_examples=8, deadline=None)
@given(N=st.sampled_from([24, 32, 48, 64]), T=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_the_rnn_computing_tanh_from_exp_equals_the_textbook(N, T, seed):
    """From EXP_TANH_MIN elements a step the fast RNN computes its tanh from exp: H large
    enough that N * H reaches it, alternating with a small batch below it."""
    H = -(-rnn_module.EXP_TANH_MIN // N)
    _check("rnn", 2, H, [(N, T), (1, T), (N, T)], [False] * 3, True, seed)


def _check(cell, D, H, windows, resets, stateful, seed):
    fast_cls, ref_cls, k = CELLS[cell]
    rng = np.random.default_rng(seed)
    Wx = rng.standard_normal((D, k * H)) / np.sqrt(D)
    Wh = rng.standard_normal((H, k * H)) * 0.6 / np.sqrt(H)
    b = rng.standard_normal(k * H) * 0.5
    fast = fast_cls(Wx.copy(), Wh.copy(), b.copy(), stateful=stateful)
    ref = ref_cls(Wx.copy(), Wh.copy(), b.copy(), stateful=stateful)
    grads = list(fast.grads)
    names = ("h", "c") if cell == "lstm" else ("h",)
    held = []   # (array a call returned, a copy of it then)
    for i, ((N, T), reset) in enumerate(zip(windows, resets)):
        if reset:
            fast.reset_state()
            ref.reset_state()
        xs, dhs = rng.standard_normal((N, T, D)), rng.standard_normal((N, T, H))
        hs = fast.forward(xs)
        _close(hs, ref.forward(xs), f"hs, window {i} {(N, T)}")
        for name in names:
            _close(getattr(fast, name), getattr(ref, name), f"{name}, window {i}")
        dxs = fast.backward(dhs)
        _close(dxs, ref.backward(dhs), f"dxs, window {i} {(N, T)}")
        for name in names:
            _close(getattr(fast, "d" + name), getattr(ref, "d" + name), f"d{name}, window {i}")
        for name, g, r in zip(("dWx", "dWh", "db"), fast.grads, ref.grads):
            _close(g, r, f"{name}, window {i} {(N, T)}")
        assert all(g is h for g, h in zip(fast.grads, grads)), "grads rebound, not written in place"
        held += [(hs, hs.copy()), (dxs, dxs.copy())]
        held += [(getattr(fast, name), getattr(fast, name).copy()) for name in names]
    for i, (array, then) in enumerate(held):
        assert np.array_equal(array, then), f"returned array {i} was overwritten by a later call"
