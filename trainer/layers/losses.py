"""Time-distributed losses with masks: only the scored steps count, averaged over them."""
import numpy as np


def _weights(mask, shape, dtype):
    """The (N, T) weight of each step and their sum (at least 1, so an empty mask gives 0 loss)."""
    if mask is None:
        w = np.ones(shape, dtype)
    else:
        w = np.asarray(mask, dtype=dtype)
        if w.shape != shape:
            raise ValueError(f"mask has shape {w.shape}, expected {shape}")
    return w, max(float(w.sum()), 1.0)


class TimeSoftmaxWithLoss:
    """Mean cross-entropy of softmax(xs) (N, T, V) against integer targets ts (N, T).

    Steps whose target is `ignore_label`, or whose `mask` is 0, are not scored.
    The softmax is shifted by its maximum and the log is taken of the shifted
    sums, so no logit overflows and no probability is logged as 0.
    """

    def __init__(self, ignore_label=-1):
        self.params, self.grads = [], []
        self.ignore_label = ignore_label
        self._cache = None

    def forward(self, xs, ts, mask=None):
        N, T, V = xs.shape
        ts = np.asarray(ts)
        w = _weights(mask, (N, T), xs.dtype)[0] * (ts != self.ignore_label)
        total = max(float(w.sum()), 1.0)
        safe_ts = np.where(ts == self.ignore_label, 0, ts)
        shifted = xs - xs.max(axis=2, keepdims=True)                 # (N, T, V)
        e = np.exp(shifted)
        s = e.sum(axis=2, keepdims=True)
        logp = np.take_along_axis(shifted, safe_ts[..., None], axis=2)[..., 0] - np.log(s[..., 0])
        self._cache = (e / s, safe_ts, w, total)
        return float(-(logp * w).sum() / total)

    def backward(self, dout=1.0):
        p, ts, w, total = self._cache
        dx = p.copy()                                                 # (N, T, V)
        np.put_along_axis(dx, ts[..., None], np.take_along_axis(dx, ts[..., None], axis=2) - 1, axis=2)
        dx *= (w * (dout / total))[..., None]
        return dx


class TimeMSE:
    """Mean squared error over the scored steps and all output dimensions of ys (N, T, O)."""

    def __init__(self):
        self.params, self.grads = [], []
        self._cache = None

    def forward(self, ys, ts, mask=None):
        N, T, O = ys.shape
        diff = ys - np.asarray(ts, dtype=ys.dtype).reshape(N, T, O)  # (N, T, O)
        if mask is None:  # every step scored: no weights to make or multiply by
            total = max(N * T, 1) * O
            self._cache = (diff, None, total)
            return float(np.vdot(diff, diff) / total)
        w, total = _weights(mask, (N, T), ys.dtype)
        total *= O
        self._cache = (diff, w, total)
        return float((diff * diff * w[..., None]).sum() / total)

    def backward(self, dout=1.0):
        diff, w, total = self._cache
        if w is None:
            return diff * (2.0 * dout / total)
        return diff * (w * (2.0 * dout / total))[..., None]


class TimeSigmoidWithLoss:
    """Mean binary cross-entropy of sigmoid(xs) (N, T, O) against 0/1 labels ts (N, T, O),
    over the steps whose `mask` is 1 and all O labels: a multi-label target per step.

    Computed from the logits as max(x, 0) - x*t + log(1 + exp(-|x|)), which
    neither overflows nor takes the log of 0.
    """

    def __init__(self):
        self.params, self.grads = [], []
        self._cache = None

    def forward(self, xs, ts, mask=None):
        N, T, O = xs.shape
        ts = np.asarray(ts, dtype=xs.dtype)
        w, total = _weights(mask, (N, T), xs.dtype)
        total *= O
        bce = np.maximum(xs, 0) - xs * ts + np.log1p(np.exp(-np.abs(xs)))   # (N, T, O)
        self._cache = (xs, ts, w, total)
        return float((bce * w[..., None]).sum() / total)

    def backward(self, dout=1.0):
        xs, ts, w, total = self._cache
        p = np.exp(-np.logaddexp(0, -xs))                                    # sigmoid, safely
        return (p - ts) * (w * (dout / total))[..., None]
