"""Token input: a lookup table row per token id."""
import numpy as np


class TimeEmbedding:
    """ys[n, t] = W[ids[n, t]] for integer ids of shape (N, T); W is (V, D)."""

    def __init__(self, W):
        self.params = [W]
        self.grads = [np.zeros_like(W)]
        self._ids = None

    def forward(self, ids):
        W, = self.params
        self._ids = np.asarray(ids)
        return W[self._ids]                                          # (N, T, D)

    def backward(self, dys):
        W, = self.params
        dW = self.grads[0]
        dW[...] = 0
        np.add.at(dW, self._ids.ravel(), np.asarray(dys, dtype=W.dtype).reshape(-1, W.shape[1]))
        return None  # token ids have no gradient
