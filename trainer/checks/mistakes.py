"""The known mistakes of a hand-written recurrent layer, tested as hypotheses against the
layer's own numbers when its gradient check fails.

Two kinds of test. Behaviour: grads rebound instead of written in place, weights updated
inside backward, outputs forced to float32, a bias gradient tied to the batch size, a stateful
`h` that breaks on a new batch size. Arithmetic: when the layer's forward is the package's
cell on the same weights, the book's layer with one mistake planted (a mutant below) is run on
the same weights, inputs and upstream gradient; a mistake fits when the mutant's gradients
equal the layer's.
"""
import numpy as np

from trainer.checks.numeric import relative_error
from trainer.layers import textbook

FITS = 1e-7   # a mutant's gradients equal the layer's to float64 rounding


class _Cell(textbook.RNN):
    """The book's RNN cell with its local gradient dt(dh_next, h_next) replaceable."""

    @staticmethod
    def local(dh_next, h_next):
        return dh_next * (1 - h_next ** 2)

    def backward(self, dh_next):
        Wx, Wh, b = self.params
        x, h_prev, h_next = self.cache
        dt = self.local(dh_next, h_next)                             # (N, H)
        self.grads[0][...] = x.T @ dt
        self.grads[1][...] = h_prev.T @ dt
        self.grads[2][...] = dt.sum(axis=0)
        return dt @ Wx.T, dt @ Wh.T


class NotMultiplied(_Cell):
    local = staticmethod(lambda dh_next, h_next: 1 - h_next ** 2)


class IncomingTwice(_Cell):
    local = staticmethod(lambda dh_next, h_next: dh_next * dh_next * (1 - h_next ** 2))


class DerivativeTwice(_Cell):
    local = staticmethod(lambda dh_next, h_next: dh_next * (1 - h_next ** 2) ** 2)


class _Time(textbook.TimeRNN):
    cell = _Cell


class NoCarryBack(textbook.TimeRNN):
    """Each step sees only its own output's gradient: dh_prev is never added to the step before."""

    def backward(self, dhs):
        Wx = self.params[0]
        N, T, H = dhs.shape
        dxs = np.empty((N, T, Wx.shape[0]), dtype=Wx.dtype)
        grads = [0, 0, 0]
        for t in reversed(range(T)):
            dx, dh = self.layers[t].backward(dhs[:, t, :])
            dxs[:, t, :] = dx
            grads = [g + d for g, d in zip(grads, self.layers[t].grads)]
        for dst, g in zip(self.grads, grads):
            dst[...] = g
        self.dh = dh
        return dxs


class NoCarryBackGRU(NoCarryBack):
    cell = textbook.GRU


# (kinds it applies to, mutant layer class, the mistake, the fix)
MUTANTS = [
    (("rnn",), type("NotMultipliedRNN", (_Time,), {"cell": NotMultiplied}),
     "the activation's derivative is not multiplied by the incoming gradient: "
     "dt = 1 - h_next**2 (seed 002's bug)", "dt = dh_next * (1 - h_next ** 2)"),
    (("rnn",), type("IncomingTwiceRNN", (_Time,), {"cell": IncomingTwice}),
     "the incoming gradient is multiplied in twice: dt = dh_next * dh_next * (1 - h_next**2) "
     "(seed 004's activation.backward(loss) * loss)", "dt = dh_next * (1 - h_next ** 2)"),
    (("rnn",), type("DerivativeTwiceRNN", (_Time,), {"cell": DerivativeTwice}),
     "the activation's derivative is applied twice: dt = dh_next * (1 - h_next**2)**2",
     "apply tanh' = 1 - h_next**2 once"),
    (("rnn",), NoCarryBack, "the gradient from later steps is not carried back: each step's "
     "backward gets dhs[:, t] without the dh_prev of step t+1",
     "dx, dh = layer.backward(dhs[:, t, :] + dh)"),
    (("gru",), NoCarryBackGRU, "the gradient from later steps is not carried back: each step's "
     "backward gets dhs[:, t] without the dh_prev of step t+1",
     "dx, dh = layer.backward(dhs[:, t, :] + dh)"),
]


def diagnose(lt, result, facts):
    """Lines naming every known mistake whose test fits the layer (or saying none does)."""
    found, tested = [], []

    def fits(mistake, evidence, fix):
        found.append(f"diagnosis: {mistake}; it fits: {evidence}")
        found.append(f"  fix: {fix}")

    failed = {r.name: r for r in result.failed}
    raised = facts.get("raised")
    tested.append("grads rebound")
    if facts.get("rebound") or "grads written in place" in failed:
        errors = [relative_error(g, n) for g, n in zip(facts.get("now", []), facts.get("numeric", []))]
        right = errors and max(errors) < 1e-6
        fits("grads are rebound instead of written in place (grads[i] = ... or self.grads = "
             "[...]): an optimizer holds the arrays the layer was built with and never sees the "
             "new ones",
             "backward left new arrays in grads" + (f" that hold the right gradients (error "
                                                    f"{max(errors):.1e})" if right else ""),
             "write into the arrays: self.grads[0][...] = dWx (and so on)")
    tested.append("weights updated inside backward")
    if facts.get("changed") or "params unchanged by backward" in failed:
        names = [facts["names"][i] for i in facts.get("changed", [])]
        fits("the weights are updated inside backward (seed 004)",
             f"backward changed {', '.join(names) or 'params'}",
             "backward only computes gradients; the optimizer updates params after it")
    tested.append("outputs forced to float32")
    if "float64 kept" in failed:
        fits("outputs are forced to float32 (dtype='f' hard-coded, as in the seeds)",
             failed["float64 kept"].note, "make arrays with the parameters' dtype (Wx.dtype)")
    tested.append("a bias tied to the batch size")
    bias = _bias_tied(lt, facts, raised)
    if bias:
        fits("the bias is tied to the batch size (a bias of shape (N, H), as seeds 000 and 003 "
             "have)", bias, "keep b of shape (H,) and sum its gradient over the batch: "
             "db = dt.sum(axis=0)")
    tested.append("a stateful h that breaks on a new batch size")
    name = next((n for n in failed if n.startswith("new batch size")), None)
    if name:
        fits("a stateful h kept from the last batch breaks a batch of another size",
             failed[name].note, "start from zeros when h is None or h.shape != (N, H)")
    if "hs" in facts and result.forward is not None and result.forward[1] < 1e-9:
        for kinds, mutant, mistake, fix in MUTANTS:
            if lt.cell.kind not in kinds:
                continue
            tested.append(mistake.split(":")[0])
            err = _mutant_error(lt, mutant, facts)
            if err < FITS:
                fits(mistake, f"the layer's gradients equal the book's {lt.cell.kind} with this "
                     f"mistake planted, on the same weights (difference {err:.1e})", fix)
    if not found:
        found.append("diagnosis: none of the known mistakes fits (tested: " + "; ".join(tested)
                     + "); compare backward with the book's layer in trainer/layers/textbook.py")
    return found


def _mutant_error(lt, mutant, facts):
    """How far the layer's gradients (param grads as it left them, and dx) are from the
    mutant's on the same weights, inputs and upstream gradient."""
    ref = mutant(*(w.copy() for w in lt.weights))
    ref.forward(lt.xs)
    dxs = ref.backward(lt.R)
    layer_grads = facts["now"] if len(facts["now"]) == 3 else facts["analytic"]
    errors = [relative_error(a, b) for a, b in zip(layer_grads, ref.grads)]
    return max(errors + [relative_error(facts["dxs"], dxs)])


def _bias_tied(lt, facts, raised):
    """Evidence that the bias gradient depends on the batch: backward failed to write a
    (N, kH) gradient into b's (kH,) array, or db is the batch mean instead of the sum."""
    if raised is not None:
        text = str(raised.error)
        N, width = lt.N, lt.weights[2].shape[0]
        if raised.method == "backward" and "broadcast" in text and f"({N},{width})" in \
                text.replace(" ", ""):
            return f"backward raised: {type(raised.error).__name__}: {text}"
        return None
    names, analytic, numeric = facts.get("names", []), facts.get("analytic"), facts.get("numeric")
    if "b" not in names:
        return None
    i = names.index("b")
    a, n = analytic[i], numeric[i]
    for factor, what in ((1 / lt.N, "the batch mean"), (lt.N, "N times the sum")):
        if relative_error(a, n * factor) < FITS and relative_error(a, n) > 1e-6:
            return f"db is {what} of the per-example gradients, not their sum"
    return None
