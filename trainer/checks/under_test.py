"""The layer under a gradient check: fresh copies of it built on fixed float64 weights, inputs
and upstream gradient, run with its failures turned into bad input (cannot be checked) or
LayerFailed (a failed check); and the package's layer of the same shape, to compare with."""
import numpy as np

from trainer.errors import BadInput, guest_exit
from trainer.layers import state_names


class LayerUnderTest:
    """Builds fresh copies of the layer under test on fixed float64 weights, and runs it."""

    def __init__(self, cell, sizes, rng):
        self.cell, self.cls = cell, cell.cls
        self.D, self.H, self.N, self.T = (sizes[k] for k in "DHNT")
        k, D, H = cell.gates, self.D, self.H
        self.weights = [rng.standard_normal((D, k * H)) / np.sqrt(D),
                        rng.standard_normal((H, k * H)) / np.sqrt(H),
                        0.5 * rng.standard_normal(k * H)]
        self.xs = rng.standard_normal((self.N, self.T, D))
        self.dhs = rng.standard_normal((self.N, self.T, H))
        self.state_names = tuple(state_names(self.cls))
        self.state0 = [0.5 * rng.standard_normal((self.N, H)) for _ in self.state_names]
        self.xs_wider = rng.standard_normal((self.N + 1, self.T, D))

    def build(self, stateful):
        """A new layer on copies of the weights; an error is bad input naming the class."""
        try:
            layer = self.cls(*(w.copy() for w in self.weights), stateful=stateful)
        except (SystemExit, KeyboardInterrupt) as e:
            self.exited(e, "__init__")
        except Exception as e:
            raise BadInput(f"{self.cell.spec}: cannot be built as {self.cls.__name__}(Wx, Wh, b, "
                           f"stateful={stateful}) with Wx {self.weights[0].shape}, Wh "
                           f"{self.weights[1].shape}, b {self.weights[2].shape}: "
                           f"{type(e).__name__}: {e}") from None
        params, grads = getattr(layer, "params", None), getattr(layer, "grads", None)
        if not isinstance(params, list) or not isinstance(grads, list) or not params or \
                len(params) != len(grads):
            raise BadInput(f"{self.cell.spec}: expected `params` and `grads`, lists of arrays of "
                           "the same length (the book's layer API)")
        for i, (p, g) in enumerate(zip(params, grads)):
            if not isinstance(p, np.ndarray) or not isinstance(g, np.ndarray) or p.shape != g.shape:
                raise BadInput(f"{self.cell.spec}: params[{i}] and grads[{i}] must be arrays of "
                               f"the same shape, got {shape_of(p)} and {shape_of(g)}")
        return layer

    def forward(self, layer, xs=None):
        xs = self.xs if xs is None else xs
        hs = self.run(layer, "forward", xs)
        N, T = xs.shape[:2]
        if not isinstance(hs, np.ndarray):   # training slices, reshapes and writes into it
            raise BadInput(f"{self.cell.spec}: forward(xs) with xs {xs.shape} returned shape "
                           f"{shape_of(hs)}: a {type(hs).__name__}, expected a numpy array of "
                           "shape "
                           f"{(N, T, self.H)} (N, T, H)")
        if np.shape(hs) != (N, T, self.H):
            raise BadInput(f"{self.cell.spec}: forward(xs) with xs {xs.shape} returned shape "
                           f"{shape_of(hs)}, expected {(N, T, self.H)} (N, T, H)")
        return hs

    def backward(self, layer):
        dxs = self.run(layer, "backward", self.dhs)
        if not isinstance(dxs, np.ndarray):
            raise BadInput(f"{self.cell.spec}: backward(dhs) returned shape {shape_of(dxs)}: a "
                           f"{type(dxs).__name__}, expected a numpy array of shape {self.xs.shape} "
                           "(N, T, D)")
        if np.shape(dxs) != self.xs.shape:
            raise BadInput(f"{self.cell.spec}: backward(dhs) returned shape {shape_of(dxs)}, "
                           f"expected {self.xs.shape} (N, T, D), the gradient of xs")
        return dxs

    def run(self, layer, method, *args):
        try:
            return getattr(layer, method)(*args)
        except (SystemExit, KeyboardInterrupt) as e:
            self.exited(e, method)
        except Exception as e:
            raise LayerFailed(method, e) from e

    def exited(self, error, method):
        """The layer's code called sys.exit() or raised KeyboardInterrupt itself: it cannot be
        checked (bad input, naming it); a real Ctrl-C passes on."""
        phrase = guest_exit(error)
        if phrase is None:
            raise error
        raise BadInput(f"{self.cell.spec}: {method} {phrase}; a layer returns or raises an "
                       "exception, it never ends the process") from None

    def loss(self, layer):
        return float(np.sum(np.asarray(self.forward(layer), np.float64) * self.dhs))

    def set_state(self, layer, state):
        self.run(layer, "set_state", *state)


class LayerFailed(Exception):
    """The layer raised inside forward or backward (the cause is kept)."""

    def __init__(self, method, error):
        super().__init__(f"{method} raised {type(error).__name__}: {error}")
        self.method, self.error = method, error


def package_layer(kind):
    """The package's fast layer of a kind (rnn, lstm, gru) that a layer's forward and gradients
    are compared with."""
    from trainer.layers import TimeGRU, TimeLSTM, TimeRNN
    return {"rnn": TimeRNN, "lstm": TimeLSTM, "gru": TimeGRU}[kind]


def shape_of(a):
    """An array's shape, or the type name of what is not an array, for a message."""
    return getattr(a, "shape", type(a).__name__)
