"""The known mistakes of a hand-written recurrent layer, tested as hypotheses against the
layer's own numbers when its gradient check fails.

Two kinds of test. Behaviour: grads rebound instead of written in place, weights updated
inside backward, outputs forced to float32, a bias gradient tied to the batch size, a stateful
`h` that breaks on a new batch size. Arithmetic: when the layer's forward is the package's
cell on the same weights, the book's layer with one mistake planted (a mutant below) is run on
the same weights, inputs and upstream gradient; a mistake fits when the mutant's gradients
equal the layer's.
"""
import re

import numpy as np

from trainer.checks.numeric import relative_error
from trainer.checks.under_test import package_layer
from trainer.layers import textbook

FITS = 1e-7   # a mutant's gradients equal the layer's to float64 rounding


class _Mutant(textbook.RNN):
    """The book's RNN cell with a mistake in its local gradient dt = dh_next * (1 - h_next ** 2):
    `planted(dh_next, h_next)` is what its backward multiplies by 1 - h_next ** 2 instead of
    dh_next."""

    def backward(self, dh_next):
        return super().backward(self.planted(dh_next, self.cache[2]))


class NotMultiplied(_Mutant):            # dt = 1 - h_next ** 2
    planted = staticmethod(lambda dh_next, h_next: np.ones_like(dh_next))


class IncomingTwice(_Mutant):            # dt = dh_next * dh_next * (1 - h_next ** 2)
    planted = staticmethod(lambda dh_next, h_next: dh_next * dh_next)


class DerivativeTwice(_Mutant):          # dt = dh_next * (1 - h_next ** 2) ** 2
    planted = staticmethod(lambda dh_next, h_next: dh_next * (1 - h_next ** 2))


class NoCarryBack(textbook.TimeRNN):
    """Each step sees only its own output's gradient: dh_prev is never added to the step before."""

    def step_back(self, layer, dh_t):
        dx, self.dh = layer.backward(dh_t)
        return dx


class NoCarryBackGRU(NoCarryBack):
    cell = textbook.GRU


def _time_rnn(cell):
    """The book's TimeRNN over a mutant cell."""
    return type(cell.__name__ + "RNN", (textbook.TimeRNN,), {"cell": cell})


# ({kind: the book's layer of that kind with the mistake planted}, the mistake, the fix)
MUTANTS = [
    ({"rnn": _time_rnn(NotMultiplied)}, "the activation's derivative is not multiplied by the "
     "incoming gradient: dt = 1 - h_next**2 where the book's RNN.backward has "
     "dt = dh_next * (1 - h_next ** 2)", "dt = dh_next * (1 - h_next ** 2)"),
    ({"rnn": _time_rnn(IncomingTwice)},
     "the incoming gradient is multiplied in twice: dt = dh_next * dh_next * (1 - h_next**2) "
     "(an activation layer's backward(dout) that already multiplies by dout, multiplied by dout "
     "again)", "dt = dh_next * (1 - h_next ** 2)"),
    ({"rnn": _time_rnn(DerivativeTwice)},
     "the activation's derivative is applied twice: dt = dh_next * (1 - h_next**2)**2",
     "apply tanh' = 1 - h_next**2 once"),
    ({"rnn": NoCarryBack, "gru": NoCarryBackGRU}, "the gradient from later steps is not carried "
     "back: each step's backward gets dhs[:, t] without the dh_prev of step t+1",
     "dx, dh = layer.backward(dhs[:, t, :] + dh)"),
]


def diagnose(under_test, result, facts):
    """Lines naming every known mistake whose test fits the layer (or saying none does); each
    one that fits is also kept in `result.findings` as (mistake, fix), for the pre-training
    check's one line."""
    found, tested = [], []
    findings = result.findings

    def fits(mistake, evidence, fix, *more):
        found.append(f"diagnosis: {mistake}; it fits: {evidence}")
        found.append(f"  fix: {fix}")
        found.extend(f"  {line}" for line in more)
        findings.append((re.split(r" \(|: |; ", mistake)[0], fix))

    failed = {r.name: r for r in result.failed}
    raised = facts.get("raised")
    tested.append("grads rebound")
    if facts.get("rebound") or "grads written in place" in failed:
        errors = [relative_error(g, n)
                  for g, n in zip(facts.get("left_in_grads", []), facts.get("numeric", []))]
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
        fits("the weights are updated inside backward (in the book, backward only fills grads; "
             "the optimizer's update(params, grads) changes params)",
             f"backward changed {', '.join(names) or 'params'}",
             "backward only computes gradients; the optimizer updates params after it")
    tested.append("outputs forced to float32")
    if "float64 kept" in failed:
        where = float32_lines(under_test.cls, _file(under_test.cell))
        token = FLOAT32.search(where[0][2].split("#")[0]).group(0) if where else None
        fix = (f"make arrays with the parameters' dtype: change {token} to "
               f"{'dtype=Wx.dtype' if token.startswith('dtype') else 'Wx.dtype'} at "
               f"{_places(where)}" if where else "make arrays with the parameters' dtype "
               "(dtype=Wx.dtype) where they are made (np.empty, np.zeros, astype)")
        more = [f"{_place(f, n)}: {text}" for f, n, text in where]
        grads = _float32_gradients(under_test, facts)
        evidence = failed["float64 kept"].note + (f"; {grads}" if grads else "")
        fits("outputs are forced to float32 (dtype='f' hard-coded, as the book's Time layers write "
             "hs = np.empty((N, T, H), dtype='f')): float32 rounding hides the gradients from "
             "finite differences", evidence, fix, *more)
        if grads.startswith("its gradients differ"):   # float32 is not all that is wrong
            findings.append((f"and {grads.split(':')[0]}", "after the dtype, check it again"))
    tested.append("a bias tied to the batch size")
    bias = _bias_tied(under_test, facts, raised)
    if bias:
        fits("the bias is tied to the batch size (a bias of shape (N, H); the book's b has shape "
             "(H,), broadcast over the batch)", bias, "keep b of shape (H,) and sum its gradient "
             "over the batch: db = dt.sum(axis=0)")
    tested.append("a stateful h that breaks on a new batch size")
    name = next((n for n in failed if n.startswith("new batch size")), None)
    if name:
        where = state_lines(under_test.cls, _file(under_test.cell))
        fits("a stateful h kept from the last batch breaks a batch of another size",
             failed[name].note, "start from zeros when h is None or h.shape != (N, H)"
             + (f" at {_places(where)}" if where else ""),
             *[f"{_place(f, n)}: {text}" for f, n, text in where])
    if "hs" in facts and result.forward is not None and result.forward[1] < 1e-9:
        for mutants, mistake, fix in MUTANTS:
            kind = under_test.cell.kind
            if kind not in mutants:
                continue
            tested.append(mistake.split(":")[0])
            err = _beside(under_test, mutants[kind], facts)[1]
            if err < FITS:
                fits(mistake, f"the layer's gradients equal the book's {kind} with this mistake "
                     f"planted, on the same weights (difference {err:.1e})", fix)
    if not found:
        found.append("diagnosis: none of the known mistakes fits (tested: " + "; ".join(tested)
                     + "); compare backward with the book's layer in trainer/layers/textbook.py")
    return found


# dtype='f' / "float32" / 'f4', np.float32, astype('f'): a float32 array whatever the params' dtype
FLOAT32 = re.compile(r"""dtype\s*=\s*(['"])(f|f4|float32)\1|\b(np|numpy)\.float32\b|"""
                     r"""\.astype\(\s*(['"])(f|f4|float32)\4""")
# the book's `if not self.stateful or self.h is None:` without a look at the batch size
STATE_TEST = re.compile(r"\bif\b.*\bself\.h is None\b")


def float32_lines(cls, file=None):
    """[(file, line, text)] of the lines of the layer's class (else of its module, where a
    step class may make them) that make float32 arrays whatever the parameters' dtype."""
    return _source_lines(cls, lambda code: FLOAT32.search(code), file)


def state_lines(cls, file=None):
    """[(file, line, text)] of the lines that keep a stateful h without comparing its shape
    with the new batch's."""
    return _source_lines(cls, lambda code: STATE_TEST.search(code) and "shape" not in code,
                         file, module=False)


def _file(cell):
    """The file a plug-in was found in, as found (a file plug-in's source is loaded once per
    process, so its module may name another copy of the same text)."""
    found = getattr(cell, "found", None)
    return found.file if found is not None and found.origin == "file" else None


def _source_lines(cls, match, file=None, module=True):
    import inspect
    import sys
    try:
        file = file or inspect.getsourcefile(cls) or inspect.getfile(cls)
        lines, first = inspect.getsourcelines(cls)
    except (OSError, TypeError):
        return []
    hits = [(file, first + i, line.strip()) for i, line in enumerate(lines)
            if match(line.split("#")[0])]
    if not hits and module:
        try:
            lines, first = inspect.getsourcelines(sys.modules[cls.__module__])
        except (KeyError, OSError, TypeError):
            return []
        hits = [(file, first + i, line.strip()) for i, line in enumerate(lines)
                if match(line.split("#")[0])]
    return hits


def _place(file, line):
    """FILE:LINE, the file relative to the current directory when it is below it."""
    from pathlib import Path
    path = Path(file)
    try:
        path = path.resolve().relative_to(Path.cwd().resolve())
    except (OSError, ValueError):
        pass
    return f"{path}:{line}"


def _places(where):
    """FILE:57, 60 and 75 (the file once, its lines after it)."""
    out, last = [], None
    for file, line, _ in where:
        out.append(_place(file, line) if file != last else str(line))
        last = file
    return ", ".join(out[:-1]) + (" and " if len(out) > 1 else "") + out[-1]


def _float32_gradients(under_test, facts):
    """Whether a float32 layer's gradients are those of the package's cell of its shape to
    float32 rounding (so the dtype is its only fault), as a phrase; '' when untested."""
    kind = under_test.cell.kind
    if "hs" not in facts or kind is None:
        return ""
    forward, err = _beside(under_test, package_layer(kind), facts)
    if forward > 1e-5:
        return ""
    if err < 1e-5:
        return (f"its gradients are the package's {kind}'s to float32 rounding (difference "
                f"{err:.1e}): the dtype is all that is wrong with them")
    return (f"its gradients differ from the package's {kind}'s by {err:.1e}, more than float32 "
            "rounding: after the dtype, check it again")


def _beside(under_test, reference, facts):
    """A reference layer class run on the layer's weights, inputs and upstream gradient: the
    relative error of the layer's forward, and the largest of its gradients (param grads as
    backward left them, and dx), against the reference's."""
    ref = reference(*(w.copy() for w in under_test.weights))
    hs = ref.forward(under_test.xs)
    dxs = ref.backward(under_test.dhs)
    left = facts["left_in_grads"]
    grads = left if len(left) == len(ref.grads) else facts["analytic"]
    errors = [relative_error(a, b) for a, b in zip(grads, ref.grads)]
    return relative_error(facts["hs"], hs), max(errors + [relative_error(facts["dxs"], dxs)])


def _bias_tied(under_test, facts, raised):
    """Evidence that the bias gradient depends on the batch: backward failed to write a
    (N, kH) gradient into b's (kH,) array, or db is the batch mean instead of the sum."""
    if raised is not None:
        text = str(raised.error)
        N, width = under_test.N, under_test.weights[2].shape[0]
        if raised.method == "backward" and "broadcast" in text and f"({N},{width})" in \
                text.replace(" ", ""):
            return f"backward raised: {type(raised.error).__name__}: {text}"
        return None
    names, analytic, numeric = facts.get("names", []), facts.get("analytic"), facts.get("numeric")
    if "b" not in names:
        return None
    i = names.index("b")
    a, n = analytic[i], numeric[i]
    for factor, what in ((1 / under_test.N, "the batch mean"), (under_test.N, "N times the sum")):
        if relative_error(a, n * factor) < FITS and relative_error(a, n) > 1e-6:
            return f"db is {what} of the per-example gradients, not their sum"
    return None
