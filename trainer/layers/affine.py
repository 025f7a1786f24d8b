"""A dense layer applied at every time step."""
import numpy as np


class TimeAffine:
    """ys = xs @ W + b for xs of shape (N, T, H), as one matrix product over all N*T rows."""

    def __init__(self, W, b):
        self.params = [W, b]
        self.grads = [np.zeros_like(W), np.zeros_like(b)]
        self._x2 = None

    def forward(self, xs):
        W, b = self.params
        N, T, H = xs.shape
        self._x2 = np.asarray(xs, dtype=W.dtype).reshape(N * T, H)  # (N*T, H)
        ys = self._x2 @ W
        ys += b
        return ys.reshape(N, T, -1)                                  # (N, T, O)

    def backward(self, dys):
        W, _ = self.params
        N, T, O = dys.shape
        d2 = np.asarray(dys, dtype=W.dtype).reshape(N * T, O)       # (N*T, O)
        np.matmul(self._x2.T, d2, out=self.grads[0])
        np.sum(d2, axis=0, out=self.grads[1])
        return (d2 @ W.T).reshape(N, T, -1)                          # (N, T, H)
