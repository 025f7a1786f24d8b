"""The LSTM layer unrolled over time (`TimeLSTM`), gates in the textbook's order f, g, i, o."""
import numpy as np

from trainer.layers.peephole_lstm import GATE_BIAS_OPTIONS, TimePeepholeLSTM
from trainer.layers.recurrent import Recurrent, blocks_of, row_blocks

# Columns (steps x batch) of one weight-gradient product in backward: the steps are taken in
# blocks of ceil(DW_BLOCK_COLUMNS / N), whose gradients at the preactivations and inputs are
# gathered side by side and multiplied once per block. OpenBLAS runs a rank-N product (N = 20-50)
# at 65-75% of the rate of one with 200-300 columns, and each per-step product also costs an add
# of a (4H, D+1+H) array; blocks of ~256 columns reach the large product's rate while the block
# (4H x 256 floats) stays in the cache, which a product over all N*T columns at once does not.
DW_BLOCK_COLUMNS = 256


def block_steps(N, T):
    """Steps per weight-gradient block at batch size N and window T (1: a product per step)."""
    return max(1, min(T, -(-DW_BLOCK_COLUMNS // N)))


class TimeLSTM(Recurrent):
    """T steps of an LSTM over xs of shape (N, T, D); carries `h` and `c` between calls if stateful.

    Parameters as in the textbook: Wx (D, 4H), Wh (H, 4H), b (4H,), their
    columns in blocks f, g, i, o (forget, candidate, input, output), so that
        f, i, o = sigmoid(.), g = tanh(.)   of   a = x @ Wx + h_prev @ Wh + b
        c_next = f * c_prev + g * i,   h_next = o * tanh(c_next).
    Inside, everything is feature-major: step t works on z_t = [x_t; 1; h_{t-1}]
    of shape (D+1+H, N) and gates of shape (4H, N), so each gate is a contiguous
    (H, N) block (numpy is several times slower on strided slices) and one
    product per step computes the input, bias and recurrent terms together. The
    internal weights hold the blocks in the order g, f, i, o, the sigmoid gates'
    halved, so that one tanh over the whole (4H, N) block gives every gate:
    sigmoid(a) = (1 + tanh(a / 2)) / 2, which cannot overflow (two more passes
    over the f, i, o rows; the textbook's exp, add and divide took three over all
    four). After backward, `dh` and `dc` hold the gradient into the state the
    forward started from. Outputs are fresh arrays, (N, T, .) views of
    time-major memory.

    Backward runs only the recurrence step by step (the gradient into h_{t-1}:
    one (H, 4H) x (4H, N) product per step); the weight and input gradients are
    one product per block of steps (see DW_BLOCK_COLUMNS) over the gradients at
    the preactivations gathered side by side.
    """

    gates = 4   # blocks of H columns in Wx, Wh and b (how a plug-in spec sizes it)

    state_names = ("h", "c")

    # the config keys model.* this cell takes: config checks, building and `train cells` read
    # them from here (what each field means: trainer/plugins/cells.py, Cell.options)
    options = {
        "peepholes": dict(default=False, help="LSTM only: gates that see the cell state (Gers, "
                          "Schraudolph & Schmidhuber 2002; extra weights p_f, p_i, p_o, from zero)",
                          layer=TimePeepholeLSTM, listed=True,
                          refused="an option of the lstm cell, not of {cell!r} (drop it, or use "
                          "model.cell = 'lstm')"),
        **GATE_BIAS_OPTIONS,
    }

    def __init__(self, Wx, Wh, b, stateful=False):
        super().__init__(Wx, Wh, b, stateful)
        self.c = None   # (N, H) cell state after the last forward
        self.dc = None  # (N, H) gradient into the cell state the last forward started from

    def set_state(self, h, c=None):
        """Start the next (stateful) forward from h, and from c or a zero cell state."""
        dtype = self.params[0].dtype
        self.h = np.array(h, dtype=dtype)
        self.c = np.zeros_like(self.h) if c is None else np.array(c, dtype=dtype)

    def forward(self, xs):
        dtype = self.params[0].dtype
        N, T, D, H, buf = self._begin(xs, _Buffers)
        _forward_weights(buf.Wf, self.params, H)        # (4H, D+1+H): g, f/2, i/2, o/2
        z, cs, tc, tmpH = buf.z, buf.cs, buf.tc, buf.tmpH
        z[:T, :D] = np.transpose(xs, (1, 2, 0))          # (T, D, N); row D holds the ones
        if self._carried(N, H):
            z[0, D + 1:] = self.h.T
            cs[0] = 0 if self.c is None else self.c.T
        else:  # a fresh state, also when the batch size changed
            z[0, D + 1:] = cs[0] = 0
        dot, add, mul, tanh = np.dot, np.add, np.multiply, np.tanh
        half, = _constants(dtype, 0.5)
        W_blocks = blocks_of(buf.Wf, buf.fwd_rows)
        for z_t, h_next, a, a_blocks, t_fio, (s, f, i, o), g, c_prev, c_next, tc_t in zip(
                buf.z_steps, buf.h_next, buf.a, buf.a_blocks, buf.fio_t, buf.s_steps,
                buf.g_steps, cs, buf.c_next, tc):
            for W_k, a_k in zip(W_blocks, a_blocks):     # (4H, N): a_g, a_f/2, a_i/2, a_o/2
                dot(W_k, z_t, a_k)
            tanh(a, a)                                   # g, and t of f, i, o
            mul(t_fio, half, s)
            add(s, half, s)                              # f, i, o = (1 + t) / 2, in place of t
            mul(f, c_prev, c_next)
            mul(g, i, tmpH)
            add(c_next, tmpH, c_next)
            tanh(c_next, tc_t)
            mul(o, tc_t, h_next)
        self.h = z[T, D + 1:].T.copy()
        self.c = cs[T].T.copy()
        self._fwd = buf
        hs = np.empty((T, N, H), dtype)
        hs[...] = np.swapaxes(z[1:, D + 1:], 1, 2)       # (T, N, H)
        return np.swapaxes(hs, 0, 1)                     # (N, T, H) view of fresh memory

    def backward(self, dhs):
        # e: the gradient at each gate's value times its derivative (1 - g^2 for g, s(1 - s) for
        # f, i, o), (4H, N) per step, blocks g, f, i, o. The gradient at the internal
        # preactivations is e times (1, 2, 2, 2), and the internal weights' f, i, o rows are halved,
        # so the parameters' gradients are e z^T and the gradient into z is W^T e, with W the
        # parameters as they are (reordered, not scaled).
        buf = self._fwd
        N, T, D, H = self._shape
        H4 = 4 * H
        dtype = buf.z.dtype
        Wx, Wh, _ = self.params
        WhT, WxT = buf.WhT, buf.WxT                      # (H, 4H), (D, 4H): g|f|i|o, unscaled
        _swap_first_blocks(WhT, Wh, H)                   # row copies: no transpose needed
        if self.input_grad:
            _swap_first_blocks(WxT, Wx, H)
        dh_products = list(zip(blocks_of(WhT, buf.bwd_rows), blocks_of(buf.dh, buf.bwd_rows)))
        tH, dc, e, p, dW, dWb = buf.tmpH, buf.dc, buf.e, buf.p, buf.dW, buf.dWb
        buf.dhs[...] = np.transpose(dhs, (1, 2, 0))      # (T, H, N), in the params' dtype
        dc[...] = 0
        dh = buf.zero_h
        e_g, e_f, e_i, e_o = e[:H], e[H:2 * H], e[2 * H:3 * H], e[3 * H:]
        p_g, p_fio = p[:H], p[H:]
        B = buf.B
        eb, zb = buf.eb, buf.zb                          # (4H, B*N), (K, B*N): a block of steps
        dxs = np.empty((N, T, D), dtype) if self.input_grad else None
        dot, add, mul, sub = np.dot, np.add, np.multiply, np.subtract
        one, = _constants(dtype, 1)
        first = True
        with np.errstate(under="ignore"):                # products of saturated gates
            for t in range(T - 1, -1, -1):
                j = t % B                                # column block j of the step's block
                (s, f, i, o), g = buf.s_steps[t], buf.g_steps[t]
                dh_t, tc_t, c_prev = buf.dhs[t], buf.tc[t], buf.cs[t]
                e_t = buf.eb_steps[j]
                add(dh_t, dh, dh_t)                      # total gradient into h_t
                mul(tc_t, tc_t, tH)
                sub(one, tH, tH)
                mul(tH, o, tH)
                mul(tH, dh_t, tH)
                add(dc, tH, dc)                          # total gradient into c_t
                mul(dh_t, tc_t, e_o)
                mul(dc, i, e_g)
                mul(dc, c_prev, e_f)
                mul(dc, g, e_i)
                mul(dc, f, dc)                           # into c_{t-1}
                mul(g, g, p_g)
                sub(one, p_g, p_g)
                sub(one, s, p_fio)
                mul(p_fio, s, p_fio)
                mul(e, p, e_t)                           # e of step t, into its block's columns
                for WhT_k, dh_k in dh_products:          # into h_{t-1}
                    dot(WhT_k, e_t, dh_k)
                dh = buf.dh
                np.copyto(buf.zb_steps[j], buf.z[t])
                if j == 0:                               # the block of steps t .. t+n-1 is done
                    n = min(B, T - t)
                    cols = slice(0, n * N)
                    dot(eb[:, cols], zb[:, cols].T, dW if first else dWb)
                    if not first:
                        add(dW, dWb, dW)                 # (4H, D+1+H) weight gradients, summed
                    first = False
                    if dxs is not None:                  # (D, n*N): into x of the block's steps
                        dx = dot(WxT, eb[:, cols])
                        dxs[:, t:t + n] = dx.reshape(D, n, N).transpose(2, 1, 0)
        self.dh, self.dc = dh.T.copy(), dc.T.copy()
        _swap_first_blocks(self.grads[0], dW[:, :D].T, H)
        _swap_first_blocks(self.grads[2].reshape(H4), dW[:, D], H)
        _swap_first_blocks(self.grads[1], dW[:, D + 1:].T, H)
        return dxs


def _constants(dtype, *values):
    """The values as 0-d arrays of dtype: numpy converts these faster than Python numbers
    (about 0.5 us less per call on (H, N) blocks, several calls per step), same results."""
    return [np.full((), v, dtype) for v in values]


def _forward_weights(dst, params, H):
    """dst (4H, D+1+H) = [Wx; b; Wh] transposed, blocks f|g|i|o reordered to g|f|i|o, the f, i,
    o blocks halved (a power of 2: exact)."""
    Wx, Wh, b = params
    D = Wx.shape[0]
    for rows, src in ((slice(0, D), Wx), (D, b), (slice(D + 1, None), Wh)):
        block_g, block_f = dst[:H, rows], dst[H:2 * H, rows]
        block_io = dst[2 * H:, rows]
        block_g[...] = src[..., H:2 * H].T
        block_f[...] = src[..., :H].T
        block_io[...] = src[..., 2 * H:].T
    dst[H:] *= 0.5


def _swap_first_blocks(dst, src, H):
    """dst = src with its first two blocks of H columns swapped: the parameters' f|g|i|o as the
    internal g|f|i|o, or a gradient for g|f|i|o as one for f|g|i|o (the swap undoes itself)."""
    dst[..., :H] = src[..., H:2 * H]
    dst[..., H:2 * H] = src[..., :H]
    dst[..., 2 * H:] = src[..., 2 * H:]


class _Buffers:
    """Work arrays of one TimeLSTM (N, T, D, H, dtype), feature-major, per-step views made once."""

    def __init__(self, N, T, D, H, dtype):
        K = D + 1 + H
        self.z = np.empty((T + 1, K, N), dtype)         # z_t = [x_t; 1; h_{t-1}]; z[T] holds h_T
        self.z[:, D] = 1
        self.Wf = np.empty((4 * H, K), dtype)            # internal weights (scaled)
        self.WhT = np.empty((H, 4 * H), dtype)           # backward's Wh, blocks g, f, i, o
        self.WxT = np.empty((D, 4 * H), dtype)           # and Wx
        self.a = np.empty((T, 4 * H, N), dtype)          # preactivations, then gates g, f, i, o
        self.cs = np.empty((T + 1, H, N), dtype)         # cell states, cs[0] the start
        self.tc = np.empty((T, H, N), dtype)             # tanh(c_t)
        self.e = np.empty((4 * H, N), dtype)             # one step's e (see backward), reused
        self.p = np.empty((4 * H, N), dtype)             # one step's gate derivatives
        self.B = B = block_steps(N, T)
        self.eb = np.empty((4 * H, B * N), dtype)        # e of a block of steps, side by side
        self.zb = np.empty((K, B * N), dtype)            # z of the same steps
        self.dh = np.empty((H, N), dtype)
        self.dhs = np.empty((T, H, N), dtype)            # incoming, then total, gradient into h_t
        self.dW = np.empty((4 * H, K), dtype)
        self.dWb = np.empty((4 * H, K), dtype)
        self.tmpH = np.empty((H, N), dtype)
        self.dc = np.empty((H, N), dtype)
        self.zero_h = np.zeros((H, N), dtype)
        self.fwd_rows = row_blocks(4 * H, N, K)          # a step's products in blocks of rows
        self.bwd_rows = row_blocks(H, N, 4 * H)
        self.a_blocks = [blocks_of(a, self.fwd_rows) for a in self.a]
        self.z_steps = list(self.z[:T])
        self.h_next = [self.z[t + 1, D + 1:] for t in range(T)]
        self.c_next = list(self.cs[1:])
        self.fio_t = [a[H:] for a in self.a]
        self.g_steps = [a[:H] for a in self.a]
        self.s_steps = [(s, s[:H], s[H:2 * H], s[2 * H:]) for s in self.fio_t]
        self.eb_steps = [self.eb[:, j * N:(j + 1) * N] for j in range(B)]
        self.zb_steps = [self.zb[:, j * N:(j + 1) * N] for j in range(B)]
