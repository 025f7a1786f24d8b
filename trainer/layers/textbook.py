"""The book's layers, as "Deep Learning from Scratch 2" writes them: TimeRNN, TimeGRU and TimeLSTM
over one cell object per time step. Read these first: they are the reference the fast layers
(rnn.py, lstm.py, gru.py) are measured and checked against, and they train as
`model.cell = "textbook-rnn"` (textbook-lstm, textbook-gru), slower, with the same numbers.

TimeRNN is the book's layer (a cell object per time step, weight gradients
accumulated step by step), with three changes: arrays follow the parameters'
dtype instead of the book's hard-coded dtype='f' (float32), a stateful h
starts afresh when the batch size changes, and the line of each loop that
calls the cell is a method (step, step_back), so that the GRU and the LSTM run
the same loop. Nothing else is optimised on purpose: this is what
`trainer.layers.TimeRNN` is measured and checked against. Inputs are cast to
the parameters' dtype, as the trainer's layers do.

TimeGRU is the same loop over the book's GRU cell, gates in its order z, r, h~:
Wx (D, 3H), Wh (H, 3H), b (3H,) in blocks
    z = sigmoid(x @ Wxz + h_prev @ Whz + bz)        (update gate)
    r = sigmoid(x @ Wxr + h_prev @ Whr + br)        (reset gate)
    h~ = tanh(x @ Wxh + (r * h_prev) @ Whh + bh)    (candidate)
    h_next = (1 - z) * h_prev + z * h~;
`trainer.layers.TimeGRU` is checked against it in float64 (tests/test_textbook_match.py).
TimeLSTM is the same loop over the book's LSTM cell, which carries a cell state too:
gates in the book's order f, g, i, o: A = x @ Wx + h_prev @ Wh + b is split into four (N, H)
blocks, f, i, o through a sigmoid and g through tanh; c_next = f * c_prev + g * i and
h_next = o * tanh(c_next). Beside the book's layer it keeps `dc`, the gradient into the cell
state the forward started from, as ours does.
"""
import numpy as np

from trainer.layers.peephole_lstm import GATE_BIAS_OPTIONS


class Cell:
    """What the book's cells share: params [Wx, Wh, b], grads of their shapes, one step's cache."""

    def __init__(self, Wx, Wh, b):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.cache = None


class RNN(Cell):
    """One tanh step, h_next = tanh(h_prev @ Wh + x @ Wx + b), with its own cache: the book's
    cell, which is also `trainer.layers.RNN`."""

    def forward(self, x, h_prev):
        Wx, Wh, b = self.params
        x, h_prev = np.asarray(x, Wx.dtype), np.asarray(h_prev, Wx.dtype)   # the params' dtype
        t = np.matmul(h_prev, Wh) + np.matmul(x, Wx) + b          # (N, H)
        h_next = np.tanh(t)
        self.cache = (x, h_prev, h_next)
        return h_next

    def backward(self, dh_next):
        Wx, Wh, b = self.params
        x, h_prev, h_next = self.cache
        dt = dh_next * (1 - h_next ** 2)                            # (N, H)
        # the bias is broadcast over the batch; a seed's bias of shape (N, H) has a row per example
        db = np.sum(dt, axis=0) if b.shape != dt.shape else dt
        dWh = np.matmul(h_prev.T, dt)
        dh_prev = np.matmul(dt, Wh.T)
        dWx = np.matmul(x.T, dt)
        dx = np.matmul(dt, Wx.T)
        self.grads[0][...] = dWx
        self.grads[1][...] = dWh
        self.grads[2][...] = db
        return dx, dh_prev


class TimeRNN:
    """T textbook cells over xs (N, T, D); carries `h` between calls when stateful.

    The loop is the book's; the one line of each direction that calls the cell is a method
    (step, step_back), so that TimeGRU (another cell) and TimeLSTM (a cell that carries c too)
    run the same loop."""

    cell = RNN
    state_names = ("h",)

    def __init__(self, Wx, Wh, b, stateful=False):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.layers = None
        self.h, self.dh = None, None
        self.stateful = stateful

    def set_state(self, h):
        self.h = np.array(h, dtype=self.params[0].dtype)

    def reset_state(self):
        for name in self.state_names:
            setattr(self, name, None)

    def forward(self, xs):
        Wx, Wh, b = self.params
        xs = np.asarray(xs, dtype=Wx.dtype)
        N, T, D = xs.shape
        H = Wh.shape[0]                     # Wx is (D, H), or (D, 3H) for the GRU, (D, 4H) the LSTM
        self.layers = []
        hs = np.empty((N, T, H), dtype=Wx.dtype)
        fresh = not self.stateful or self.h is None or self.h.shape != (N, H)
        for name in self.state_names:       # h, and c for the LSTM
            if fresh or getattr(self, name) is None:
                setattr(self, name, np.zeros((N, H), dtype=Wx.dtype))
        for t in range(T):
            layer = self.cell(*self.params)
            hs[:, t, :] = self.step(layer, xs[:, t, :])
            self.layers.append(layer)
        return hs

    def step(self, layer, x):
        """One cell forward from the carried state, which it replaces; returns h."""
        self.h = layer.forward(x, self.h)
        return self.h

    def backward(self, dhs):
        Wx, Wh, b = self.params
        N, T, H = dhs.shape
        D = Wx.shape[0]
        dxs = np.empty((N, T, D), dtype=Wx.dtype)
        for name in self.state_names:       # dh (and dc): no gradient from after the last step
            setattr(self, "d" + name, 0)
        grads = [0, 0, 0]
        for t in reversed(range(T)):
            layer = self.layers[t]
            dxs[:, t, :] = self.step_back(layer, dhs[:, t, :])
            for i, grad in enumerate(layer.grads):
                grads[i] += grad
        for i, grad in enumerate(grads):
            self.grads[i][...] = grad
        return dxs

    def step_back(self, layer, dh_t):
        """One cell backward, the gradient from the later steps (self.dh) added to the step's own
        dh_t; leaves in self.dh the gradient into the step before, returns dx. In the book's
        loop: dx, dh = layer.backward(dhs[:, t, :] + dh)."""
        dx, self.dh = layer.backward(dh_t + self.dh)
        return dx


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


class GRU(Cell):
    """One GRU step with its own cache: forward(x, h_prev) -> h_next."""

    def forward(self, x, h_prev):
        Wx, Wh, b = self.params
        H = Wh.shape[0]
        Wxz, Wxr, Wxh = Wx[:, :H], Wx[:, H:2 * H], Wx[:, 2 * H:]
        Whz, Whr, Whh = Wh[:, :H], Wh[:, H:2 * H], Wh[:, 2 * H:]
        bz, br, bh = b[:H], b[H:2 * H], b[2 * H:]
        z = sigmoid(np.dot(x, Wxz) + np.dot(h_prev, Whz) + bz)     # (N, H)
        r = sigmoid(np.dot(x, Wxr) + np.dot(h_prev, Whr) + br)
        h_hat = np.tanh(np.dot(x, Wxh) + np.dot(r * h_prev, Whh) + bh)
        h_next = (1 - z) * h_prev + z * h_hat
        self.cache = (x, h_prev, z, r, h_hat)
        return h_next

    def backward(self, dh_next):
        Wx, Wh, b = self.params
        H = Wh.shape[0]
        Wxz, Wxr, Wxh = Wx[:, :H], Wx[:, H:2 * H], Wx[:, 2 * H:]
        Whz, Whr, Whh = Wh[:, :H], Wh[:, H:2 * H], Wh[:, 2 * H:]
        x, h_prev, z, r, h_hat = self.cache

        dh_hat = dh_next * z
        dh_prev = dh_next * (1 - z)

        # candidate h~ (tanh)
        dt = dh_hat * (1 - h_hat ** 2)
        dbh = np.sum(dt, axis=0)
        dWhh = np.dot((r * h_prev).T, dt)
        dhr = np.dot(dt, Whh.T)
        dWxh = np.dot(x.T, dt)
        dx = np.dot(dt, Wxh.T)
        dh_prev += r * dhr

        # update gate z
        dz = dh_next * h_hat - dh_next * h_prev
        dt = dz * z * (1 - z)
        dbz = np.sum(dt, axis=0)
        dWhz = np.dot(h_prev.T, dt)
        dh_prev += np.dot(dt, Whz.T)
        dWxz = np.dot(x.T, dt)
        dx += np.dot(dt, Wxz.T)

        # reset gate r
        dr = dhr * h_prev
        dt = dr * r * (1 - r)
        dbr = np.sum(dt, axis=0)
        dWhr = np.dot(h_prev.T, dt)
        dh_prev += np.dot(dt, Whr.T)
        dWxr = np.dot(x.T, dt)
        dx += np.dot(dt, Wxr.T)

        self.grads[0][...] = np.hstack((dWxz, dWxr, dWxh))
        self.grads[1][...] = np.hstack((dWhz, dWhr, dWhh))
        self.grads[2][...] = np.hstack((dbz, dbr, dbh))
        return dx, dh_prev


class TimeGRU(TimeRNN):
    """T textbook GRU cells over xs (N, T, D); carries `h` between calls when stateful."""

    cell = GRU


class LSTM(Cell):
    """One LSTM step with its own cache: forward(x, h_prev, c_prev) -> (h_next, c_next)."""

    def forward(self, x, h_prev, c_prev):
        Wx, Wh, b = self.params
        N, H = h_prev.shape
        A = np.dot(x, Wx) + np.dot(h_prev, Wh) + b                  # (N, 4H)
        f = sigmoid(A[:, :H])
        g = np.tanh(A[:, H:2 * H])
        i = sigmoid(A[:, 2 * H:3 * H])
        o = sigmoid(A[:, 3 * H:])
        c_next = f * c_prev + g * i
        h_next = o * np.tanh(c_next)
        self.cache = (x, h_prev, c_prev, i, f, g, o, c_next)
        return h_next, c_next

    def backward(self, dh_next, dc_next):
        Wx, Wh, b = self.params
        x, h_prev, c_prev, i, f, g, o, c_next = self.cache
        tanh_c_next = np.tanh(c_next)
        ds = dc_next + (dh_next * o) * (1 - tanh_c_next ** 2)       # total gradient into c_next
        dc_prev = ds * f
        di = ds * g
        df = ds * c_prev
        do = dh_next * tanh_c_next
        dg = ds * i
        di *= i * (1 - i)
        df *= f * (1 - f)
        do *= o * (1 - o)
        dg *= 1 - g ** 2
        dA = np.hstack((df, dg, di, do))                            # (N, 4H)
        self.grads[0][...] = np.dot(x.T, dA)
        self.grads[1][...] = np.dot(h_prev.T, dA)
        self.grads[2][...] = dA.sum(axis=0)
        dx = np.dot(dA, Wx.T)
        dh_prev = np.dot(dA, Wh.T)
        return dx, dh_prev, dc_prev


class TimeLSTM(TimeRNN):
    """T textbook LSTM cells over xs (N, T, D); carries `h` and `c` between calls when stateful."""

    cell = LSTM
    state_names = ("h", "c")
    options = GATE_BIAS_OPTIONS   # the config keys model.* it takes: an LSTM's gate biases

    def __init__(self, Wx, Wh, b, stateful=False):
        super().__init__(Wx, Wh, b, stateful)
        self.c, self.dc = None, None

    def set_state(self, h, c=None):
        dtype = self.params[0].dtype
        self.h = np.array(h, dtype=dtype)
        self.c = np.zeros_like(self.h) if c is None else np.array(c, dtype=dtype)

    def step(self, layer, x):
        self.h, self.c = layer.forward(x, self.h, self.c)
        return self.h

    def step_back(self, layer, dh_t):
        dx, self.dh, self.dc = layer.backward(dh_t + self.dh, self.dc)
        return dx
