"""The GRU layer unrolled over time (`TimeGRU`), gates in the order z, r, h~ as in the textbook."""
import numpy as np

from trainer.layers.lstm import _constants, _swap_first_blocks, block_steps
from trainer.layers.recurrent import Recurrent, blocks_of, row_blocks


class TimeGRU(Recurrent):
    """T steps of a GRU over xs of shape (N, T, D); carries `h` between calls if stateful.

    Parameters: Wx (D, 3H), Wh (H, 3H), b (3H,), their columns in blocks
    z, r, h~ (update gate, reset gate, candidate), as in the textbook's GRU:
        z = sigmoid(x @ Wxz + h_prev @ Whz + bz)
        r = sigmoid(x @ Wxr + h_prev @ Whr + br)
        h~ = tanh(x @ Wxh + (r * h_prev) @ Whh + bh)
        h_next = (1 - z) * h_prev + z * h~.
    Computed as TimeLSTM is: feature-major, so that every gate of a step is a
    contiguous (H, N) block (numpy is two to three times slower on the strided
    (N, H) slices of a batch-major layout): step t multiplies z_t = [x_t; 1;
    h_{t-1}] (D+1+H, N) by the gates r, z and y_t = [x_t; 1; r * h_{t-1}] by the
    candidate's, one product each. Inside, the weights are held in the order r,
    z, h~ with the sigmoid gates' halved, so that one tanh over the (2H, N) block
    computes both gates: sigmoid(a) = (1 + tanh(a / 2)) / 2, which cannot
    overflow. Backward runs only the recurrence step by step; the weight and
    input gradients are one product per block of steps, as in TimeLSTM (see
    lstm.DW_BLOCK_COLUMNS). After backward, `dh` holds the gradient into the
    state the forward started from. Outputs are fresh arrays, (N, T, .) views of
    time-major memory.
    """

    gates = 3   # blocks of H columns in Wx, Wh and b (how a plug-in spec sizes it)

    def forward(self, xs):
        dtype = self.params[0].dtype
        N, T, D, H, buf = self._begin(xs, _Buffers)
        _forward_weights(buf, self.params, H)
        z, y, tmpH = buf.z, buf.y, buf.tmpH
        z[:T, :D] = np.transpose(xs, (1, 2, 0))          # (T, D, N); row D holds the ones
        y[:, :D] = z[:T, :D]
        if self._carried(N, H):
            z[0, D + 1:] = self.h.T
        else:  # a fresh state, also when the batch size changed
            z[0, D + 1:] = 0
        dot, add, sub, mul, tanh = np.dot, np.add, np.subtract, np.multiply, np.tanh
        half, = _constants(dtype, 0.5)
        Wrz_blocks, Wc_blocks = blocks_of(buf.Wrz, buf.rz_rows), blocks_of(buf.Wc, buf.c_rows)
        for z_t, y_t, rh, h_prev, h_next, (a_rz, r, u, ht), rz_blocks, c_blocks in zip(
                buf.z_steps, buf.y, buf.rh, buf.h_prev, buf.h_next, buf.gate_steps,
                buf.rz_blocks, buf.c_blocks):
            for W_k, a_k in zip(Wrz_blocks, rz_blocks):  # (2H, N): a_r / 2, a_z / 2
                dot(W_k, z_t, a_k)
            tanh(a_rz, a_rz)
            mul(a_rz, half, a_rz)
            add(a_rz, half, a_rz)                        # r, z = (1 + t) / 2
            mul(r, h_prev, rh)                           # y_t's rows D+1:
            for W_k, a_k in zip(Wc_blocks, c_blocks):
                dot(W_k, y_t, a_k)
            tanh(ht, ht)                                 # h~
            sub(ht, h_prev, tmpH)
            mul(u, tmpH, tmpH)
            add(h_prev, tmpH, h_next)                    # h_prev + z * (h~ - h_prev)
        self.h = z[T, D + 1:].T.copy()
        self._fwd = buf
        hs = np.empty((T, N, H), dtype)
        hs[...] = np.swapaxes(z[1:, D + 1:], 1, 2)       # (T, N, H)
        return np.swapaxes(hs, 0, 1)                     # (N, T, H) view of fresh memory

    def backward(self, dhs):
        # e: the gradient at each gate's preactivation a (not the internal, halved one), per
        # step (3H, N), blocks r, z, h~; the parameters' gradients are e z_t^T (r, z) and
        # e y_t^T (h~), and the gradient into z_t or y_t is the parameters (unscaled)^T e.
        buf = self._fwd
        N, T, D, H = self._shape
        dtype = buf.z.dtype
        Wx, Wh, _ = self.params                          # row copies, in the internal order:
        WhT_rz, WhT_c, WxT = buf.WhT_rz, buf.WhT_c, buf.WxT
        _swap_first_blocks(WhT_rz, Wh[:, :2 * H], H)      # (H, 2H): into h_prev through r, z
        WhT_c[...] = Wh[:, 2 * H:]                        # (H, H): into r * h_prev
        if self.input_grad:
            _swap_first_blocks(WxT, Wx, H)                # (D, 3H): r, z, h~
        drh_products = list(zip(blocks_of(WhT_c, buf.drh_rows), blocks_of(buf.drh, buf.drh_rows)))
        dh_products = list(zip(blocks_of(WhT_rz, buf.dh_rows), blocks_of(buf.dh, buf.dh_rows)))
        gates, P, omz = buf.a, buf.p, buf.omz             # (T, 3H, N): r, z, h~
        r, u, ht, h_prev = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:], buf.z[:T, D + 1:]
        # Phase 1, all steps at once: P holds the factors that turn a gradient arriving from
        # above into e: r block r(1-r) h_prev (times dL/d(r*h_prev)), z block z(1-z)(h~ - h_prev)
        # and h~ block z(1 - h~^2) (both times dL/dh_t); omz: h~ - h_prev, then 1 - z.
        one, = _constants(dtype, 1)
        Pr, Pz, Ph = P[:, :H], P[:, H:2 * H], P[:, 2 * H:]
        np.subtract(one, r, Pr)
        np.multiply(Pr, r, Pr)
        np.multiply(Pr, h_prev, Pr)
        np.subtract(ht, h_prev, omz)
        np.subtract(one, u, Pz)
        np.multiply(Pz, u, Pz)
        np.multiply(Pz, omz, Pz)
        np.multiply(ht, ht, Ph)
        np.subtract(one, Ph, Ph)
        np.multiply(Ph, u, Ph)
        np.subtract(one, u, omz)
        buf.dhs[...] = np.transpose(dhs, (1, 2, 0))      # (T, H, N), in the params' dtype
        dh, drh, tmpH, e = buf.dh, buf.drh, buf.tmpH, buf.e
        e_r, e_zh, e_h, e_rz = e[:H], e[H:].reshape(2, H, N), e[2 * H:], e[:2 * H]
        dh[...] = 0
        B, eb, zb, yb, dW_rz, dW_c = buf.B, buf.eb, buf.zb, buf.yb, buf.dW_rz, buf.dW_c
        dxs = np.empty((N, T, D), dtype) if self.input_grad else None
        dot, add, mul = np.dot, np.add, np.multiply
        first = True
        for t in range(T - 1, -1, -1):
            j = t % B
            g, P_t = buf.dhs[t], buf.p_steps[t]
            add(g, dh, g)                                # total gradient into h_t
            mul(P_t[1], g, e_zh)                         # e of z and h~
            for W_k, out_k in drh_products:              # into r * h_prev
                dot(W_k, e_h, out_k)
            mul(P_t[0], drh, e_r)                        # e of r
            for W_k, out_k in dh_products:               # into h_prev: through the gates,
                dot(W_k, e_rz, out_k)
            mul(drh, gates[t, :H], drh)
            add(dh, drh, dh)                             # through r * h_prev,
            mul(g, omz[t], tmpH)
            add(dh, tmpH, dh)                            # and directly
            np.copyto(buf.eb_steps[j], e)
            np.copyto(buf.zb_steps[j], buf.z[t])
            np.copyto(buf.yb_steps[j], buf.y[t])
            if j == 0:                                   # the block of steps t .. t+n-1 is done
                n = min(B, T - t)
                cols = slice(0, n * N)
                ebn = eb[:, cols]
                if first:
                    dot(ebn[:2 * H], zb[:, cols].T, dW_rz)
                    dot(ebn[2 * H:], yb[:, cols].T, dW_c)
                    first = False
                else:
                    dW_rz += dot(ebn[:2 * H], zb[:, cols].T)
                    dW_c += dot(ebn[2 * H:], yb[:, cols].T)
                if dxs is not None:                      # (D, n*N): into x of the block's steps
                    dx = dot(WxT, ebn)
                    dxs[:, t:t + n] = dx.reshape(D, n, N).transpose(2, 1, 0)
        self.dh = dh.T.copy()
        gx, gh, gb = self.grads[0], self.grads[1], self.grads[2].reshape(3 * H)
        for dst, rows in ((gx, slice(0, D)), (gb, D), (gh, slice(D + 1, None))):
            dst[..., :H] = dW_rz[H:, rows].T             # z
            dst[..., H:2 * H] = dW_rz[:H, rows].T        # r
            dst[..., 2 * H:] = dW_c[:, rows].T           # h~
        return dxs


def _forward_weights(buf, params, H):
    """buf.Wrz (2H, D+1+H) = the gates r, z of [Wx; b; Wh] transposed, halved (exact); buf.Wc
    (H, D+1+H) = the candidate's, as it is."""
    Wx, Wh, b = params
    D = Wx.shape[0]
    for rows, src in ((slice(0, D), Wx), (D, b), (slice(D + 1, None), Wh)):
        buf.Wrz[:H, rows] = src[..., H:2 * H].T
        buf.Wrz[H:, rows] = src[..., :H].T
        buf.Wc[:, rows] = src[..., 2 * H:].T
    buf.Wrz *= 0.5


class _Buffers:
    """Work arrays of one TimeGRU (N, T, D, H, dtype), feature-major, per-step views made once."""

    def __init__(self, N, T, D, H, dtype):
        K = D + 1 + H
        self.z = np.empty((T + 1, K, N), dtype)         # z_t = [x_t; 1; h_{t-1}]; z[T] holds h_T
        self.z[:, D] = 1
        self.y = np.empty((T, K, N), dtype)              # y_t = [x_t; 1; r_t * h_{t-1}]
        self.y[:, D] = 1
        self.Wrz = np.empty((2 * H, K), dtype)           # internal weights of r, z
        self.Wc = np.empty((H, K), dtype)                # of the candidate h~
        self.WhT_rz = np.empty((H, 2 * H), dtype)        # backward's Wh of r, z
        self.WhT_c = np.empty((H, H), dtype)             # of h~
        self.WxT = np.empty((D, 3 * H), dtype)           # backward's Wx, blocks r, z, h~
        self.a = np.empty((T, 3 * H, N), dtype)          # preactivations, then r, z, h~
        self.p = np.empty((T, 3 * H, N), dtype)          # backward's factors (see there)
        self.omz = np.empty((T, H, N), dtype)
        self.dhs = np.empty((T, H, N), dtype)            # incoming, then total, gradient into h_t
        self.e = np.empty((3 * H, N), dtype)             # one step's e, reused
        self.B = B = block_steps(N, T)
        self.eb = np.empty((3 * H, B * N), dtype)        # e of a block of steps, side by side
        self.zb = np.empty((K, B * N), dtype)            # z of the same steps
        self.yb = np.empty((K, B * N), dtype)            # y of the same steps
        self.dW_rz = np.empty((2 * H, K), dtype)
        self.dW_c = np.empty((H, K), dtype)
        self.tmpH = np.empty((H, N), dtype)
        self.dh = np.empty((H, N), dtype)
        self.drh = np.empty((H, N), dtype)
        self.rz_rows, self.c_rows = row_blocks(2 * H, N, K), row_blocks(H, N, K)  # see row_blocks
        self.drh_rows, self.dh_rows = row_blocks(H, N, H), row_blocks(H, N, 2 * H)
        self.rz_blocks = [blocks_of(a[:2 * H], self.rz_rows) for a in self.a]
        self.c_blocks = [blocks_of(a[2 * H:], self.c_rows) for a in self.a]
        self.z_steps = list(self.z[:T])
        self.rh = [y[D + 1:] for y in self.y]
        self.h_prev = [z[D + 1:] for z in self.z[:T]]
        self.h_next = [z[D + 1:] for z in self.z[1:]]
        self.gate_steps = [(a[:2 * H], a[:H], a[H:2 * H], a[2 * H:]) for a in self.a]
        self.p_steps = [(p[:H], p[H:].reshape(2, H, N)) for p in self.p]
        self.eb_steps = [self.eb[:, j * N:(j + 1) * N] for j in range(B)]
        self.zb_steps = [self.zb[:, j * N:(j + 1) * N] for j in range(B)]
        self.yb_steps = [self.yb[:, j * N:(j + 1) * N] for j in range(B)]
