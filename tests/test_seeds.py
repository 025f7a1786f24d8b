"""The numbers printed in the seed notebooks, reproduced by the project's layers."""
import numpy as np

from trainer.layers import RNN, TimeRNN


def test_seed_000_cell_forward_and_backward():
    N, H, D = 5, 3, 2
    rnn = RNN(np.ones((D, H)), np.ones((H, H)), np.ones(H))
    ids = [id(g) for g in rnn.grads]
    x = np.arange(N * D).reshape(N, D)
    h = rnn.forward(x, np.zeros((N, H)))
    np.testing.assert_allclose(h[:, 0], [0.96402758, 0.99998771, 1.0, 1.0, 1.0], atol=5e-9)
    dx, dh_prev = rnn.backward(h)
    col = [2.0433e-01, 7.3729e-05, 2.4734e-08, 8.2974e-12, 2.6645e-15]
    np.testing.assert_allclose(dx, np.repeat(np.array(col)[:, None], D, axis=1), rtol=5e-4, atol=1e-15)
    np.testing.assert_allclose(dh_prev, np.repeat(np.array(col)[:, None], H, axis=1), rtol=5e-4, atol=1e-15)
    np.testing.assert_allclose(rnn.grads[0], [[4.9185e-05] * 3, [6.8183e-02] * 3], rtol=5e-4)
    np.testing.assert_array_equal(rnn.grads[1], np.zeros((H, H)))
    # The seed's bias was (N, H) and printed the batch sum broadcast to every row;
    # with the bias as the (H,) vector it stands for, that sum is the gradient.
    np.testing.assert_allclose(rnn.grads[2], [0.0681] * 3, atol=5e-5)
    assert [id(g) for g in rnn.grads] == ids  # seed 001: grads keep their identity


def test_seed_000_bias_tied_to_batch_gets_its_own_gradient():
    """With the seed's (N, H) bias, each row's bias gets that row's gradient (not the sum)."""
    N, H, D = 5, 3, 2
    rnn = RNN(np.ones((D, H)), np.ones((H, H)), np.ones((N, H)))
    h = rnn.forward(np.arange(N * D).reshape(N, D), np.zeros((N, H)))
    rnn.backward(h)
    np.testing.assert_allclose(rnn.grads[2], h * (1 - h ** 2))


def test_seed_004_forward_answer():
    x = np.array([[[1, 2], [2, 3], [3, 4]]]) / 100
    w_x = np.array([[1, 3, 5, 7], [3, 5, 7, 8]]) / 100
    w_h = np.array([[1, 3, 5, 7], [2, 4, 6, 8], [3, 5, 7, 8], [4, 6, 8, 10]]) / 100
    layer = TimeRNN(w_x, w_h, np.ones(4))
    hs = layer.forward(x)
    expected = [[0.76188798, 0.76213958, 0.76239095, 0.76255841],
                [0.792209, 0.8141834, 0.83404912, 0.84977719],
                [0.79494228, 0.81839002, 0.83939649, 0.85584174]]
    np.testing.assert_allclose(hs[0], expected, atol=5e-9)


def test_seed_002_dtype_follows_parameters(rng):
    """The seeds hard-code float32 ('f'); here float64 parameters give float64 everywhere."""
    for dtype in (np.float32, np.float64):
        Wx, Wh, b = (rng.standard_normal(s).astype(dtype) for s in ((2, 3), (3, 3), (3,)))
        layer = TimeRNN(Wx, Wh, b, stateful=True)
        hs = layer.forward(rng.standard_normal((4, 5, 2)))
        dxs = layer.backward(np.ones_like(hs))
        assert hs.dtype == dxs.dtype == layer.h.dtype == layer.dh.dtype == dtype
        assert all(g.dtype == dtype for g in layer.grads)
