"""The LSTM layer unrolled over time (`TimeLSTM`), gates in the textbook's order f, g, i, o."""
import numpy as np

from trainer.layers.recurrent import Recurrent


class TimeLSTM(Recurrent):
    """T steps of an LSTM over xs of shape (N, T, D); carries `h` and `c` between calls if stateful.

    Parameters as in the textbook: Wx (D, 4H), Wh (H, 4H), b (4H,), their
    columns in blocks f, g, i, o (forget, candidate, input, output), so that
        f, i, o = sigmoid(.), g = tanh(.)   of   a = x @ Wx + h_prev @ Wh + b
        c_next = f * c_prev + g * i,   h_next = o * tanh(c_next).
    Computed as TimeRNN is: time-major (T, N, .) buffers kept per shape, the
    bias as a column of ones on the inputs, the input projection and all weight
    and input gradients as single products over the N*T rows; only the
    recurrence runs in the Python loop. Inside, each forward copies the weights
    into the order g, f, i, o with the sigmoid gates' columns halved, so that
    one tanh over the whole (N, 4H) step computes every gate: sigmoid(a) =
    (1 + tanh(a / 2)) / 2, which cannot overflow. Gradients are taken with
    respect to these internal weights and mapped back (reordered, halved).
    After backward, `dh` and `dc` hold the gradient into the state the forward
    started from. Outputs are fresh arrays, (N, T, .) views of time-major memory.
    """

    def __init__(self, Wx, Wh, b, stateful=False):
        super().__init__(Wx, Wh, b, stateful)
        self.c = None   # (N, H) cell state after the last forward
        self.dc = None  # (N, H) gradient into the cell state the last forward started from

    def set_state(self, h, c=None):
        """Start the next (stateful) forward from h, and from c or a zero cell state."""
        dtype = self.params[0].dtype
        self.h = np.array(h, dtype=dtype)
        self.c = np.zeros_like(self.h) if c is None else np.array(c, dtype=dtype)

    def reset_state(self):
        self.h = self.c = None

    def forward(self, xs):
        Wx, Wh, b = self.params
        dtype = Wx.dtype
        N, T, D = xs.shape
        H = Wh.shape[0]
        buf = self._buffers((N, T, D, H, dtype), lambda: _Buffers(N, T, D, H, dtype))
        W, Whi, cs, tmp, tmpH = buf.W, buf.Wh, buf.cs, buf.tmp, buf.tmpH
        _gates_in(W[:D], Wx, H)                      # [Wx; b] internal (D+1, 4H)
        _gates_in(W[D], b.reshape(4 * H), H)
        _gates_in(Whi, Wh, H)                        # (H, 4H)
        buf.xa[:, :, :D] = np.swapaxes(xs, 0, 1)     # (T, N, D+1), last column ones
        np.dot(buf.xa.reshape(T * N, D + 1), W, buf.a.reshape(T * N, 4 * H))
        hs = np.empty((T + 1, N, H), dtype)          # hs[0] is the start state
        if self._carried(N, H):
            hs[0] = self.h
            cs[0] = 0 if self.c is None else self.c
        else:  # a fresh state, also when the batch size changed
            hs[0] = cs[0] = 0
        dot, add, mul, tanh = np.dot, np.add, np.multiply, np.tanh
        steps = list(hs)
        for h_prev, h_next, (a, s, g, f, i, o, c_prev, c_next, tc) in zip(steps, steps[1:],
                                                                         buf.fwd_steps):
            dot(h_prev, Whi, tmp)
            add(a, tmp, a)
            tanh(a, a)                               # g, and tanh(a/2) for f, i, o
            mul(s, 0.5, s)
            add(s, 0.5, s)                           # f, i, o = sigmoid
            mul(f, c_prev, c_next)
            mul(g, i, tmpH)
            add(c_next, tmpH, c_next)
            tanh(c_next, tc)
            mul(o, tc, h_next)
        self.h = hs[T].copy()
        self.c = cs[T].copy()
        self._fwd = (buf, hs)
        return np.swapaxes(hs[1:], 0, 1)             # (N, T, H) view of fresh memory

    def backward(self, dhs):
        Wx = self.params[0]
        buf, hs = self._fwd
        T, N, H4 = buf.a.shape
        H, D = H4 // 4, Wx.shape[0]
        gates, p, q, tc = buf.a, buf.da, buf.q, buf.tc   # (T, N, 4H) gates g, f, i, o
        g, i, o, s = gates[..., :H], gates[..., 2 * H:3 * H], gates[..., 3 * H:], gates[..., H:]
        # per-step factors for all steps at once; p becomes d loss / d preactivation in the loop
        np.multiply(g, g, p[..., :H])
        np.subtract(1, p[..., :H], p[..., :H])
        np.multiply(p[..., :H], i, p[..., :H])              # g:  i * tanh'
        np.subtract(1, s, p[..., H:])
        np.multiply(p[..., H:], s, p[..., H:])
        np.multiply(p[..., H:], 2, p[..., H:])               # f, i, o: sigmoid' of halved input
        np.multiply(p[..., H:2 * H], buf.cs[:T], p[..., H:2 * H])  # f:  c_prev * .
        np.multiply(p[..., 2 * H:3 * H], g, p[..., 2 * H:3 * H])   # i:  g * .
        np.multiply(p[..., 3 * H:], tc, p[..., 3 * H:])            # o:  tanh(c) * .
        np.multiply(tc, tc, q)
        np.subtract(1, q, q)
        np.multiply(q, o, q)                                 # d c / d h through h = o tanh(c)
        buf.dhs[...] = np.swapaxes(dhs, 0, 1)                # (T, N, H), cast to the params' dtype
        dh, dc, dc3, tmpH = buf.dh, buf.dc, buf.dc3, buf.tmpH
        dh[...] = 0
        dc[...] = 0
        dot, add, mul = np.dot, np.add, np.multiply
        WhT = np.ascontiguousarray(buf.Wh.T)         # per-step products with a transposed view are 2x slower
        for dh_t, q_t, da, da_gfi, da_o, f in reversed(buf.bwd_steps):
            add(dh_t, dh, dh_t)                      # total gradient into h_t
            mul(dh_t, q_t, tmpH)
            add(dc, tmpH, dc)                        # total gradient into c_t
            mul(da_gfi, dc3, da_gfi)
            mul(da_o, dh_t, da_o)
            mul(dc, f, dc)                           # into c_{t-1}
            dot(da, WhT, dh)                         # into h_{t-1}
        self.dh, self.dc = dh.copy(), dc.copy()
        da2 = p.reshape(T * N, H4)
        dW = buf.dW
        np.dot(buf.xa.reshape(T * N, D + 1).T, da2, dW)  # internal [dWx; db] (D+1, 4H)
        _gates_out(self.grads[0], dW[:D], H)
        _gates_out(self.grads[2].reshape(H4), dW[D], H)
        np.dot(hs[:T].reshape(T * N, H).T, da2, buf.dWh)  # internal dWh (H, 4H)
        _gates_out(self.grads[1], buf.dWh, H)
        dxs = np.empty((T, N, D), Wx.dtype)
        np.dot(da2, buf.W[:D].T, dxs.reshape(T * N, D))
        return np.swapaxes(dxs, 0, 1)                # (N, T, D) view of fresh memory


def _gates_in(dst, src, H):
    """Columns f|g|i|o of src into dst as g|f|i|o, the sigmoid gates' (f, i, o) halved."""
    dst[..., :H] = src[..., H:2 * H]
    np.multiply(src[..., :H], 0.5, dst[..., H:2 * H])
    np.multiply(src[..., 2 * H:], 0.5, dst[..., 2 * H:])


def _gates_out(dst, src, H):
    """A gradient for internal columns g|f|i|o as one for f|g|i|o (halved columns: half of it)."""
    np.multiply(src[..., H:2 * H], 0.5, dst[..., :H])
    dst[..., H:2 * H] = src[..., :H]
    np.multiply(src[..., 2 * H:], 0.5, dst[..., 2 * H:])


class _Buffers:
    """Work arrays of one TimeLSTM (N, T, D, H, dtype), with their per-step views made once."""

    def __init__(self, N, T, D, H, dtype):
        self.xa = np.empty((T, N, D + 1), dtype)     # inputs with a column of ones (the bias)
        self.xa[:, :, D] = 1
        self.W = np.empty((D + 1, 4 * H), dtype)     # internal [Wx; b]
        self.Wh = np.empty((H, 4 * H), dtype)        # internal Wh
        self.dW = np.empty((D + 1, 4 * H), dtype)
        self.dWh = np.empty((H, 4 * H), dtype)
        self.a = np.empty((T, N, 4 * H), dtype)      # preactivations, then gates g, f, i, o
        self.cs = np.empty((T + 1, N, H), dtype)     # cell states, cs[0] the start
        self.tc = np.empty((T, N, H), dtype)         # tanh(c_t)
        self.da = np.empty((T, N, 4 * H), dtype)     # gradient at the (internal) preactivations
        self.q = np.empty((T, N, H), dtype)          # o * tanh'(c_t)
        self.dhs = np.empty((T, N, H), dtype)        # incoming, then total, gradient into h_t
        self.tmp = np.empty((N, 4 * H), dtype)
        self.tmpH = np.empty((N, H), dtype)
        self.dh = np.empty((N, H), dtype)
        self.dc = np.empty((N, H), dtype)
        self.dc3 = self.dc[:, None, :]               # (N, 1, H), broadcast over gates g, f, i
        a, da4 = self.a, self.da.reshape(T, N, 4, H)
        self.fwd_steps = [(a[t], a[t, :, H:], a[t, :, :H], a[t, :, H:2 * H], a[t, :, 2 * H:3 * H],
                           a[t, :, 3 * H:], self.cs[t], self.cs[t + 1], self.tc[t])
                          for t in range(T)]
        self.bwd_steps = [(self.dhs[t], self.q[t], self.da[t], da4[t, :, :3], self.da[t, :, 3 * H:],
                           a[t, :, H:2 * H]) for t in range(T)]
