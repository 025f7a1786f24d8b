"""The LSTM layer unrolled over time (`TimeLSTM`), gates in the textbook's order f, g, i, o."""
import numpy as np

from trainer.layers.peephole_lstm import GATE_BIAS_OPTIONS, TimePeepholeLSTM
from trainer.layers.recurrent import Recurrent

# 4H * (D+1+H) from which backward sums the weight gradient in one product over all N*T
# columns after the loop, instead of a rank-N product and an add per step (measured: a few
# per cent faster at H = 256, a few per cent slower at H = 64, even at H = 128)
BATCH_DW_MIN = 1 << 17


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
    internal weights hold the blocks in the order g, f, i, o, scaled by -2 (g) and
    -1 (f, i, o), so that one exp, one add and one division give every gate:
    sigmoid(x) = 1 / (1 + exp(-x)) and tanh(x) = 2 sigmoid(2x) - 1; exp may
    overflow to inf, which gives the exact limit 0. After backward, `dh` and `dc`
    hold the gradient into the state the forward started from. Outputs are fresh
    arrays, (N, T, .) views of time-major memory.

    Backward adds each step's weight gradient (a rank-N product) into the sum as
    it goes, the working set small; from BATCH_DW_MIN weights it keeps the
    gradient at the preactivations of every step instead, multiplies only the
    recurrent rows per step, and computes the weight and input gradients after
    the loop as one product each over the N*T columns (the per-step add of a
    (4H, D+1+H) array no longer fits in the cache there).
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
        _internal(buf.Wf, self.params, H, scale=True)    # (4H, D+1+H)
        z, gates, cs, tc, tmpH = buf.z, buf.a, buf.cs, buf.tc, buf.tmpH
        z[:T, :D] = np.transpose(xs, (1, 2, 0))          # (T, D, N); row D holds the ones
        if self._carried(N, H):
            z[0, D + 1:] = self.h.T
            cs[0] = 0 if self.c is None else self.c.T
        else:  # a fresh state, also when the batch size changed
            z[0, D + 1:] = cs[0] = 0
        dot, add, mul, exp, div, tanh = np.dot, np.add, np.multiply, np.exp, np.divide, np.tanh
        one, two, minus_one = _constants(dtype, 1, 2, -1)
        with np.errstate(over="ignore", under="ignore"):  # exp -> inf or 0: sigmoid 0 or 1
            for z_t, h_next, (a, g, f, i, o), c_prev, c_next, tc_t in zip(
                    buf.z_steps, buf.h_next, buf.gate_steps, cs, buf.c_next, tc):
                dot(buf.Wf, z_t, a)                      # (4H, N): -2 a_g, -a_f, -a_i, -a_o
                exp(a, a)
                add(a, one, a)
                div(one, a, a)                           # sigmoid(2 a_g), f, i, o
                mul(g, two, g)
                add(g, minus_one, g)                     # g = tanh(a_g)
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
        buf = self._fwd
        N, T, D, H = self._shape
        H4 = 4 * H
        _internal(buf.Wf, self.params, H, scale=False)
        Wb = np.ascontiguousarray(buf.Wf.T)              # (D+1+H, 4H): dz_t = Wb @ da_t
        sp, tH, dc, dW, dW_t = buf.sp, buf.tmpH, buf.dc, buf.dW, buf.dW_t
        buf.dhs[...] = np.transpose(dhs, (1, 2, 0))      # (T, H, N), in the params' dtype
        dc[...] = 0
        dW[...] = 0
        dh, dz, dx = buf.zero_h, buf.dz, buf.dx
        batched = buf.batched
        WhT = Wb[D + 1:] if batched else None            # (H, 4H): dh_prev = WhT @ da_t
        dz_x, dz_h = dz[:D], dz[D + 1:]                  # views made once: ~0.2 us each per step
        sp_f, sp_i, sp_o = sp[:H], sp[H:2 * H], sp[2 * H:]
        dot, add, mul, sub = np.dot, np.add, np.multiply, np.subtract
        one, = _constants(dW.dtype, 1)
        with np.errstate(under="ignore"):                # products of saturated gates
            for t in range(T - 1, -1, -1):
                a, g, f, i, o = buf.gate_steps[t]
                fio = buf.fio_steps[t]
                da, da_g, da_f, da_i, da_o = buf.da_steps[t]
                dh_t, tc_t, c_prev = buf.dhs[t], buf.tc[t], buf.cs[t]
                add(dh_t, dh, dh_t)                      # total gradient into h_t
                sub(one, fio, sp)
                mul(sp, fio, sp)                         # sigmoid' of f, i, o: (3H, N)
                mul(tc_t, tc_t, tH)
                sub(one, tH, tH)
                mul(tH, o, tH)
                mul(tH, dh_t, tH)
                add(dc, tH, dc)                          # total gradient into c_t
                mul(dh_t, tc_t, da_o)
                mul(da_o, sp_o, da_o)
                mul(dc, c_prev, da_f)
                mul(da_f, sp_f, da_f)
                mul(dc, g, da_i)
                mul(da_i, sp_i, da_i)
                mul(g, g, da_g)
                sub(one, da_g, da_g)
                mul(da_g, i, da_g)
                mul(da_g, dc, da_g)                      # da: gradient at the preactivations
                mul(dc, f, dc)                           # into c_{t-1}
                if batched:                              # da_t kept, in buf.da
                    dot(WhT, da, buf.dh)                 # into h_{t-1}
                    dh = buf.dh
                    continue
                dot(Wb, da, dz)                          # into x_t (rows :D) and h_{t-1} (D+1:)
                dh = dz_h
                np.copyto(buf.dx_steps[t], dz_x)
                dot(da, buf.z[t].T, dW_t)
                add(dW, dW_t, dW)                        # (4H, D+1+H) weight gradients, summed
        self.dh, self.dc = dh.T.copy(), dc.T.copy()
        if batched:  # da of every step beside the batch (4H, T*N), z batch-major (T*N, D+1+H)
            buf.da_all.reshape(H4, T, N)[...] = np.swapaxes(buf.da, 0, 1)
            buf.z_all.reshape(T, N, D + 1 + H)[...] = np.swapaxes(buf.z[:T], 1, 2)
            dot(buf.da_all, buf.z_all, dW)               # (4H, D+1+H), all steps at once
            dx[...] = np.swapaxes(dot(Wb[:D], buf.da_all).reshape(D, T, N), 0, 1)  # (T, D, N)
        _blocks_out(self.grads[0], dW[:, :D].T, H)
        _blocks_out(self.grads[2].reshape(H4), dW[:, D], H)
        _blocks_out(self.grads[1], dW[:, D + 1:].T, H)
        dxs = np.empty((N, T, D), self.params[0].dtype)
        dxs[...] = np.transpose(dx, (2, 0, 1))
        return dxs


def _constants(dtype, *values):
    """The values as 0-d arrays of dtype: numpy converts these faster than Python numbers
    (about 0.5 us less per call on (H, N) blocks, several calls per step), same results."""
    return [np.full((), v, dtype) for v in values]


def _internal(dst, params, H, scale):
    """dst (4H, D+1+H) = [Wx; b; Wh] transposed, blocks f|g|i|o reordered to g|f|i|o; with
    scale, the g block times -2 and f, i, o times -1 (the forward's exp form), else as they are."""
    Wx, Wh, b = params
    D = Wx.shape[0]
    for rows, src in ((slice(0, D), Wx), (D, b), (slice(D + 1, None), Wh)):
        block_g, block_f = dst[:H, rows], dst[H:2 * H, rows]
        block_io = dst[2 * H:, rows]
        block_g[...] = src[..., H:2 * H].T
        block_f[...] = src[..., :H].T
        block_io[...] = src[..., 2 * H:].T
    if scale:
        dst[:H] *= -2
        dst[H:] *= -1


def _blocks_out(dst, src, H):
    """A gradient for internal columns g|f|i|o as one for the parameters' f|g|i|o."""
    dst[..., :H] = src[..., H:2 * H]
    dst[..., H:2 * H] = src[..., :H]
    dst[..., 2 * H:] = src[..., 2 * H:]


class _Buffers:
    """Work arrays of one TimeLSTM (N, T, D, H, dtype), feature-major, per-step views made once."""

    def __init__(self, N, T, D, H, dtype):
        K = D + 1 + H
        self.z = np.empty((T + 1, K, N), dtype)         # z_t = [x_t; 1; h_{t-1}]; z[T] holds h_T
        self.z[:, D] = 1
        self.Wf = np.empty((4 * H, K), dtype)            # internal weights (scaled for forward)
        self.a = np.empty((T, 4 * H, N), dtype)          # preactivations, then gates g, f, i, o
        self.cs = np.empty((T + 1, H, N), dtype)         # cell states, cs[0] the start
        self.tc = np.empty((T, H, N), dtype)             # tanh(c_t)
        # the gradient at the preactivations: one step's, reused (kept hot in cache, not 4HNT);
        # every step's from BATCH_DW_MIN weights (see TimeLSTM)
        self.batched = 4 * H * K >= BATCH_DW_MIN
        self.da = np.empty((T, 4 * H, N) if self.batched else (4 * H, N), dtype)
        if self.batched:
            self.da_all = np.empty((4 * H, T * N), dtype)
            self.z_all = np.empty((T * N, K), dtype)
            self.dh = np.empty((H, N), dtype)
        self.dz = np.empty((K, N), dtype)                # gradient into z_t: one step's, reused
        self.dx = np.empty((T, D, N), dtype)             # its rows for x_t, kept for every step
        self.dhs = np.empty((T, H, N), dtype)            # incoming, then total, gradient into h_t
        self.dW = np.empty((4 * H, K), dtype)
        self.dW_t = np.empty((4 * H, K), dtype)
        self.sp = np.empty((3 * H, N), dtype)            # sigmoid' of f, i, o at one step
        self.tmpH = np.empty((H, N), dtype)
        self.dc = np.empty((H, N), dtype)
        self.zero_h = np.zeros((H, N), dtype)
        self.z_steps = list(self.z[:T])
        self.h_next = [self.z[t + 1, D + 1:] for t in range(T)]
        self.c_next = list(self.cs[1:])
        self.gate_steps = [(a, a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:]) for a in self.a]
        self.fio_steps = [a[H:] for a in self.a]
        self.dx_steps = list(self.dx)
        das = list(self.da) if self.batched else [self.da] * T
        self.da_steps = [(d, d[:H], d[H:2 * H], d[2 * H:3 * H], d[3 * H:]) for d in das]
