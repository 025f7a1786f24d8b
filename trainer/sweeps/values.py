"""A swept key's values as a sweep file gives them: a list, a grid range { min, max, num, log }
or a random range { min, max, log }, each value checked against the base config as a config
is; a grid's every combination, and a random point's draws.
"""
import itertools
import json
import math

import numpy as np

from trainer.config.keys import split_key
from trainer.errors import ConfigError, suggest

RANGE_KEYS = ("min", "max", "log", "num")
MAX_INT = 2 ** 63 - 2      # the largest integer a range may reach (numpy draws int64)


def apply_changes(base, changes, where, folder):
    """base with changes, checked; a plug-in file a change names is relative to `folder` (the
    sweep file's), one the base config names keeps its own resolution."""
    return base.with_changes(changes, folder=folder, source=where)


def values_of(path, base, method, dotted, spec):
    """The checked values of the swept key `dotted` (a list; a grid range made a list), or a
    random range {min, max, log}; ConfigError naming the sweep file `path` and the key."""
    where = f"{path}: sweep.params.{dotted}"
    section, key = split_key(f"{path} [sweep.params]", dotted)
    if dotted == "train.seed":
        raise ConfigError(f"{where}: list seeds in sweep.seeds, not as a param")
    if section not in base or key not in base[section]:
        # raises: unknown key, with a hint
        apply_changes(base, {dotted: None}, f"{path} [sweep.params]", path.parent)
    if isinstance(spec, list):
        if not spec:
            raise ConfigError(f"{where}: expected a non-empty list of values")
        if len({json.dumps(v) for v in spec}) != len(spec):
            raise ConfigError(f"{where}: a value is listed twice in {spec}")
        for v in spec:
            apply_changes(base, {dotted: v}, f"{path} [sweep.params]", path.parent)
        return list(spec)
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: expected a list of values or a range {{ min, max, log }}")
    refuse_unknown(path, f"sweep.params.{dotted}: ", spec, RANGE_KEYS)
    kind = type(base[section][key])
    lo, hi, log, num = spec.get("min"), spec.get("max"), spec.get("log", False), spec.get("num")
    if kind not in (int, float) or not all(_finite_number(v) for v in (lo, hi)) or not lo <= hi:
        raise ConfigError(f"{where}: a range needs a numeric key and numbers min <= max")
    if not isinstance(log, bool) or (log and lo <= 0):
        raise ConfigError(f"{where}: log must be true or false, and a log range needs min > 0")
    if kind is int and not -MAX_INT <= lo <= hi <= MAX_INT:
        raise ConfigError(f"{where}: an integer range must lie within +-{MAX_INT} "
                          f"(2**63 - 2), got min = {lo!r}, max = {hi!r}")
    for v in (lo, hi):
        apply_changes(base, {dotted: kind(v)}, f"{path} [sweep.params]", path.parent)
    if method == "grid":
        if isinstance(num, bool) or not isinstance(num, int) or num < 1:
            raise ConfigError(f"{where}: a range in a grid needs num, the number of values (>= 1)")
        values = (np.geomspace if log else np.linspace)(lo, hi, num)
        values = [int(round(v)) if kind is int else float(format(v, ".6g")) for v in values]
        return values_of(path, base, method, dotted, list(dict.fromkeys(values)))
    if num is not None:
        raise ConfigError(f"{where}: num goes with method = \"grid\"; random search draws n points")
    return {"min": lo, "max": hi, "log": log}


def combinations(params):
    """Every combination of the listed values, the first key varying slowest."""
    return [dict(zip(params, combo)) for combo in itertools.product(*params.values())]


def draw(rng, base, dotted, spec):
    """One value of a random search: a listed value, or one in the range (uniform, or
    uniform in log); floats to 6 significant digits, integers whole."""
    if isinstance(spec, list):
        return spec[int(rng.integers(len(spec)))]
    lo, hi = spec["min"], spec["max"]
    section, key = dotted.split(".", 1)
    if isinstance(base[section][key], int):  # every integer in [lo, hi] alike (or alike in log)
        if not spec["log"]:
            return int(rng.integers(int(lo), int(hi) + 1))
        return min(int(math.exp(rng.uniform(math.log(lo), math.log(hi + 1)))), int(hi))
    u = rng.uniform(math.log(lo), math.log(hi)) if spec["log"] else rng.uniform(lo, hi)
    return float(format(math.exp(u) if spec["log"] else u, ".6g"))


def refuse_unknown(path, where, table, known):
    """ConfigError for a key of `table` not among `known`, with a close match suggested."""
    for k in table:
        if k not in known:
            raise ConfigError(f"{path}: {where}unknown key {k!r}{suggest(k, known, listing=True)}")


def _finite_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
