"""The LSTM with peephole connections (Gers, Schraudolph & Schmidhuber 2002), unrolled over time:
`model.peepholes = true`. The gates see the cell state: forget and input gates the previous
one, the output gate the new one. Clear before fast: one batch-major step at a time."""
import numpy as np

from trainer.layers.recurrent import Recurrent

# The config keys model.* of an LSTM's initial gate biases, which the trainer sets
# (trainer/model/network.py) in every cell that declares them: TimeLSTM (lstm.py), the book's
# (textbook.py) and this one; what each field means: trainer/plugins/cells.py, Cell.options
GATE_BIAS_OPTIONS = {
    "init_gates": dict(default="constant", help="LSTM gate biases: constant (forget gate "
                       "model.forget_bias, others 0) or chrono (Tallec & Ollivier 2018: forget "
                       "bias log U[1, chrono_tmax - 1], input bias its negative)",
                       choices=("constant", "chrono"), listed=True,
                       refused="{init_gates!r} sets LSTM gate biases, and {cell!r} is not an "
                       "LSTM (use model.cell = 'lstm')"),
    "forget_bias": dict(default=1.0, help="LSTM forget-gate bias at the start (init_gates = "
                        "constant)", min=-100.0, max=100.0, listed=True,
                        refused="sets the LSTM forget gate's bias, and {cell!r} has none the "
                        "trainer sets (drop it, or use model.cell = 'lstm')"),
    "chrono_tmax": dict(default=0, help="the longest dependency chrono initialisation expects "
                        "(>= 2; 0: the task's episode length, or train.bptt for a stream task)",
                        min=0, max=1e9, needs=("init_gates", "chrono")),
}


def _sigmoid(a):
    with np.errstate(over="ignore", under="ignore"):   # exp -> inf or 0: the exact limits
        return 1 / (1 + np.exp(-a))


class TimePeepholeLSTM(Recurrent):
    """T steps of a peephole LSTM over xs (N, T, D); carries `h` and `c` between calls if stateful.

    Parameters: Wx (D, 4H), Wh (H, 4H), b (4H,) in TimeLSTM's gate blocks f, g, i, o, and the
    peephole weights p (3H,) in blocks f, i, o (zero by default: then it is TimeLSTM):
        a = x @ Wx + h_prev @ Wh + b
        f = sigmoid(a_f + p_f * c_prev),  i = sigmoid(a_i + p_i * c_prev),  g = tanh(a_g)
        c = f * c_prev + i * g,  o = sigmoid(a_o + p_o * c),  h = o * tanh(c).
    After backward, `dh` and `dc` hold the gradient into the state the forward started from.
    """

    state_names = ("h", "c")
    param_names = ("Wx", "Wh", "b", "p")
    gates = 4
    options = GATE_BIAS_OPTIONS   # built for model.peepholes, with the LSTM's gate biases

    def __init__(self, Wx, Wh, b, peep=None, stateful=False):
        super().__init__(Wx, Wh, b, stateful)
        H = Wh.shape[0]
        peep = np.zeros(3 * H, Wx.dtype) if peep is None else peep
        if np.shape(peep) != (3 * H,):
            raise ValueError(f"peephole weights of shape {np.shape(peep)}, expected ({3 * H},)")
        self.params.append(peep)
        self.grads.append(np.zeros_like(peep))
        self.c = None
        self.dc = None

    def set_state(self, h, c=None):
        """Start the next (stateful) forward from h, and from c or a zero cell state."""
        dtype = self.params[0].dtype
        self.h = np.array(h, dtype=dtype)
        self.c = np.zeros_like(self.h) if c is None else np.array(c, dtype=dtype)

    def forward(self, xs):
        Wx, Wh, b, p = self.params
        dtype = Wx.dtype
        xs = np.asarray(xs, dtype)
        N, T, D = xs.shape
        H = Wh.shape[0]
        pf, pi, po = p[:H], p[H:2 * H], p[2 * H:]
        if self._carried(N, H):
            h = self.h
            c = self.c if self.c is not None else np.zeros((N, H), dtype)
        else:
            h, c = np.zeros((N, H), dtype), np.zeros((N, H), dtype)
        ax = xs @ Wx + b                                       # (N, T, 4H): the input terms
        keep = {k: np.empty((T, N, H), dtype) for k in ("f", "g", "i", "o", "c_prev", "c", "tc")}
        hs = np.empty((T + 1, N, H), dtype)                    # hs[0]: the start, hs[t + 1]: h_t
        hs[0] = h
        for t in range(T):
            a = ax[:, t] + h @ Wh
            f = _sigmoid(a[:, :H] + pf * c)
            g = np.tanh(a[:, H:2 * H])
            i = _sigmoid(a[:, 2 * H:3 * H] + pi * c)
            keep["c_prev"][t] = c
            c = f * c + i * g
            o = _sigmoid(a[:, 3 * H:] + po * c)
            tc = np.tanh(c)
            h = o * tc
            for k, v in (("f", f), ("g", g), ("i", i), ("o", o), ("c", c), ("tc", tc)):
                keep[k][t] = v
            hs[t + 1] = h
        self.h, self.c = h.copy(), c.copy()
        self._fwd = (xs, hs, keep)
        return np.ascontiguousarray(np.swapaxes(hs[1:], 0, 1))

    def backward(self, dhs):
        Wx, Wh, b, p = self.params
        xs, hs, k = self._fwd
        dhs = np.asarray(dhs, Wx.dtype)
        N, T, D = xs.shape
        H = Wh.shape[0]
        pf, pi, po = p[:H], p[H:2 * H], p[2 * H:]
        da = np.empty((N, T, 4 * H), Wx.dtype)
        dWh, dp = np.zeros_like(Wh), np.zeros_like(p)
        dh, dc = np.zeros((N, H), Wx.dtype), np.zeros((N, H), Wx.dtype)
        with np.errstate(under="ignore"):                # products of saturated gates
            self._steps(dhs, k, hs, da, dWh, dp, dh, dc, pf, pi, po, Wh, H, T)
        flat = da.reshape(N * T, 4 * H)
        self.grads[0][...] = xs.reshape(N * T, D).T @ flat
        self.grads[1][...] = dWh
        self.grads[2][...] = flat.sum(0)
        self.grads[3][...] = dp
        return (flat @ Wx.T).reshape(N, T, D) if self.input_grad else None

    def _steps(self, dhs, k, hs, da, dWh, dp, dh, dc, pf, pi, po, Wh, H, T):
        """Back through the steps, last first: fills da (N, T, 4H), dWh and dp; sets dh, dc."""
        for t in range(T - 1, -1, -1):
            f, g, i, o, c_prev, c, tc = (k[n][t] for n in ("f", "g", "i", "o", "c_prev", "c", "tc"))
            dh_t = dhs[:, t] + dh
            dao = dh_t * tc * o * (1 - o)
            dc_t = dc + dh_t * o * (1 - tc * tc) + dao * po
            daf = dc_t * c_prev * f * (1 - f)
            dai = dc_t * g * i * (1 - i)
            dag = dc_t * i * (1 - g * g)
            dp[:H] += (daf * c_prev).sum(0)
            dp[H:2 * H] += (dai * c_prev).sum(0)
            dp[2 * H:] += (dao * c).sum(0)
            dc = dc_t * f + daf * pf + dai * pi
            da_t = da[:, t]
            da_t[:, :H], da_t[:, H:2 * H], da_t[:, 2 * H:3 * H], da_t[:, 3 * H:] = daf, dag, dai, dao
            dWh += hs[t].T @ da_t
            dh = da_t @ Wh.T
        self.dh, self.dc = dh, dc
