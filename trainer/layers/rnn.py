"""The vanilla tanh RNN: one cell (`RNN`) and the layer unrolled over time (`TimeRNN`)."""
import numpy as np


class RNN:
    """One tanh RNN step, h_next = tanh(h_prev @ Wh + x @ Wx + b), as in the textbook."""

    def __init__(self, Wx, Wh, b):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.cache = None

    def forward(self, x, h_prev):
        Wx, Wh, b = self.params
        x = np.asarray(x, dtype=Wx.dtype)            # (N, D)
        h_prev = np.asarray(h_prev, dtype=Wx.dtype)  # (N, H)
        h_next = np.tanh(h_prev @ Wh + x @ Wx + b)   # (N, H)
        self.cache = (x, h_prev, h_next)
        return h_next

    def backward(self, dh_next):
        Wx, Wh, b = self.params
        x, h_prev, h_next = self.cache
        dt = dh_next * (1 - h_next ** 2)             # (N, H)
        self.grads[0][...] = x.T @ dt
        self.grads[1][...] = h_prev.T @ dt
        self.grads[2][...] = _reduce_to(dt, b.shape)
        return dt @ Wx.T, dt @ Wh.T                  # dx (N, D), dh_prev (N, H)


class TimeRNN:
    """T steps of the tanh RNN over xs of shape (N, T, D); carries `h` between calls if stateful.

    Computed as the textbook layer is, but without a cell object per step: the
    input projection and the weight gradients are single matrix products over
    all N*T rows, and only the recurrence runs in the time loop. Work buffers
    are kept and reused while the shapes stay the same.
    """

    def __init__(self, Wx, Wh, b, stateful=False):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.stateful = stateful
        self.h = None   # (N, H) state after the last forward
        self.dh = None  # (N, H) gradient into the state the last forward started from
        self._buf = {}
        self._xs = None
        self._h0 = None

    def set_state(self, h):
        self.h = np.array(h, dtype=self.params[0].dtype)

    def reset_state(self):
        self.h = None

    def _buffers(self, N, T, D, H, dtype):
        key = (N, T, D, H, dtype)
        if self._buf.get("key") != key:
            self._buf = {
                "key": key,
                "hs": np.empty((T + 1, N, H), dtype),  # hs[0] is the start state
                "a": np.empty((T, N, H), dtype),
                "dt": np.empty((T, N, H), dtype),
                "xt": np.empty((T, N, D), dtype),
                "step": np.empty((N, H), dtype),
            }
        return self._buf

    def forward(self, xs):
        Wx, Wh, b = self.params
        dtype = Wx.dtype
        N, T, D = xs.shape
        H = Wh.shape[0]
        buf = self._buffers(N, T, D, H, dtype)
        hs, a, xt = buf["hs"], buf["a"], buf["xt"]

        if self.stateful and self.h is not None and self.h.shape == (N, H):
            hs[0] = self.h
        else:  # a fresh state, also when the batch size changed
            hs[0] = 0
        xt[...] = xs.transpose(1, 0, 2)                             # (T, N, D)
        np.matmul(xt.reshape(T * N, D), Wx, out=a.reshape(T * N, H))
        a += b                                                       # (T, N, H)
        for t in range(T):
            np.matmul(hs[t], Wh, out=hs[t + 1])
            hs[t + 1] += a[t]
            np.tanh(hs[t + 1], out=hs[t + 1])
        self.h = hs[T].copy()
        self._xs = xt
        return hs[1:].transpose(1, 0, 2).copy()                      # (N, T, H)

    def backward(self, dhs):
        Wx, Wh, b = self.params
        hs, dt = self._buf["hs"], self._buf["dt"]
        T, N, H = dt.shape
        D = Wx.shape[0]
        dht = np.asarray(dhs, dtype=Wx.dtype).transpose(1, 0, 2)    # (T, N, H)
        dh = self._buf["step"]
        dh[...] = 0
        for t in range(T - 1, -1, -1):
            np.add(dht[t], dh, out=dt[t])
            h = hs[t + 1]
            dt[t] *= 1 - h * h
            np.matmul(dt[t], Wh.T, out=dh)
        dt2 = dt.reshape(T * N, H)
        np.matmul(self._xs.reshape(T * N, D).T, dt2, out=self.grads[0])
        np.matmul(hs[:T].reshape(T * N, H).T, dt2, out=self.grads[1])
        self.grads[2][...] = _reduce_to(dt2, b.shape)
        self.dh = dh.copy()
        dxs = (dt2 @ Wx.T).reshape(T, N, D)
        return dxs.transpose(1, 0, 2).copy()                         # (N, T, D)


def _reduce_to(g, shape):
    """Sum a broadcast gradient g back down to a parameter of `shape` (the bias)."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g
