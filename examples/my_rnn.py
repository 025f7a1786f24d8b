"""A plug-in cell in the book's style: a tanh RNN written as a student would, one step at a time.

Check it, then train with it:

    train gradcheck examples/my_rnn.py:MyRNN
    train --config configs/sine.toml --set model.cell=examples/my_rnn.py:MyRNN

The trainer builds it as MyRNN(Wx, Wh, b, stateful=True) with Wx (D, H), Wh (H, H), b (H,)
and uses only the book's API: params, grads (written in place), forward, backward, set_state,
reset_state, h and dh.
"""
import numpy as np


class MyRNN:
    """h_t = tanh(h_{t-1} @ Wh + x_t @ Wx + b) over xs of shape (N, T, D)."""

    gates = 1              # blocks of H columns in Wx, Wh and b (an LSTM has 4)
    state_names = ("h",)   # what it carries between calls

    def __init__(self, Wx, Wh, b, stateful=False):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.stateful = stateful
        self.h, self.dh = None, None
        self.cache = None

    def set_state(self, h):
        self.h = np.array(h, dtype=self.params[0].dtype)

    def reset_state(self):
        self.h = None

    def forward(self, xs):
        Wx, Wh, b = self.params
        xs = np.asarray(xs, dtype=Wx.dtype)
        N, T, _ = xs.shape
        H = Wh.shape[0]
        if not self.stateful or self.h is None or self.h.shape != (N, H):
            self.h = np.zeros((N, H), dtype=Wx.dtype)
        hs = np.empty((N, T, H), dtype=Wx.dtype)
        prev = []
        for t in range(T):
            prev.append(self.h)
            self.h = np.tanh(self.h @ Wh + xs[:, t] @ Wx + b)
            hs[:, t] = self.h
        self.cache = (xs, prev, hs)
        return hs

    def backward(self, dhs):
        Wx, Wh, b = self.params
        xs, prev, hs = self.cache
        dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
        dxs = np.empty_like(xs)
        dh = np.zeros_like(hs[:, 0])
        for t in reversed(range(xs.shape[1])):
            dt = (dhs[:, t] + dh) * (1 - hs[:, t] ** 2)     # through the tanh
            dWx += xs[:, t].T @ dt
            dWh += prev[t].T @ dt
            db += dt.sum(axis=0)
            dxs[:, t] = dt @ Wx.T
            dh = dt @ Wh.T
        self.grads[0][...], self.grads[1][...], self.grads[2][...] = dWx, dWh, db
        self.dh = dh
        return dxs
