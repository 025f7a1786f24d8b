"""summary.json as strict JSON on the way out, and checked field by field on the way in.

A summary is read back by `ls`, `report`, `compare`, `table`, `eval` and the API, and it may
have been edited by hand or planted: `check` names the first field whose type is wrong, the
way checkpoint_check does for checkpoints, so a reader lists the run as unreadable instead
of failing on it. `strict` turns non-finite figures into null and says which they were.
"""
import math
from numbers import Real

NONFINITE = "nonfinite"   # summary key: {"final.val_loss": "inf", ...} for the nulls strict() made


def strict(summary):
    """(a copy fit for strict JSON: non-finite floats as None, {dotted path: "inf"/"-inf"/"nan"})."""
    found = {}

    def clean(v, path):
        if isinstance(v, float) and not math.isfinite(v):
            found[path] = "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
            return None
        if isinstance(v, dict):
            return {k: clean(x, f"{path}.{k}" if path else str(k)) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x, f"{path}[{i}]") for i, x in enumerate(v)]
        return v

    return clean(summary, ""), found


def _number(v):
    return v is None or (isinstance(v, Real) and not isinstance(v, bool))


def _count(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _figures(v):
    return v is None or isinstance(v, dict) and all(isinstance(k, str) and _number(x) for k, x in v.items())


def _best(v):
    return v is None or isinstance(v, dict) and all(
        (_count(x) or x is None) if k in ("epoch", "step") else _number(x) for k, x in v.items())


def _target(v):
    return v is None or (isinstance(v, dict) and _count(v.get("epoch")) and
                         _count(v.get("step")) and all(
        _number(x) if k in ("value", "goal") else (_count(x) or x is None) for k, x in v.items()))


FIELDS = {   # key: (test, what it should be)
    "status": (lambda v: isinstance(v, str), "text"),
    "error": (lambda v: isinstance(v, str), "text"),
    "traceback": (lambda v: isinstance(v, str), "text"),
    "task": (lambda v: isinstance(v, str), "text"),
    "metric": (lambda v: isinstance(v, str), "text"),
    "monitor": (lambda v: isinstance(v, str), "text"),
    "baseline_name": (lambda v: isinstance(v, str), "text"),
    "diverged_what": (lambda v: isinstance(v, str), "text"),
    "plot_error": (lambda v: isinstance(v, str), "text"),
    "steps": (_count, "a count"),
    "total_steps": (_count, "a count"),
    "epochs_done": (_count, "a count"),
    "diverged_at_step": (_count, "a count"),
    "wall_s": (lambda v: _number(v) and (v is None or v >= 0), "a number of seconds"),
    "final": (_figures, "null or an object of figures"),
    "baseline": (_figures, "null or an object of figures"),
    "best": (_best, "null or an object of the best epoch's figures"),
    "target": (_target, "null or an object of epoch, step, sequences and value"),
    "stopped_early": (lambda v: isinstance(v, bool), "true or false"),
    "beats_baseline": (lambda v: v is None or isinstance(v, bool), "true, false or null"),
    "plugins": (lambda v: isinstance(v, dict), "an object"),
    "env": (lambda v: isinstance(v, dict), "an object"),
    NONFINITE: (lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
                "an object of texts"),
}


def check(summary):
    """None when every known field has its type; otherwise what is wrong, on one line."""
    if not isinstance(summary, dict):
        return f"not a JSON object but {_kind(summary)}"
    for key, (test, what) in FIELDS.items():
        if key in summary and not test(summary[key]):
            return f"{key} is {_kind(summary[key])}, expected {what}"
    return None


def _kind(v):
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null",
             int: "a number", float: "a number"}
    return names.get(type(v), type(v).__name__)
