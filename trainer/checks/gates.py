"""A gated layer that does not say so: a class without a `gates` attribute is built with one
block of H columns (Wx (D, H)); a book-style TimeLSTM (4 blocks) or TimeGRU (3) then fails in
its forward. When such a class fails its check, it is checked again with k blocks; the first k
with which it runs is what its shapes say, and the diagnosis tells it to set gates = k."""
import dataclasses

from trainer.errors import BadInput

GATES_TRIED = (4, 3, 2)   # an LSTM, a GRU, a two-gate cell


def undeclared_gates(cell, sizes, seed, run_check):
    """(k, the check's Result with k gates) when the class says nothing of its gates, is
    built with 1 and its forward and backward run only with k blocks of H columns in Wx, Wh
    and b (a passing k first); None otherwise. `run_check` is cell_check's check without
    this retry (handed over, so that this module imports none of it)."""
    if cell.gates != 1 or any("gates" in vars(c) for c in cell.cls.__mro__):
        return None
    running = []
    for k in GATES_TRIED:
        try:
            result = run_check(dataclasses.replace(cell, gates=k), sizes, seed, diagnose=True)
        except BadInput:
            continue
        if result.passed:
            return k, result
        if not any(r.name in ("forward", "backward") for r in result.failed):
            running.append((k, result))
    return running[0] if running else None


def gates_mistake(cell, k, sizes):
    """What the shapes say, as a phrase naming the sizes the layer runs with."""
    D, H = sizes["D"], sizes["H"]
    return (f"its shapes say it has {k} gates (it runs with Wx ({D}, {k * H}), Wh ({H}, {k * H}), "
            f"b ({k * H},): {k} blocks of H = Wh.shape[0] = {H} columns), but {cell.cls.__name__} "
            f"has no `gates` attribute, so it is built with 1 (Wx ({D}, {H}))")


def gates_diagnosis(cell, result, k, with_k, sizes):
    """The undeclared gates first in the diagnosis, then what the check says with k gates."""
    name = cell.cls.__name__
    lines = [f"diagnosis: {gates_mistake(cell, k, sizes)}",
             f"  fix: set gates = {k} on the class ({name}.gates = {k}, or `gates = {k}` in its "
             "body), as the package's lstm (4) and gru (3) have"]
    findings = [(f"{name} has {k} gates but no `gates` attribute", f"set gates = {k} on the class")]
    if with_k.passed:
        lines.append(f"  with gates = {k}: all {len(with_k.rows)} checks pass")
    else:
        names = ", ".join(r.name for r in with_k.failed)
        lines.append(f"  with gates = {k}: {len(with_k.failed)} of {len(with_k.rows)} checks fail "
                     f"({names}):")
        lines += [f"  {line}" for line in with_k.diagnosis]
        findings += [(f"with gates = {k}, {m}", fix) for m, fix in with_k.findings]
    result.diagnosis = lines
    result.findings[:] = findings
