"""The gradient check of a recurrent layer (`train gradcheck`, and before a plug-in cell trains).

In float64 on a small batch, the layer is built as the trainer builds it, CLASS(Wx, Wh, b,
stateful=...) (by checks/under_test.py), and its analytic gradients (the arrays in `grads` it
was built with, which are what an optimizer holds), dx and the gradient into the carried state
(dh, and dc when it carries c) are compared with central finite differences of
L = sum(hs * dhs) for a fixed random upstream gradient dhs, from a zero state and from a
carried one. Then the book's contract: grads written in place, params left alone by backward,
float64 kept, the state carried between calls when stateful and not otherwise, and a new batch
size taken without breaking. Where the layer's shape matches a package cell (gates 1, 3, 4:
rnn, gru, lstm), its forward is compared with that cell's on the same weights. When something
fails, checks/mistakes.py tests the known mistakes as hypotheses against the layer's own
numbers, and checks/gates.py whether a class without a `gates` attribute runs with k blocks of
H columns (a book-style LSTM or GRU).
"""
from dataclasses import dataclass, field

import numpy as np

from trainer.checks.numeric import numerical_grad, relative_error
from trainer.checks.under_test import LayerFailed, LayerUnderTest, package_layer, shape_of
from trainer.errors import BadInput

TOLERANCE = 1e-6        # relative error of a right float64 gradient: about 1e-9
SIZES = {"D": 3, "H": 4, "N": 2, "T": 4}


@dataclass
class Quantity:
    """One line of the check: what was compared, its relative error (None: a yes/no check), and
    whether it passed; `note` says what a failure means."""

    name: str
    error: float | None
    ok: bool
    note: str = ""


@dataclass
class Result:
    """The whole check: a line per quantity, the forward compared with the package's cell, and
    (when something failed) the diagnosis lines."""

    spec: str
    rows: list = field(default_factory=list)
    forward: tuple | None = None          # (package cell, max |difference|)
    diagnosis: list = field(default_factory=list)
    findings: list = field(default_factory=list)   # (mistake, fix) of each known mistake that fits
    seconds: float = 0.0

    @property
    def passed(self):
        return all(r.ok for r in self.rows)

    @property
    def failed(self):
        return [r for r in self.rows if not r.ok]

    def lines(self):
        """The report as text lines, as `train gradcheck` prints it."""
        width = max(len(r.name) for r in self.rows)
        out = []
        for r in self.rows:
            err = f"{r.error:9.2e}" if r.error is not None else f"{'':9}"
            out.append(f"{r.name:<{width}}  {err}  {'ok' if r.ok else 'FAILED'}"
                       + (f"  {r.note}" if r.note and not r.ok else ""))
        if self.forward is not None:
            kind, diff = self.forward
            same = "the same cell" if diff < 1e-9 else "not the same function"
            out.append(f"forward vs the package's {kind} on the same weights: max difference "
                       f"{diff:.2e} ({same})")
        out += self.diagnosis
        return out


# a check estimated (by estimate_seconds) to take longer is refused before it starts
MAX_SECONDS = 60.0


def estimate_seconds(sizes, gates, states=2):
    """About how long a check of these sizes takes, on the slow side (the book's layers, a cell
    object per step): one forward per finite difference, two per entry of every parameter
    (from a zero and a carried state), of xs and of the carried state. The check at its
    default sizes: well under a second; H = D = N = T = 64: days."""
    D, H, N, T = (sizes[k] for k in "DHNT")
    evals = 2 * (2 * gates * H * (D + H + 1) + N * T * D + N * H * states)
    per_eval = T * 1e-4 + N * T * gates * H * (D + H + 1) * 2e-9   # Python per step + the flops
    return evals, evals * per_eval


def check(cell, sizes=None, seed=0, diagnose=True):
    """The gradient check of a resolved cell (trainer.plugins.cells.Cell); a Result. Raises
    BadInput when the layer cannot be checked at all (not buildable, wrong shapes) or would take
    far too long at these sizes (refused before it starts). A class
    without a `gates` attribute that fails as a 1-gate layer but runs with k blocks of H
    columns (a book-style TimeLSTM, k = 4; TimeGRU, 3) is told to set gates = k."""
    import time
    start = time.perf_counter()
    sizes = {**SIZES, **(sizes or {})}
    evals, seconds = estimate_seconds(sizes, cell.gates, len(cell.state_names))
    if seconds > MAX_SECONDS:
        shown = ", ".join(f"{k} {sizes[k]}" for k in "NTDH")
        took = f"{seconds / 3600:.0f} hours" if seconds >= 7200 else f"{seconds / 60:.0f} minutes"
        raise BadInput(f"{cell.spec}: a check at {shown} runs the layer about {evals:,} times "
                       f"(finite differences of every weight, input and state entry): roughly "
                       f"{took}, over the {MAX_SECONDS:.0f} s allowed; lower --hidden, --inputs, "
                       "--batch or --steps (the defaults take well under a second)")
    try:
        result = run_check(cell, sizes, seed, diagnose)
    except BadInput as e:
        from trainer.checks.gates import gates_mistake, undeclared_gates
        found = undeclared_gates(cell, sizes, seed, run_check)
        if found is None:
            raise
        k, _ = found
        raise BadInput(f"{e}; {gates_mistake(cell, k, sizes)}: set gates = {k} on the class "
                       f"{cell.cls.__name__}") from None
    if diagnose and not result.passed:
        from trainer.checks.gates import gates_diagnosis, undeclared_gates
        found = undeclared_gates(cell, sizes, seed, run_check)
        if found is not None:
            gates_diagnosis(cell, result, *found, sizes)
    result.seconds = time.perf_counter() - start
    return result


def run_check(cell, sizes, seed, diagnose):
    """The check itself, on sizes already filled in (check() adds the undeclared gates)."""
    under_test = LayerUnderTest(cell, sizes, np.random.default_rng(seed))
    result = Result(cell.spec)
    try:
        facts = _gradients(under_test, result)
        _contract(under_test, result)
    except LayerFailed as e:
        result.rows.append(Quantity(f"{e.method}", None, False, str(e).splitlines()[0][:200]))
        facts = {"raised": e}
    _compare_forward(under_test, result)
    if diagnose and not result.passed:
        from trainer.checks.mistakes import diagnose as explain
        result.diagnosis = explain(under_test, result, facts)
    return result


def param_names(layer):
    """How the report names each parameter: its declared or usual name, else params[i]."""
    from trainer.layers import param_names as names
    n = len(layer.params)
    declared = getattr(layer, "param_names", None)
    return list(names(layer)) if n == 3 or (declared and len(declared) == n) else \
        [f"params[{i}]" for i in range(n)]


def _gradients(under_test, result):
    """The finite-difference rows; returns what the diagnosis needs."""
    layer = under_test.build(stateful=False)
    grads0, list0 = list(layer.grads), layer.grads
    params0 = [p.copy() for p in layer.params]
    hs = under_test.forward(layer)
    dxs = under_test.backward(layer)
    changed = [i for i, (p, q) in enumerate(zip(layer.params, params0)) if not np.array_equal(p, q)]
    rebound = [i for i, g in enumerate(layer.grads) if g is not grads0[i]] if \
        layer.grads is list0 and len(layer.grads) == len(grads0) else list(range(len(grads0)))
    left_in_grads = list(layer.grads)
    analytic = [g.copy() for g in grads0]       # what an optimizer holding `grads` sees
    for p, q in zip(layer.params, params0):     # undo an update made inside backward
        p[...] = q
    numeric = [numerical_grad(lambda: under_test.loss(layer), p) for p in layer.params]
    numeric_dx = numerical_grad(lambda: under_test.loss(layer), under_test.xs)
    names = param_names(layer)
    errors = [relative_error(a, n) for a, n in zip(analytic, numeric)]

    stateful = under_test.build(stateful=True)
    s_grads = list(stateful.grads)
    under_test.set_state(stateful, under_test.state0)
    under_test.forward(stateful)
    under_test.backward(stateful)
    carried = {n: getattr(stateful, f"d{n}", None) for n in under_test.state_names}
    s_analytic = [g.copy() for g in s_grads]

    def from_state():
        under_test.set_state(stateful, under_test.state0)
        return under_test.loss(stateful)

    for p, q in zip(stateful.params, params0):
        p[...] = q
    s_numeric = [numerical_grad(from_state, p) for p in stateful.params]
    for name, a, n, sa, sn in zip(names, analytic, numeric, s_analytic, s_numeric):
        err = max(relative_error(a, n), relative_error(sa, sn))
        result.rows.append(Quantity(name, err, err < TOLERANCE, "the gradient an optimizer sees "
                                    "differs from finite differences"))
    err_dx = relative_error(dxs, numeric_dx)
    result.rows.append(Quantity("dx", err_dx, err_dx < TOLERANCE))
    for name, state in zip(under_test.state_names, under_test.state0):
        numeric_state = numerical_grad(from_state, state)
        got = carried[name]
        if got is None or np.shape(got) != state.shape:
            result.rows.append(Quantity(f"d{name} (into the carried {name})", None, False,
                                        f"after backward, d{name} is {shape_of(got)}, expected an "
                                        f"array of shape {state.shape}"))
            continue
        err = relative_error(got, numeric_state)
        result.rows.append(Quantity(f"d{name} (into the carried {name})", err, err < TOLERANCE))
    return {"hs": hs, "dxs": dxs, "analytic": analytic, "left_in_grads": left_in_grads,
            "numeric": numeric,
            "numeric_dx": numeric_dx, "errors": errors, "changed": changed, "rebound": rebound,
            "names": names}


def _contract(under_test, result):
    """The book's API beyond the gradients: in-place grads, untouched params, float64 kept,
    state carried only when stateful, a new batch size taken."""
    layer = under_test.build(stateful=False)
    grads0, list0 = list(layer.grads), layer.grads
    params0 = [p.copy() for p in layer.params]
    hs = under_test.forward(layer)
    dxs = under_test.backward(layer)
    in_place = layer.grads is list0 and all(g is h for g, h in zip(layer.grads, grads0))
    result.rows.append(Quantity("grads written in place", None, in_place,
                                "backward rebinds grads (grads[i] = ...): an optimizer holds the "
                                "arrays from construction and never sees the new ones"))
    untouched = all(np.array_equal(p, q) for p, q in zip(layer.params, params0))
    result.rows.append(Quantity("params unchanged by backward", None, untouched,
                                "backward changed the weights"))
    dtypes = {"hs": np.asarray(hs).dtype, "dxs": np.asarray(dxs).dtype,
              **{f"grads[{i}]": g.dtype for i, g in enumerate(layer.grads)}}
    narrow = [k for k, d in dtypes.items() if d != np.float64]
    result.rows.append(Quantity("float64 kept", None, not narrow,
                                f"{', '.join(f'{k} is {dtypes[k]}' for k in narrow)} for float64 "
                                "parameters"))
    again = under_test.forward(layer)
    result.rows.append(Quantity("stateful=False starts from zeros", _diff(hs, again),
                                _diff(hs, again) < 1e-12, "a second forward gave other outputs"))
    carry = under_test.build(stateful=True)
    half = under_test.T // 2
    parts = [under_test.forward(carry, under_test.xs[:, :half]),
             under_test.forward(carry, under_test.xs[:, half:])]
    diff = _diff(np.concatenate(parts, axis=1), hs)
    result.rows.append(Quantity("stateful=True carries the state", diff, diff < 1e-12,
                                "two windows read in turn differ from one long window"))
    fresh = under_test.forward(under_test.build(stateful=False), under_test.xs_wider)
    try:
        other = under_test.forward(carry, under_test.xs_wider)
        diff = _diff(other, fresh)
        ok, note = diff < 1e-12, "a new batch size did not start from zeros"
    except LayerFailed as e:
        diff, ok, note = None, False, str(e)[:200]
    result.rows.append(Quantity(f"new batch size (N {under_test.N} -> {under_test.N + 1}, "
                                "stateful)", diff, ok, note))


def _compare_forward(under_test, result):
    """The layer's forward beside the package's cell of its shape, on the same weights."""
    kind = under_test.cell.kind
    if kind is None or under_test.cell.spec == kind:
        return
    try:
        hs = np.asarray(under_test.forward(under_test.build(stateful=False)), np.float64)
    except (LayerFailed, BadInput):
        return
    ref = package_layer(kind)(*(w.copy() for w in under_test.weights)).forward(under_test.xs)
    result.forward = (kind, _diff(hs, ref))


def _diff(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max()) if a.shape == b.shape else float("inf")
