"""What must hold before a run directory is made: the task makes data fit to train (a plug-in's
is held to the task interface), a plug-in cell passes its gradient check (unless model.check
is false), and the run's arrays fit in this machine's memory. Each failure is bad input, one
line, exit 2, nothing written."""
import dataclasses

import numpy as np

from rnn_trainer_datasets.base import SampleError, check_task, steps_per_epoch
from trainer.plugins.source import PluginError, failure

GRADIENT_ROWS = ("Wx", "Wh", "b", "dx")   # and d<state> (into the carried state)


def check_run(cfg, available=None):
    """Raise BadInput (one line) when a run of cfg cannot start. A plug-in task is made here
    to be checked and measured; returns (the run's streams, the task made from them) for the
    run to use, so the task is made once (None for a built-in task)."""
    from trainer.training.memory import check_fits
    measured = made = None
    if cfg.task.found is not None:   # a plug-in: make it now, check it, measure it
        from trainer.training.streams import streams
        run_streams = streams(cfg["train"]["seed"])
        task = make_checked_task(cfg, run_streams["data"])
        made = (run_streams, task)
        from trainer.training.batching import batches_for
        from trainer.config.checks import check_warmup
        check_warmup(cfg.source, cfg, batches_for(task, cfg["train"]).per_epoch)
        _check_chrono_span(cfg, task)
        if getattr(cfg.task.module, "footprint", None) is None:
            measured = measured_footprint(task)
    check_param_names(cfg)
    check_cell(cfg)
    check_fits(cfg, available, measured)
    return made


def _check_chrono_span(cfg, task):
    """chrono with chrono_tmax = 0 spans the episode's length, or a stream's window: at least 2
    (the config checks the built-in streams; a plug-in's kind is known once made)."""
    from trainer.config.checks import chrono_span_problem
    span, what = ((task.length, "the episode length") if task.episodes else
                  (cfg["train"]["bptt"], "train.bptt"))
    problem = chrono_span_problem(cfg["model"], cfg.cell, span, what)
    if problem:
        raise PluginError(f"{cfg.source}: {problem} of task {cfg.task.spec}, expected at least 2 "
                          "steps; set model.chrono_tmax (>= 2)")


def check_cell(cfg):
    """A plug-in cell's gradient check, as `train gradcheck` runs it: a failing one is refused
    naming the failing gradients (model.check = false trains it anyway)."""
    cell = cfg.cell
    if cell.found is None or not cfg["model"]["check"]:
        return None
    from trainer.checks.cell_check import check
    from trainer.plugins.source import guarded
    result = guarded(check, cell)   # the layer's np.seterr or os.chdir do not outlast the check
    if not result.passed:
        bad = result.failed
        shown = ", ".join(f"{r.name}" + (f" (relative error {r.error:.2g})" if r.error is not None
                                         else f" ({r.note})" if r.name in ("forward", "backward")
                                         else "") for r in bad[:4])
        more = f" and {len(bad) - 4} more" if len(bad) > 4 else ""
        causes = "; and ".join(f"{mistake} (fix: {fix})" for mistake, fix in result.findings)
        float32_only = [m for m, _ in result.findings] == ["outputs are forced to float32"] and \
            all(r.name in GRADIENT_ROWS or r.name == "float64 kept" or r.name.startswith("d")
                for r in bad)
        gates = any(fix.startswith("set gates = ") for _, fix in result.findings)
        unchecked = ("training runs in float32, so --set model.check=false trains it as it is; "
                     f"see: train gradcheck {cell.spec}" if float32_only else
                     f"see: train gradcheck {cell.spec}" if gates else   # unchecked, it'd not run
                     f"see: train gradcheck {cell.spec} (or --set model.check=false to train it "
                     "unchecked)")
        raise PluginError(f"model.cell {cell.spec}: its gradient check failed: {shown}{more}"
                          + (f"; likely cause: {causes}" if causes else "") + f"; {unchecked}")
    return result


def check_param_names(cfg):
    """A plug-in cell's parameters are checkpointed under its `param_names` (set on the class or
    by its constructor): names that repeat, are not plain file names, or do not count its params
    are refused (a repeated name would silently lose a parameter from every checkpoint)."""
    cell = cfg.cell
    if cell.found is None:
        return
    from trainer.layers import param_names_problem
    from trainer.model.network import initial_weights
    from trainer.plugins.source import call
    weights = initial_weights(cell.gates, 2, 2, "default", np.random.default_rng(0), np.float64)
    layer = call(cell.found, cell.cls, *weights, stateful=True, doing="__init__")
    declared = getattr(layer, "param_names", None)
    params = getattr(layer, "params", None)
    problem = declared and param_names_problem(
        declared, len(params) if isinstance(params, (list, tuple)) else None)
    if problem:
        raise PluginError(f"model.cell {cell.spec}: param_names {problem}")


def make_checked_task(cfg, rng):
    """The config's task made from rng and held to the task interface (datasets.base.check_task):
    a plug-in that makes something else is refused in one line naming it and the field."""
    task = cfg.task
    made = task.call("make", dict(cfg["task"]), rng)
    try:
        problem = check_task(made, task.metric)
    except SampleError as e:
        where = [task.found.file] if task.found else []
        raise PluginError(f"task {task.spec}: {failure(e.__cause__, where, 'sample')}") from None
    who = f"task plug-in {task.spec}" if task.found else f"task {task.spec}"
    if problem:
        field, what = problem
        raise PluginError(f"{who}: {field}: {what}")
    fit = _fits_a_batch(made, cfg["train"])
    if fit:
        raise PluginError(f"{cfg.source}: {fit} (task {task.spec})")
    figures = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in made.baseline.items()}
    return dataclasses.replace(made, baseline=figures)   # numpy scalars as the numbers they are


def _fits_a_batch(task, train):
    """The built-in tasks' rule for a plug-in's data as made: an epoch holds at least one batch
    (stream: every row holds a window; episodes: train_size at least the batch)."""
    rows, bptt = train["batch_size"], train["bptt"]
    if task.episodes:
        if steps_per_epoch(rows, bptt, train_size=task.train_size) < 1:
            return (f"train.batch_size: {rows} episodes per batch does not fit the task's "
                    f"train_size {task.train_size}")
        return None
    steps = len(task.train_x)
    if steps_per_epoch(rows, bptt, length=steps) < 1:
        return (f"train.bptt: {bptt} steps per window does not fit the data: the task's training "
                f"stream of {steps} steps split into train.batch_size {rows} rows gives "
                f"{steps // rows} steps per row")
    return None


def measured_footprint(task):
    """(floats, steps per episode or None, widest input or output) of a made task, for a
    plug-in without footprint(): its arrays' sizes, as footprint() would report them."""
    if task.episodes:
        batches = [task.val, *task.extra_val.values()]
        floats = sum(np.asarray(a).nbytes for b in batches for a in b) / 8
        steps = task.length
    else:
        floats = sum(np.asarray(a).nbytes for a in (task.train_x, task.train_y, task.val_x,
                                                    task.val_y)) / 8
        steps = None
    return int(floats), steps, max(task.input_dim, task.output_dim)
