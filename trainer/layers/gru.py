"""The GRU layer unrolled over time (`TimeGRU`), gates in the order z, r, h~ as in the textbook."""
import numpy as np

from trainer.layers.recurrent import Recurrent


class TimeGRU(Recurrent):
    """T steps of a GRU over xs of shape (N, T, D); carries `h` between calls if stateful.

    Parameters: Wx (D, 3H), Wh (H, 3H), b (3H,), their columns in blocks
    z, r, h~ (update gate, reset gate, candidate), as in the textbook's GRU:
        z = sigmoid(x @ Wxz + h_prev @ Whz + bz)
        r = sigmoid(x @ Wxr + h_prev @ Whr + br)
        h~ = tanh(x @ Wxh + (r * h_prev) @ Whh + bh)
        h_next = (1 - z) * h_prev + z * h~.
    Computed as TimeRNN and TimeLSTM are: time-major (T, N, .) buffers kept per
    shape, the bias as a column of ones on the inputs, the input projection and
    all weight and input gradients as single products over the N*T rows; only
    the recurrence runs in the Python loop. Inside, each forward copies the
    weights into the order r, z, h~ with the sigmoid gates' columns halved, so
    that one tanh over the (N, 2H) gate block computes both gates: sigmoid(a) =
    (1 + tanh(a / 2)) / 2, which cannot overflow. Gradients are taken with
    respect to these internal weights and mapped back (reordered, halved).
    After backward, `dh` holds the gradient into the state the forward started
    from. Outputs are fresh arrays, (N, T, .) views of time-major memory.
    """

    gates = 3   # blocks of H columns in Wx, Wh and b (how a plug-in spec sizes it)

    def forward(self, xs):
        Wx, Wh, b = self.params
        dtype = Wx.dtype
        N, T, D, H, buf = self._begin(xs, _Buffers)
        W, Wrz, Whh, tmp, tmpH = buf.W, buf.Wrz, buf.Whh, buf.tmp, buf.tmpH
        b = b.reshape(3 * H)
        _swap_gates(W[:D, :2 * H], Wx[:, :2 * H], H)     # [Wx; b] internal (D+1, 3H)
        W[:D, 2 * H:] = Wx[:, 2 * H:]
        _swap_gates(W[D, :2 * H], b[:2 * H], H)
        W[D, 2 * H:] = b[2 * H:]
        _swap_gates(Wrz, Wh[:, :2 * H], H)               # internal (H, 2H)
        Whh[...] = Wh[:, 2 * H:]                         # (H, H)
        buf.xa[:, :, :D] = np.swapaxes(xs, 0, 1)         # (T, N, D+1), last column ones
        np.dot(buf.xa.reshape(T * N, D + 1), W, buf.a.reshape(T * N, 3 * H))
        hs = np.empty((T + 1, N, H), dtype)              # hs[0] is the start state
        if self._carried(N, H):
            hs[0] = self.h
        else:  # a fresh state, also when the batch size changed
            hs[0] = 0
        dot, add, sub, mul, tanh = np.dot, np.add, np.subtract, np.multiply, np.tanh
        steps = list(hs)
        for h_prev, h_next, (a_rz, a_h, r, z, rh) in zip(steps, steps[1:], buf.fwd_steps):
            dot(h_prev, Wrz, tmp)
            add(a_rz, tmp, a_rz)
            tanh(a_rz, a_rz)
            mul(a_rz, 0.5, a_rz)
            add(a_rz, 0.5, a_rz)                         # r, z = sigmoid
            mul(r, h_prev, rh)
            dot(rh, Whh, tmpH)
            add(a_h, tmpH, a_h)
            tanh(a_h, a_h)                               # h~
            sub(a_h, h_prev, tmpH)
            mul(z, tmpH, tmpH)
            add(h_prev, tmpH, h_next)                    # h_prev + z * (h~ - h_prev)
        self.h = hs[T].copy()
        self._fwd = (buf, hs)
        return np.swapaxes(hs[1:], 0, 1)                 # (N, T, H) view of fresh memory

    def backward(self, dhs):
        # What each buffer holds, phase by phase. Internally the sigmoid gates r, z have
        # halved preactivations u = a / 2 (sigmoid(a) = (1 + tanh(u)) / 2), so "the gradient at
        # a gate's preactivation" below means dL/du, which is what the internal weights need.
        #   buf.a  (T, N, 3H)  from forward, unchanged: the gate values r | z | h~ of every step
        #   hs     (T+1, N, H) from forward, unchanged: the states; hs[:T] is each step's h_prev
        #   buf.rh (T, N, H)   from forward, unchanged: r * h_prev (the input of Whh)
        Wx = self.params[0]
        buf, hs = self._fwd
        N, T, D, H = self._shape
        H3 = 3 * H
        gates, p, omz = buf.a, buf.da, buf.omz               # (T, N, 3H) gates r, z, h~
        z, ht, s, h_prev = gates[..., H:2 * H], gates[..., 2 * H:], gates[..., :2 * H], hs[:T]
        # Phase 1, all steps at once. p (buf.da) gets the factor that turns a gradient arriving
        # from above into the gradient at each block's preactivation:
        #   r block: 2 r(1-r) * h_prev   (times dL/d(r*h_prev) in the loop)
        #   z block: 2 z(1-z) * (h~ - h_prev)   (times dL/dh_t in the loop)
        #   h~ block: z * (1 - h~^2)   (times dL/dh_t in the loop)
        # omz (buf.omz) holds h~ - h_prev while the z factor is made, then 1 - z for good.
        np.subtract(1, s, p[..., :2 * H])
        np.multiply(p[..., :2 * H], s, p[..., :2 * H])
        np.multiply(p[..., :2 * H], 2, p[..., :2 * H])       # r, z: sigmoid' of halved input
        np.multiply(p[..., :H], h_prev, p[..., :H])          # r:  h_prev * .  (times d(r*h))
        np.subtract(ht, h_prev, omz)                         # omz: h~ - h_prev (for now)
        np.multiply(p[..., H:2 * H], omz, p[..., H:2 * H])   # z:  (h~ - h_prev) * .
        np.multiply(ht, ht, p[..., 2 * H:])
        np.subtract(1, p[..., 2 * H:], p[..., 2 * H:])
        np.multiply(p[..., 2 * H:], z, p[..., 2 * H:])       # h~: z * tanh'
        np.subtract(1, z, omz)                               # omz: 1 - z (from here on)
        # buf.dhs: the gradient arriving from above at each h_t (the layer's output), until the
        # loop adds what comes back from step t+1 and it becomes the total gradient into h_t.
        buf.dhs[...] = np.swapaxes(dhs, 0, 1)                # (T, N, H), cast to the params' dtype
        # dh (buf.dh): the gradient into the state entering the step just done, h_{t-1}, handed
        # to the step before; zero before the last step. drh (buf.drh) and tmpH (buf.tmpH) are
        # per-step scratch: drh is dL/d(r*h_prev), then r times it; tmpH is (1 - z) * dL/dh_t.
        dh, drh, tmpH = buf.dh, buf.drh, buf.tmpH
        dh[...] = 0
        dot, add, mul = np.dot, np.add, np.multiply
        # per-step products with a transposed view are 2x slower than with a contiguous copy
        WrzT, WhhT = np.ascontiguousarray(buf.Wrz.T), np.ascontiguousarray(buf.Whh.T)
        # Phase 2, step by step from the last: each step turns its row of p from factors into
        # the gradient at the preactivations (da_r, da_zh are views of p[t]) and computes dh.
        for dh_t, dh_t1, da_rz, da_zh, da_r, da_h, r, omz_t in reversed(buf.bwd_steps):
            add(dh_t, dh, dh_t)                          # dhs[t]: total gradient into h_t
            mul(da_zh, dh_t1, da_zh)                     # p[t] z, h~ blocks: dL/du_z, dL/da_h~
            dot(da_h, WhhT, drh)                         # drh: into r * h_prev
            mul(da_r, drh, da_r)                         # p[t] r block: dL/du_r
            dot(da_rz, WrzT, dh)                         # dh: into h_{t-1}: through the gates,
            mul(drh, r, drh)                             # drh: r * dL/d(r*h_prev)
            add(dh, drh, dh)                             # through r * h_prev,
            mul(dh_t, omz_t, tmpH)                       # tmpH: (1 - z) * dL/dh_t
            add(dh, tmpH, dh)                            # and directly
        # Phase 3: p holds dL/d(preactivation) of every step and gate; dh the gradient into
        # the start state. The weight gradients and dxs are single products over the N*T rows
        # (buf.dW, buf.dWrz, buf.dWhh hold them for the internal weights), mapped back to the
        # parameters' z, r, h~ order and scale by _swap_gates.
        self.dh = dh.copy()
        da2 = p.reshape(T * N, H3)
        dW = buf.dW
        np.dot(buf.xa.reshape(T * N, D + 1).T, da2, dW)  # internal [dWx; db] (D+1, 3H)
        gx, gh, gb = self.grads[0], self.grads[1], self.grads[2].reshape(H3)
        _swap_gates(gx[:, :2 * H], dW[:D, :2 * H], H)
        gx[:, 2 * H:] = dW[:D, 2 * H:]
        _swap_gates(gb[:2 * H], dW[D, :2 * H], H)
        gb[2 * H:] = dW[D, 2 * H:]
        np.dot(h_prev.reshape(T * N, H).T, da2[:, :2 * H], buf.dWrz)   # (H, 2H)
        _swap_gates(gh[:, :2 * H], buf.dWrz, H)
        np.dot(buf.rh.reshape(T * N, H).T, da2[:, 2 * H:], buf.dWhh)   # (H, H)
        gh[:, 2 * H:] = buf.dWhh
        dxs = np.empty((T, N, D), Wx.dtype)
        np.dot(da2, buf.W[:D].T, dxs.reshape(T * N, D))
        return np.swapaxes(dxs, 0, 1)                    # (N, T, D) view of fresh memory


def _swap_gates(dst, src, H):
    """Gate columns z|r of src into dst as r|z, halved: weights in, and their gradients out."""
    np.multiply(src[..., H:2 * H], 0.5, dst[..., :H])
    np.multiply(src[..., :H], 0.5, dst[..., H:2 * H])


class _Buffers:
    """Work arrays of one TimeGRU (N, T, D, H, dtype), with their per-step views made once."""

    def __init__(self, N, T, D, H, dtype):
        self.xa = np.empty((T, N, D + 1), dtype)     # inputs with a column of ones (the bias)
        self.xa[:, :, D] = 1
        self.W = np.empty((D + 1, 3 * H), dtype)     # internal [Wx; b]
        self.Wrz = np.empty((H, 2 * H), dtype)       # internal Wh of the gates r, z
        self.Whh = np.empty((H, H), dtype)           # Wh of the candidate h~
        self.dW = np.empty((D + 1, 3 * H), dtype)
        self.dWrz = np.empty((H, 2 * H), dtype)
        self.dWhh = np.empty((H, H), dtype)
        self.a = np.empty((T, N, 3 * H), dtype)      # preactivations, then r, z, h~
        self.rh = np.empty((T, N, H), dtype)         # r * h_prev
        self.da = np.empty((T, N, 3 * H), dtype)     # gradient at the (internal) preactivations
        self.omz = np.empty((T, N, H), dtype)        # 1 - z
        self.dhs = np.empty((T, N, H), dtype)        # incoming, then total, gradient into h_t
        self.tmp = np.empty((N, 2 * H), dtype)
        self.tmpH = np.empty((N, H), dtype)
        self.dh = np.empty((N, H), dtype)
        self.drh = np.empty((N, H), dtype)
        a, da, da3 = self.a, self.da, self.da.reshape(T, N, 3, H)
        self.fwd_steps = [(a[t, :, :2 * H], a[t, :, 2 * H:], a[t, :, :H], a[t, :, H:2 * H],
                           self.rh[t]) for t in range(T)]
        self.bwd_steps = [(self.dhs[t], self.dhs[t][:, None, :], da[t, :, :2 * H], da3[t, :, 1:],
                           da[t, :, :H], da[t, :, 2 * H:], a[t, :, :H], self.omz[t])
                          for t in range(T)]
