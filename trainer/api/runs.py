"""The Python API for notebooks and scripts: train a config, or load a run, and use its model.

    import trainer
    run = trainer.train("sine", overrides={"train.epochs": 2}, runs_dir="runs")
    run = trainer.load_run("runs/sine-...")    # the same object
    run.summary["best"], run.metrics, run.predict(xs), run.generate(100)
    run                                         # in a notebook: status, figures, plots inline
    trainer.train("sine", overrides={"model.cell": MyTimeRNN})   # a class typed into a cell
"""
from functools import cached_property
from pathlib import Path

import numpy as np


class Run:
    """A run directory: its config, summary and metrics, and its model (the best checkpoint
    when there is one, else the last; `checkpoint="last"` asks for the last)."""

    def __init__(self, path, checkpoint=None, objects=None):
        from trainer.config.load import load as load_config
        from trainer.rundir.layout import CONFIG, RunDir
        self.dir = RunDir.open(path)
        self.path = self.dir.path
        self._objects = objects or {}
        self.config = load_config(self.dir.file(CONFIG), objects=self._objects)
        self.summary = self.dir.read_summary() or {}
        self._which = checkpoint

    def __repr__(self):
        return f"Run({str(self.path)!r}, status={self.summary.get('status')!r})"

    def _repr_html_(self):
        """A notebook's view: status, final figures against the baseline, steps and time, and
        the run's figures small and inline."""
        from trainer.api.run_view import run_html
        return run_html(self.path, self.summary)

    def plot(self):
        """Show the run's figures (in a notebook, inline) and return their paths; figures
        missing from the run directory are drawn first, as `train plot` draws them."""
        from trainer.api.run_view import Figures, figure_paths
        paths = figure_paths(self.path)
        if not paths:
            self._draw()
            paths = figure_paths(self.path)
        figures = Figures(paths)
        from trainer.training.progress import in_notebook
        if in_notebook():
            from IPython.display import display
            display(figures)
        return paths

    def _draw(self):
        from trainer.model.evaluate import task_view
        from trainer.plots.run import draw_run
        self.dir.lock()
        try:
            draw_run(self.path, task_view(self.model, self.task, None), self.summary)
        finally:
            self.dir.release()

    @cached_property
    def metrics(self):
        """metrics.csv as a pandas DataFrame (one row per logged point, train and val)."""
        import io

        import pandas as pd
        from trainer.errors import RunDirError
        from trainer.rundir.layout import METRICS
        from trainer.rundir.safe_io import read_nofollow
        path = self.dir.file(METRICS)
        try:   # a run file: never through a link, and a missing or torn one is bad input
            return pd.read_csv(io.BytesIO(read_nofollow(path)))
        except FileNotFoundError:
            raise RunDirError(f"{path}: missing (the run stopped before it logged a row; "
                              f"status {self.summary.get('status')!r})") from None
        except (OSError, ValueError) as e:   # pandas' parser errors are ValueErrors
            raise RunDirError(f"{path}: cannot be read ({str(e).splitlines()[0] if str(e) else e})"
                              ) from None

    @cached_property
    def _loaded(self):
        from trainer.training import run
        return run.load(self.path, self._which, objects=self._objects)[1:]

    @property
    def checkpoint(self):
        """Which checkpoint the model comes from: "best" or "last"."""
        return self._loaded[1]

    @property
    def model(self):
        return self._loaded[0].model

    @property
    def task(self):
        """The task the run trained on, rebuilt from its config (data included)."""
        return self._loaded[0].task

    def predict(self, xs):
        """The model's outputs for inputs read from a zero state: xs of shape (T,) ids or (T, D)
        values gives (T, O); (N, T) or (N, T, D) gives (N, T, O). Values for value tasks,
        logits for token tasks."""
        from trainer.model.evaluate import predict_batch
        xs = np.asarray(xs)
        single = xs.ndim == (1 if self.task.input_tokens else 2)
        out = predict_batch(self.model, xs[None] if single else xs)
        return out[0] if single else out

    def generate(self, steps, temperature=0.0):
        """Continue the validation stream for `steps` steps, the model fed its own outputs:
        values (steps, D) for value tasks, token ids (steps,) for token tasks (sampled at
        `temperature`, argmax at 0, from the run's own sampling stream)."""
        from trainer.model.evaluate import generate
        _check_generate(steps, temperature)
        parts = self._loaded[0]
        return generate(self.model, self.task, steps, temperature, parts.streams["sample"])


def _check_generate(steps, temperature):
    """Run.generate's arguments, as `train generate` checks its options (BadInput, one line)."""
    import math
    from numbers import Integral, Real
    from trainer.errors import BadInput
    if isinstance(steps, bool) or not isinstance(steps, Integral) or not 1 <= steps <= 1_000_000:
        raise BadInput(f"generate: steps {steps!r}: expected an integer from 1 to 1000000")
    if isinstance(temperature, bool) or not isinstance(temperature, Real) or \
            not math.isfinite(temperature) or temperature < 0:
        raise BadInput(f"generate: temperature {temperature!r}: expected a finite number >= 0 "
                       "(0: the most likely token)")


def gradcheck(cell, hidden=4, inputs=3, batch=2, steps=4, seed=0, folder=None):
    """Check a recurrent layer's gradients in float64 (what `train gradcheck` prints).

    `cell` is a spec as model.cell takes it ("rnn", "textbook-lstm", "my_rnn.py:MyRNN" relative
    to `folder`, default the current directory, "mypkg.layers:MyGRU", an entry point) or a
    layer class. Returns a trainer.checks.cell_check.Result: `rows` (name, relative error,
    ok), `passed`, `failed`, `forward` (the package cell compared, max difference),
    `diagnosis` (lines naming the mistake that fits), `lines()`, and `cell` (the resolved
    cell). Raises trainer.errors.BadInput when the layer cannot be checked at all."""
    from trainer.checks.cell_check import check
    from trainer.plugins import cells
    if isinstance(cell, type):
        resolved = cells.resolve_object(cell)
    elif isinstance(cell, str):
        resolved = cells.resolve(cell, folder)
    else:
        from trainer.errors import BadInput
        raise BadInput(f"gradcheck: expected a cell spec (a string) or a layer class, got "
                       f"{type(cell).__name__}")
    result = check(resolved, {"D": inputs, "H": hidden, "N": batch, "T": steps}, seed)
    result.cell = resolved
    return result


def load_run(path, checkpoint=None, cell=None, task=None):
    """Open the run directory at `path` (see Run). A run trained from Python objects (a class
    as model.cell, a task object as task.name) needs them again: `cell=MyTimeRNN`, `task=...`;
    their source must be the one the run recorded."""
    objects = {k: v for k, v in (("cell", cell), ("task", task)) if v is not None}
    return Run(path, checkpoint, objects)


def train(config, overrides=None, runs_dir="runs", name=None, progress=None):
    """Train a config (a shipped config's name such as "sine", a TOML file's path, or a
    {section: {key: value}} dict) with {"section.key": value} overrides into a new run
    directory under `runs_dir`, as `train --config` does, and return its Run.

    `model.cell` may be a layer class and `task.name` a task module or object (KEYS, METRIC,
    make), in the dict or the overrides: the run names them "<notebook>:NAME" and records their
    source and its sha256. `progress`: None shows a progress bar in a notebook and nothing in
    a script; True always; False never. Bad input raises trainer.errors.BadInput before
    anything is written; the run's outcome is in `run.summary["status"]`."""
    from trainer.config import load as config_mod
    from trainer.training import run
    from trainer.errors import ConfigError
    source = str(config) if isinstance(config, (str, Path)) else "<config>"
    if isinstance(config, (str, Path)):
        path, data = config_mod.read(config)
        source = str(path)
    elif isinstance(config, dict):
        data = config
    else:
        raise ConfigError(f"config: expected a TOML file's path or a dict of sections, got "
                          f"{type(config).__name__}")
    from collections.abc import Mapping
    if overrides is not None and not isinstance(overrides, Mapping):
        raise ConfigError(f"{source}: overrides: expected a dict of {{'section.key': value}}, such "
                          f"as {{'train.bptt': 10}}, got a {type(overrides).__name__}")
    overrides = dict(overrides or {})
    from trainer.config.keys import split_dotted
    for key in overrides:
        if split_dotted(key) is None:
            raise ConfigError(f"{source}: overrides: {key!r}: expected a key as "
                              "section.key, such as 'train.bptt'")
    # the overrides change what the file says, as --set does (a new task.name takes its own
    # keys' defaults, and a plug-in file they name is relative to the current directory)
    cfg = config_mod.from_dict(config_mod.apply_changes(data, overrides, source), source,
                               changed=set(overrides))
    if name is not None and not isinstance(name, str):
        from trainer.errors import RunDirError
        raise RunDirError(f"name: expected a run name (a string), got {type(name).__name__}")
    from trainer.plots.background import Inline
    from trainer.training.progress import Progress, in_notebook
    show = in_notebook() if progress is None else bool(progress)
    bar = Progress(quiet=not show, bar="auto", lines=False)
    made = []
    try:
        run.start(cfg, runs_dir, name, on_created=made.append, on_event=bar, painter=Inline())
    finally:
        bar.close()
        for run_dir in made:
            run_dir.release()
    return Run(made[0].path, objects=cfg.objects)
