"""Sweep files: a base config, fixed overrides and swept keys, expanded into named runs.

Every point is checked as a config is (types, ranges, sizes) before anything
runs or is written; problems are ConfigErrors whose message is one line. A sweep
holds at most MAX_RUNS runs, counted from the file before any point is made. A swept
key's values (lists, grid and random ranges) are checked and drawn in values.py.
"""
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from trainer.config import load as config_mod, shipped, tomlio
from trainer.config.keys import SECTIONS, typed_value
from trainer.errors import ConfigError
from trainer.rundir.layout import check_name
from trainer.sweeps.values import apply_changes, combinations, draw, refuse_unknown, values_of

TOP_KEYS, SWEEP_KEYS = ("base", "set", "sweep"), ("method", "seeds", "n", "seed", "params")
MAX_RUNS = 10_000          # runs in one sweep (values x seeds, or n x seeds)


@dataclass(frozen=True)
class Point:
    """One run of a sweep: its name, the swept values ({"train.bptt": 8}), its seed and config."""

    name: str
    values: dict
    seed: int
    cfg: config_mod.Config


@dataclass(frozen=True)
class Sweep:
    """A sweep as resolved: the base config (with [set] applied) and how to vary it."""

    source: str
    base: config_mod.Config
    method: str
    seeds: tuple
    params: dict          # {"section.key": list of values, or {min, max, log} for random}
    n: int | None = None
    sample_seed: int = 0

    @property
    def keys(self):
        return list(self.params)

    def points(self):
        """The runs, checked and named: grid = product x seeds, random = n draws x seeds."""
        return list(self._points)

    @cached_property
    def _points(self):  # made once: load() checks them, the command line lists or runs them
        combos = combinations(self.params) if self.method == "grid" else self._draws()
        short = short_names(self.keys)
        out, seen = [], {}
        for values in combos:
            for seed in self.seeds:
                name = run_name(values, seed, short)
                if name in seen:
                    raise ConfigError(f"{self.source}: runs {seen[name]} and {values} get the same "
                                      f"name {name!r}; make the values differ more")
                seen[name] = values
                out.append(Point(name, values, seed, self._config(values, seed, name)))
        return tuple(out)

    def _draws(self):
        """n distinct points drawn in turn from the sweep's own generator (a draw equal to an
        earlier one is skipped), so a larger n keeps the points of a smaller one."""
        rng = np.random.default_rng(self.sample_seed)
        out, seen = [], set()
        for _ in range(50 * self.n):
            values = {k: draw(rng, self.base, k, spec) for k, spec in self.params.items()}
            key = json.dumps(values, sort_keys=True)
            if key not in seen:
                seen.add(key)
                out.append(values)
                if len(out) == self.n:
                    return out
        raise ConfigError(f"{self.source}: sweep.n: {self.n} distinct points wanted, but "
                          f"{50 * self.n} draws found only {len(out)}; lower n or widen the ranges")

    def _config(self, values, seed, name):
        return apply_changes(self.base, {**values, "train.seed": seed}, f"{self.source}: run {name}",
                      Path(self.source).parent)

    def to_toml(self):
        """The resolved sweep: the full base config inline, so the file stands alone."""
        sweep = {"method": self.method, "seeds": list(self.seeds)}
        if self.method == "random":
            sweep.update(n=self.n, seed=self.sample_seed)
        return (f"# The sweep as resolved from {self.source}.\n\n"
                + tomlio.dumps({"sweep": sweep})
                + "\n[sweep.params]\n" + tomlio.dumps_in_order(self.params) + "\n"
                + tomlio.dumps({"base": self.base.to_dict()}))


def load(path):
    """Read and check a sweep file (a path, or a shipped sweep's name); every run's config is
    built and checked too."""
    path = shipped.locate(path)
    if shipped.missing(path):
        raise ConfigError(f"{path}: no such sweep file{shipped.hint(path)}")
    data = tomlio.read(path, "sweep")
    if "tune" in data and "sweep" not in data:
        raise ConfigError(f"{path}: a tune file ([tune], no [sweep]); run it with `train tune {path}`")
    return from_data(data, path)


def from_data(data, path=Path("<sweep>")):
    """Check a sweep given as a dict (the TOML file's tables: base, set, sweep); `path` names
    it in messages, and files it names are relative to its folder. `base` may be a config's
    path or name, or a config as a dict (whose task.name and model.cell may be Python
    objects)."""
    path = Path(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a sweep as a dict of its tables (base, set, "
                          f"sweep), got a {type(data).__name__}")
    sections = [k for k in data if k in SECTIONS]
    if sections and "base" not in data:
        raise ConfigError(f"{path}: a run config (it has a [{sections[0]}] table), not a sweep "
                          f"file; train it with: train --config {path}; or sweep it without a "
                          f"file: train sweep --config {path} --grid KEY=V1,V2 --seeds 0-2")
    refuse_unknown(path, "", data, TOP_KEYS)
    base = _base(path, data)
    fixed = subtable(path, data, "set")
    if fixed:
        base = apply_changes(base, fixed, f"{path} [set]", path.parent)
    table = subtable(path, data, "sweep")
    refuse_unknown(path, "[sweep] ", table, SWEEP_KEYS)
    method = table.get("method", "grid")
    if method not in ("grid", "random"):
        raise ConfigError(f"{path}: sweep.method: expected 'grid' or 'random', got {method!r}")
    seeds = _seeds(path, table.get("seeds", [base["train"]["seed"]]))
    n = table.get("n")
    if method == "random":
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"{path}: sweep.n: random search needs n, the number of draws (>= 1)")
    elif n is not None or "seed" in table:
        raise ConfigError(f"{path}: sweep.n and sweep.seed go with method = \"random\"")
    sample_seed = table.get("seed", 0)
    if isinstance(sample_seed, bool) or not isinstance(sample_seed, int) or sample_seed < 0:
        raise ConfigError(f"{path}: sweep.seed: expected an integer >= 0, got {sample_seed!r}")
    specs = subtable(path, table, "params", "sweep.params")
    _check_size(path, method, specs, seeds, n)
    params = {}
    for dotted, spec in specs.items():
        params[dotted] = values_of(path, base, method, dotted, spec)
    sweep = Sweep(str(path), base, method, seeds, params, n, sample_seed)
    _check_plugins(sweep.points())  # builds and checks every run's config, then its plug-ins
    return sweep


def from_command_line(config, grid, seeds, overrides=()):
    """A grid sweep made on the command line, without a sweep file: `config` (a path or a
    shipped name) with --set `overrides`, each of `grid` "KEY=V1,V2,..." typed as the key's
    default, and `seeds` as "0-4" or "0,1,2" (default: the config's train.seed)."""
    base = config_mod.load(config, overrides)
    where = Path(f"{base.source} --grid")
    specs = {}
    for text in grid:
        key, sep, raw = text.partition("=")
        key = key.strip()
        if not sep or not raw.strip():
            raise ConfigError(f"--grid {text}: expected KEY=V1,V2,..., such as train.bptt=2,4,8")
        if key in specs:
            raise ConfigError(f"--grid {text}: {key} is swept twice; list its values once")
        specs[key] = [typed_value(base, key, v.strip(), f"--grid {text}")
                      for v in raw.split(",")]
    seeds = _seeds(where, parse_seeds(seeds, base["train"]["seed"]))
    _check_size(where, "grid", specs, seeds, None)
    params = {k: values_of(where, base, "grid", k, v) for k, v in specs.items()}
    sweep = Sweep(str(base.source), base, "grid", seeds, params, None, 0)
    _check_plugins(sweep.points())
    return sweep


def parse_seeds(text, default):
    """[0, 1, 2, 3, 4] for "0-4", [0, 2] for "0,2"; [default] for None."""
    if text is None:
        return [default]
    out = []
    for part in str(text).split(","):
        lo, sep, hi = part.strip().partition("-")
        try:
            first, last = int(lo), int(hi) if sep else int(lo)
        except ValueError:
            raise ConfigError(f"--seeds {text}: expected seeds as 0-4 or 0,1,2") from None
        if first < 0 or last < first:
            raise ConfigError(f"--seeds {text}: expected a range low-high of seeds >= 0")
        if last - first >= MAX_RUNS:
            raise ConfigError(f"--seeds {text}: more than {MAX_RUNS:,} seeds")
        out += range(first, last + 1)
    return out


def _check_plugins(points):
    """A plug-in task or cell is checked before the sweep writes anything, as `train` checks
    it (its data held to the task interface, a cell's gradients): once per distinct task
    config and cell, on the first point that has them."""
    from trainer.training.preflight import check_run
    seen = set()
    for p in points:
        cfg = p.cfg
        if cfg.task.found is None and cfg.cell.found is None:
            continue
        key = (json.dumps(dict(cfg["task"]), sort_keys=True), cfg.cell.spec)
        if key not in seen:
            seen.add(key)
            check_run(cfg)


def _check_size(path, method, specs, seeds, n):
    """Refuse a sweep of more than MAX_RUNS runs, counted from the file (list lengths, grid
    nums, n, seeds) without making a single point."""
    size, parts = len(seeds), []
    if method == "random":
        size, parts = size * n, [f"n = {n}"]
    else:
        for dotted, spec in specs.items():
            count = len(spec) if isinstance(spec, list) else \
                spec.get("num") if isinstance(spec, dict) else None
            if isinstance(count, int) and not isinstance(count, bool) and count > 1:
                size, parts = size * count, parts + [f"{count:,} values of {dotted}"]
    if size > MAX_RUNS:
        seeds_text = f"{len(seeds)} seed" + ("s" if len(seeds) > 1 else "")
        raise ConfigError(f"{path}: the sweep would have {size:,} runs ({' x '.join(parts + [seeds_text])}), "
                          f"more than the limit of {MAX_RUNS:,} runs a sweep may have; use fewer "
                          "values or seeds, or split it")


def short_names(keys):
    """How swept keys appear in run names: 'bptt' for train.bptt, unless that is ambiguous."""
    last = [k.split(".", 1)[1] for k in keys]
    return {k: (s if last.count(s) == 1 and s != "seed" else k) for k, s in zip(keys, last)}


def run_name(values, seed, short):
    """A stable directory name from the swept values and the seed, e.g. 'bptt=8-seed=1'."""
    parts = [f"{short.get(k, k)}={format_value(v)}" for k, v in values.items()] + [f"seed={seed}"]
    return check_name("-".join(parts))


def format_value(v):
    if isinstance(v, float):
        return format(v, ".6g")
    text = str(v)
    return "".join(c if c.isalnum() or c in "._+" else "_" for c in text) or "_"


def _base(path, data):
    base = data.get("base")
    if isinstance(base, dict):  # a resolved sweep.toml carries its config inline
        return config_mod.from_dict(base, f"{path} [base]")
    if not isinstance(base, str):
        raise ConfigError(f"{path}: base: expected the path of a config (relative to this file) "
                          f"or a shipped config's name, such as base = \"counting.toml\"")
    return config_mod.load(shipped.locate_beside(path, base))


def _seeds(path, seeds):
    ok = isinstance(seeds, list) and seeds and all(
        isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
    if not ok or len(set(seeds)) != len(seeds):
        raise ConfigError(f"{path}: sweep.seeds: expected a list of distinct integers >= 0, "
                          f"such as [0, 1, 2], got {seeds!r}")
    return tuple(seeds)


def subtable(path, data, key, where=None):
    """data[key] as a table ({} when absent); anything else is one line naming `where`."""
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: {where or key}: expected a [{where or key}] table")
    return value
