"""Tune files: a base config, fixed overrides, and the search space Optuna samples from.

    base = "adding"                 # a shipped config's name or a path (relative to this file)
    [set]                           # optional fixed overrides
    [tune]                          # objective, seeds, trials, sampler, pruner, seed, per
    [tune.params]                   # "section.key" = {low, high, log, step} or {choices = [...]}

Everything is checked before anything is written or imported from Optuna: a key that does
not exist, low >= high, a log range with low <= 0, a value out of the key's range, a
categorical of one value; each problem is a ConfigError of one line. This module imports
no Optuna: `train tune --dry-run` and the checks work without the extra.
"""
import json
import math
from dataclasses import dataclass
from pathlib import Path

from trainer.config import load as config_mod, tomlio
from trainer.config.keys import split_key
from trainer.errors import ConfigError, suggest
from trainer.sweeps.spec import subtable
from trainer.rundir.layout import TUNE_FILE

TOP_KEYS = ("base", "set", "tune")
TUNE_KEYS = ("objective", "seeds", "trials", "sampler", "pruner", "seed", "per", "params")
RANGE_KEYS = ("low", "high", "log", "step")
SAMPLERS = ("tpe", "random", "grid", "cmaes")
PRUNERS = ("none", "median", "halving", "hyperband", "wilcoxon")
MAX_TRIALS = 10_000


@dataclass(frozen=True)
class Param:
    """One searched key: a range (low, high, log, step) of its config type, or choices."""

    key: str
    kind: type                 # int or float for a range; None for choices
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple | None = None

    def describe(self):
        if self.choices is not None:
            return f"one of {list(self.choices)}"
        scale = "log-uniform" if self.log else "uniform"
        step = f", step {self.step:g}" if self.step is not None else ""
        return f"{self.kind.__name__} {scale} in [{self.low:g}, {self.high:g}]{step}"

    def grid_values(self):
        """Every value of a grid over this key, or None when it has infinitely many."""
        if self.choices is not None:
            return list(self.choices)
        if self.kind is int:
            step = int(self.step or 1)
            return list(range(int(self.low), int(self.high) + 1, step))
        if self.step is not None:
            n = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
            return [float(format(self.low + i * self.step, ".12g")) for i in range(n)]
        return None

    def to_toml_value(self):
        if self.choices is not None:
            return {"choices": list(self.choices)}
        out = {"low": self.kind(self.low), "high": self.kind(self.high)}
        if self.log:
            out["log"] = True
        if self.step is not None:
            out["step"] = self.kind(self.step)
        return out


@dataclass(frozen=True)
class Tune:
    """A tune file as resolved: the base config (with [set]) and the search."""

    source: str
    base: config_mod.Config
    objective: str
    seeds: tuple
    trials: int
    sampler: str
    pruner: str
    seed: int
    params: tuple              # of Param, the per key excluded
    per: str | None = None
    arms: tuple = (None,)      # the per key's values, or (None,) without per

    @property
    def lower(self):
        from trainer.model.metrics import lower_is_better
        return lower_is_better(self.objective)

    @property
    def direction(self):
        return "minimize" if self.lower else "maximize"

    @property
    def epochs(self):
        return self.base["train"]["epochs"]

    def arm_name(self, arm):
        """The study's name in the journal, and the prefix of the arm's run names."""
        if self.per is None:
            return "study"
        from trainer.sweeps.spec import format_value
        return f"{self.per.split('.', 1)[1]}={format_value(arm)}"

    def run_name(self, arm, number, seed):
        prefix = "" if self.per is None else self.arm_name(arm) + "-"
        return f"{prefix}trial-{number:04d}-seed-{seed}"

    def config(self, values, seed, arm=None):
        """The full config of a trial's values for one seed (and arm)."""
        changes = dict(values)
        if self.per is not None:
            changes[self.per] = arm
        changes["train.seed"] = seed
        return self.base.with_changes(changes, folder=Path(self.source).parent,
                                      source=f"{self.source}: trial")

    def to_toml(self):
        tune = {"objective": self.objective, "seeds": list(self.seeds), "trials": self.trials,
                "sampler": self.sampler, "pruner": self.pruner, "seed": self.seed}
        if self.per is not None:
            tune["per"] = self.per
        params = {p.key: p.to_toml_value() for p in self.params}
        if self.per is not None:
            params[self.per] = {"choices": list(self.arms)}
        return (f"# The tune file as resolved from {self.source}.\n\n"
                + tomlio.dumps({"tune": tune})
                + "\n[tune.params]\n" + tomlio.dumps_in_order(params) + "\n"
                + tomlio.dumps({"base": self.base.to_dict()}))


def load(path):
    """Read and check a tune file (ConfigError, one line, on any problem)."""
    from trainer.config import shipped
    path = shipped.locate(path)   # a path, or a shipped tune file's name
    if shipped.missing(path):
        raise ConfigError(f"{path}: no such tune file{shipped.hint(path)}")
    return from_data(tomlio.read(path, "tune"), path)


def from_data(data, path=Path("<tune>")):
    """Check a tune file's tables (as read, or given as a dict in Python): `base` and plug-in
    files are relative to path's folder (the current directory for "<tune>")."""
    path = Path(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a tune file's tables (base, [set], [tune])")
    if "sweep" in data and "tune" not in data:
        raise ConfigError(f"{path}: a sweep file ([sweep], no [tune]); run it with "
                          f"`train sweep {path}`, or write a tune file (see docs/tuning.md)")
    _known(path, "", data, TOP_KEYS)
    base = _base(path, data)
    fixed = subtable(path, data, "set")
    if fixed:
        base = base.with_changes(fixed, folder=path.parent, source=f"{path} [set]")
    table = subtable(path, data, "tune")
    _known(path, "tune.", table, TUNE_KEYS)
    objective = table.get("objective", "val_loss")
    if not isinstance(objective, str) or objective not in _figures(base):
        raise ConfigError(f"{path}: tune.objective: {objective!r} is not a figure this task's runs "
                          f"report; expected one of {sorted(_figures(base))}")
    seeds = table.get("seeds", [base["train"]["seed"]])
    if (not isinstance(seeds, list) or not seeds or len(set(map(repr, seeds))) != len(seeds)
            or not all(_int(s) and s >= 0 for s in seeds)):
        raise ConfigError(f"{path}: tune.seeds: expected a list of distinct integers >= 0, "
                          f"such as [0, 1, 2], got {seeds!r}")
    trials = table.get("trials", 20)
    if not _int(trials) or not 1 <= trials <= MAX_TRIALS:
        raise ConfigError(f"{path}: tune.trials: expected an integer from 1 to {MAX_TRIALS}, "
                          f"got {trials!r}")
    sampler, pruner = table.get("sampler", "tpe"), table.get("pruner", "median")
    if sampler not in SAMPLERS:
        raise ConfigError(f"{path}: tune.sampler: expected one of {', '.join(SAMPLERS)}, got "
                          f"{sampler!r}{suggest(str(sampler), SAMPLERS)}")
    if pruner not in PRUNERS:
        raise ConfigError(f"{path}: tune.pruner: expected one of {', '.join(PRUNERS)}, got "
                          f"{pruner!r}{suggest(str(pruner), PRUNERS)}")
    seed = table.get("seed", 0)
    if not _int(seed) or seed < 0:
        raise ConfigError(f"{path}: tune.seed: expected an integer >= 0, got {seed!r}")
    specs = subtable(path, table, "params", "tune.params")
    if not specs:
        raise ConfigError(f"{path}: tune.params: nothing to search; add keys such as "
                          "\"optim.lr\" = {low = 1e-4, high = 1e-1, log = true}")
    params = [_param(path, base, k, v) for k, v in specs.items()]
    per, arms = table.get("per"), (None,)
    if per is not None:
        match = [p for p in params if p.key == per]
        if not isinstance(per, str) or not match or match[0].choices is None:
            raise ConfigError(f"{path}: tune.per: expected a key of [tune.params] given as "
                              f"{{choices = [...]}} (each choice is tuned separately), got {per!r}")
        arms = match[0].choices
        params = [p for p in params if p.key != per]
        if not params:
            raise ConfigError(f"{path}: tune.params: nothing to search besides tune.per {per!r}")
    if sampler == "grid":
        missing = [p.key for p in params if p.grid_values() is None]
        if missing:
            raise ConfigError(f"{path}: tune.params.{missing[0]}: the grid sampler needs choices, "
                              "an integer range or a step")
    tune = Tune(str(path), base, objective, tuple(seeds), trials, sampler, pruner, seed,
                tuple(params), per, tuple(arms))
    for arm in tune.arms:  # every end of every range, with each arm, is a config that checks
        for p in tune.params:
            for v in (p.choices if p.choices is not None else (p.low, p.high)):
                tune.config({p.key: p.kind(v) if p.kind else v}, seeds[0], arm)
    return tune


def _param(path, base, dotted, spec):
    where = f"{path}: tune.params.{dotted}"
    section, key = split_key(f"{path} [tune.params]", dotted)
    if dotted == "train.seed":
        raise ConfigError(f"{where}: list training seeds in tune.seeds, not as a param")
    if section not in base or key not in base[section]:
        base.with_changes({dotted: None}, folder=path.parent, source=f"{path} [tune.params]")
        raise ConfigError(f"{where}: no such config key")
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: expected {{low, high}} (with log or step) or {{choices = [...]}}")
    if "choices" in spec:
        if set(spec) != {"choices"}:
            raise ConfigError(f"{where}: choices go alone, without {sorted(set(spec) - {'choices'})}")
        choices = spec["choices"]
        if not isinstance(choices, list) or len(choices) < 2:
            raise ConfigError(f"{where}: choices: expected a list of at least two values, got "
                              f"{choices!r} (a single value belongs in [set])")
        if len({json.dumps(c) for c in choices}) != len(choices):
            raise ConfigError(f"{where}: a value is listed twice in {choices}")
        if not all(isinstance(c, (str, int, float, bool)) for c in choices):
            raise ConfigError(f"{where}: choices must be numbers, strings or booleans")
        for c in choices:
            base.with_changes({dotted: c}, folder=path.parent, source=f"{path} [tune.params]")
        return Param(dotted, None, choices=tuple(choices))
    _known(path, f"tune.params.{dotted}.", spec, RANGE_KEYS)
    kind = type(base[section][key])
    if kind not in (int, float):
        raise ConfigError(f"{where}: a range needs a numeric key ({dotted} is "
                          f"{kind.__name__}); use {{choices = [...]}}")
    lo, hi, log, step = spec.get("low"), spec.get("high"), spec.get("log", False), spec.get("step")
    if not (_number(lo) and _number(hi)):
        raise ConfigError(f"{where}: expected numbers low and high, got low = {lo!r}, high = {hi!r}")
    if kind is int and not (_int(lo) and _int(hi)):
        raise ConfigError(f"{where}: {dotted} is an integer key; low and high must be integers")
    if not lo < hi:
        raise ConfigError(f"{where}: low must be below high, got low = {lo!r}, high = {hi!r}")
    if not isinstance(log, bool):
        raise ConfigError(f"{where}: log: expected true or false, got {log!r}")
    if log and lo <= 0:
        raise ConfigError(f"{where}: a log range needs low > 0, got low = {lo!r}")
    if step is not None:
        if not _number(step) or step <= 0 or (kind is int and not _int(step)):
            raise ConfigError(f"{where}: step: expected a positive {kind.__name__}, got {step!r}")
        if log:
            raise ConfigError(f"{where}: step and log do not go together (Optuna's rule)")
        if step > hi - lo:
            raise ConfigError(f"{where}: step {step!r} is larger than the range high - low")
    for v in (lo, hi):
        base.with_changes({dotted: kind(v)}, folder=path.parent, source=f"{path} [tune.params]")
    return Param(dotted, kind, kind(lo), kind(hi), log, None if step is None else kind(step))


def _figures(base):
    """The validation figures a run of this config reports each epoch (val_loss, val_<metric>,
    and a task's extra ones, such as aⁿbⁿ's val_long_*) : what an objective may name."""
    from trainer.training.preflight import make_checked_task
    from trainer.training.streams import streams
    out = {"val_loss", f"val_{base.metric}"}
    try:
        task = make_checked_task(base, streams(base["train"]["seed"])["data"])
        for name in getattr(task, "extra_val", None) or {}:
            out |= {f"val_{name}_loss", f"val_{name}_{task.metric}"}
    except Exception:  # the run itself will say what is wrong with the task
        pass
    return out


def _base(path, data):
    base = data.get("base")
    if isinstance(base, dict):  # a resolved tune.toml carries its config inline
        return config_mod.from_dict(base, f"{path} [base]")
    if not isinstance(base, str) or not base:
        raise ConfigError(f"{path}: base: expected a config's path (relative to this file) or a "
                          "shipped config's name, such as base = \"adding\"")
    from trainer.config import shipped  # a path beside the tune file wins, else a shipped config's name
    return config_mod.load(shipped.locate_beside(path, base))


def _known(path, where, table, known):
    for k in table:
        if k not in known:
            raise ConfigError(f"{path}: {where}{k}: unknown key{suggest(k, known, listing=True)}")


def _int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
