"""A dense layer applied at every time step."""
import numpy as np


class TimeAffine:
    """ys = xs @ W + b for xs of shape (N, T, H), as one matrix product over all N*T rows.

    Rows are taken in the order they lie in memory: when xs is an (N, T, H) view
    of time-major memory (as TimeRNN returns), the product runs on that memory
    without a copy and ys is returned the same way, as an (N, T, O) view.
    """

    def __init__(self, W, b):
        self.params = [W, b]
        self.grads = [np.zeros_like(W), np.zeros_like(b)]
        self._x2 = None
        self._time_major = False

    def forward(self, xs):
        W, b = self.params
        N, T, H = xs.shape
        self._time_major = tm = _is_time_major(xs)
        rows = np.swapaxes(xs, 0, 1) if tm else xs
        self._x2 = x2 = np.asarray(rows, dtype=W.dtype).reshape(N * T, H)  # (N*T, H)
        ys = np.dot(x2, W)                   # np.dot: BLAS for every shape (matmul is not, e.g. O=1)
        ys += b
        return _unrows(ys, N, T, tm)                                     # (N, T, O)

    def backward(self, dys):
        W, _ = self.params
        N, T, O = dys.shape
        tm = self._time_major
        rows = np.swapaxes(dys, 0, 1) if tm else dys
        d2 = np.ascontiguousarray(rows, dtype=W.dtype).reshape(N * T, O)  # (N*T, O)
        np.dot(self._x2.T, d2, out=self.grads[0])
        np.add.reduce(d2, axis=0, out=self.grads[1])  # what np.sum calls, without its ~1.5 us wrapper
        return _unrows(np.dot(d2, W.T), N, T, tm)                               # (N, T, H)


def _is_time_major(xs):
    """True when xs (N, T, .) is a view of C-ordered (T, N, .) memory, and not C-ordered itself."""
    return not xs.flags.c_contiguous and np.swapaxes(xs, 0, 1).flags.c_contiguous


def _unrows(a2, N, T, time_major):
    """(N*T, K) rows in the given order back to an (N, T, K) array (a view when time-major)."""
    if time_major:
        return np.swapaxes(a2.reshape(T, N, -1), 0, 1)
    return a2.reshape(N, T, -1)
