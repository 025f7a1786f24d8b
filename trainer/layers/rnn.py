"""The vanilla RNN unrolled over time, fast (`TimeRNN`); its one-step cell is the book's
(`trainer.layers.RNN`, in textbook.py)."""
import numpy as np

from trainer.layers.recurrent import Recurrent


EXP_TANH_MIN = 1536  # N*H from which a step's tanh is computed from exp (float32 break-even ~1300)


def _relu(x, out):
    np.maximum(x, 0, out=out)


# a step's activation by name, called as activate(x, out) on its (N, H) block
_ACTIVATIONS = {"tanh": np.tanh, "relu": _relu}


class TimeRNN(Recurrent):
    """T steps of the tanh RNN over xs of shape (N, T, D); carries `h` between calls if stateful.

    activation="relu" makes it a ReLU RNN (with an identity Wh: the IRNN of Le,
    Jaitly & Hinton 2015); tanh is the textbook's.

    Computed as the textbook layer is, without a cell object per step. Inside,
    arrays are time-major (T, N, .), so each step reads and writes contiguous
    (N, H) blocks. The bias rides as a column of ones on the inputs, so the
    input projection of all N*T rows is one matrix product, and so are the
    gradients of Wx and b together, of Wh, and of the inputs; only the
    recurrence (a product, an add and a tanh per step forward; an add, a
    multiply and a product per step backward) runs in the Python loop. Work
    buffers are kept for the last few shapes (training and evaluation
    alternate). Outputs are fresh arrays, returned as (N, T, .) views of
    time-major memory, so later calls never overwrite what a caller holds.
    From EXP_TANH_MIN elements a step (N*H), the tanh is computed from exp,
    which is faster there (see forward) and agrees to a few float ulps.
    """

    # the config keys model.* this cell takes (the fields: trainer/plugins/cells.py, Cell.options)
    options = {
        "activation": dict(default="tanh", help="the plain RNN's nonlinearity (relu + identity "
                           "init: IRNN)", choices=tuple(_ACTIVATIONS), passed=True,
                           refused="{activation!r} is an option of the fast rnn cell, not of "
                           "{cell!r} (drop it, or use model.cell = 'rnn')"),
    }

    def __init__(self, Wx, Wh, b, stateful=False, activation="tanh"):
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be 'tanh' or 'relu', not {activation!r}")
        H = np.shape(Wh)[0]
        if np.size(b) != H:  # a bias of shape (N, H) would tie the layer to one batch size
            raise ValueError(f"b must hold one bias per hidden unit, shape ({H},), not "
                             f"{np.shape(b)}")
        super().__init__(Wx, Wh, b, stateful)
        self.activation = activation

    def forward(self, xs):
        Wx, Wh, b = self.params
        dtype = Wx.dtype
        N, T, D, H, buf = self._begin(xs, _Buffers)
        xa, a, W = buf.xa, buf.a, buf.W
        W[:D] = Wx                                   # [Wx; b] (D+1, H)
        W[D] = b.reshape(H)
        exp_tanh = self.activation == "tanh" and N * H >= EXP_TANH_MIN
        if exp_tanh:  # the steps compute -2x, which the tanh from exp takes (exact: a power of 2)
            W *= -2
            Wh = Wh * -2
        xa[:, :, :D] = np.swapaxes(xs, 0, 1)         # (T, N, D+1), last column ones
        np.dot(xa.reshape(T * N, D + 1), W, a.reshape(T * N, H))
        hs = np.empty((T + 1, N, H), dtype)          # hs[0] is the start state
        if self._carried(N, H):
            hs[0] = self.h
        else:  # a fresh state, also when the batch size changed
            hs[0] = 0
        if exp_tanh:
            with np.errstate(over="ignore", under="ignore"):  # exp -> inf or 0: tanh = -1 or 1
                _recur(list(hs), buf.a_steps, Wh, _tanh_from_exp(dtype))
        else:
            _recur(list(hs), buf.a_steps, Wh, _ACTIVATIONS[self.activation])
        self.h = hs[T].copy()
        self._fwd = (buf, hs)
        return np.swapaxes(hs[1:], 0, 1)             # (N, T, H) view of fresh memory

    def backward(self, dhs):
        Wx, Wh, b = self.params
        buf, hs = self._fwd
        N, T, D, H = self._shape
        dt, g = buf.dt, buf.a                        # the projection is spent: its memory holds f'
        if self.activation == "tanh":
            np.multiply(hs[1:], hs[1:], g)           # tanh' = 1 - h*h, for all steps at once
            np.subtract(1, g, g)
        else:
            np.greater(hs[1:], 0, g, casting="unsafe")  # relu' = 1 where h > 0
        dt[...] = np.swapaxes(dhs, 0, 1)             # (T, N, H), cast to the params' dtype
        dh = np.zeros((N, H), Wx.dtype)
        dot, add, mul = np.dot, np.add, np.multiply
        WhT = np.ascontiguousarray(Wh.T)             # a step's product with a view of Wh.T: 2x slower
        dt_steps, g_steps = buf.dt_steps, buf.a_steps
        if T:
            mul(dt_steps[-1], g_steps[-1], dt_steps[-1])
            dot(dt_steps[-1], WhT, dh)
        for t in range(T - 2, -1, -1):
            dt_t = dt_steps[t]
            add(dt_t, dh, dt_t)
            mul(dt_t, g_steps[t], dt_t)
            dot(dt_t, WhT, dh)
        self.dh = dh
        dt2 = dt.reshape(T * N, H)
        dW = buf.dW
        np.dot(buf.xa.reshape(T * N, D + 1).T, dt2, dW)  # [dWx; db] (D+1, H)
        self.grads[0][...] = dW[:D]
        np.dot(hs[:T].reshape(T * N, H).T, dt2, self.grads[1])
        self.grads[2][...] = dW[D].reshape(b.shape)
        if not self.input_grad:
            return None
        dxs = np.empty((T, N, D), Wx.dtype)
        np.dot(dt2, Wx.T, dxs.reshape(T * N, D))
        return np.swapaxes(dxs, 0, 1)                # (N, T, D) view of fresh memory


class _Buffers:
    """Work arrays of one (N, T, D, H, dtype), with their per-step views made once."""

    def __init__(self, N, T, D, H, dtype):
        self.xa = np.empty((T, N, D + 1), dtype)     # inputs with a column of ones (the bias)
        self.xa[:, :, D] = 1
        self.W = np.empty((D + 1, H), dtype)         # [Wx; b]
        self.dW = np.empty((D + 1, H), dtype)        # [dWx; db]
        self.a = np.empty((T, N, H), dtype)          # input projection plus bias; then tanh'
        self.dt = np.empty((T, N, H), dtype)         # gradient at the tanh's input
        self.a_steps, self.dt_steps = list(self.a), list(self.dt)


def _recur(hs, a_steps, Wh, activate):
    """The recurrence, the one loop of the forward: hs[t+1] = activate(hs[t] @ Wh + a_steps[t])
    on each step's (N, H) block, in place; activate(x, out) is the step's activation."""
    dot, add = np.dot, np.add
    for h_prev, h_next, a_t in zip(hs, hs[1:], a_steps):
        dot(h_prev, Wh, h_next)
        add(h_next, a_t, h_next)
        activate(h_next, h_next)


def _tanh_from_exp(dtype):
    """tanh of a block holding -2x, as 2 / (1 + exp(-2x)) - 1: float32 np.exp costs half of
    np.tanh per element, which pays for the three cheap calls from EXP_TANH_MIN elements a step."""
    exp, add, div = np.exp, np.add, np.divide
    one, two, minus_one = (np.full((), v, dtype) for v in (1, 2, -1))

    def tanh_from_exp(x, out):
        exp(x, out)
        add(out, one, out)
        div(two, out, out)
        add(out, minus_one, out)
    return tanh_from_exp
