"""The checks of a whole config, after each key has passed its own: the task's check, options
set for a cell that does not take them, and the schedule against the run's length."""
from rnn_trainer_datasets import TASKS
from rnn_trainer_datasets.base import steps_per_epoch
from trainer.config.keys import SECTIONS
from trainer.errors import ConfigError
from trainer.plugins import cells


def check_task(src, task, cfg):
    """The task's own check of the whole config (for example: a window must fit the data)."""
    from trainer.plugins.source import PluginError
    if getattr(task.module, "check", None) is None:
        return
    try:
        problem = task.call("check", cfg)
    except PluginError as e:
        raise ConfigError(f"{src}: {e}") from None
    if problem:
        if not (isinstance(problem, tuple) and len(problem) == 2):
            raise ConfigError(f"{src}: task plug-in {task.spec}: check(cfg) returned "
                              f"{problem!r}, expected None or (key, problem)")
        key, what = problem
        raise ConfigError(f"{src}: {key}: {what}")


def check_cell(src, cell, cfg):
    """The cells' options (trainer.plugins.cells.Cell.options) against the chosen cell: one
    set away from its default for a cell that does not declare it, or without the option it
    needs, is refused, never silently ignored; and the LSTM's initialisation options against
    each other and the run."""
    model = cfg["model"]
    if model["chrono_tmax"] == 1:
        raise ConfigError(f"{src}: model.chrono_tmax: expected 0 (the episode length) or at "
                          "least 2, got 1")
    for key, option in cells.built_in_options().items():
        if model[key] == SECTIONS["model"][key].default:
            continue
        need, value = option.get("needs") or (None, None)
        if need and model[need] != value:
            raise ConfigError(f"{src}: model.{key}: an option of model.{need} = {value!r}, which "
                              f"is {model[need]!r} here, so this would do nothing (drop it, or "
                              f"set model.{need} = {value!r})")
        if key not in cell.options:
            raise ConfigError(f"{src}: model.{key}: "
                              + option["refused"].format_map({**model, "cell": cell.spec}))
    if model["init_gates"] == "chrono" and \
            model["forget_bias"] != SECTIONS["model"]["forget_bias"].default:
        raise ConfigError(f"{src}: model.forget_bias: chrono initialisation draws the forget "
                          "gate's bias itself, so this would do nothing (drop it, or use "
                          "model.init_gates = 'constant')")
    stream = "train_size" not in cfg["task"] and cfg.get("task", {}).get("name") in TASKS
    problem = stream and chrono_span_problem(model, cell, cfg["train"]["bptt"], "train.bptt")
    if problem:
        raise ConfigError(f"{src}: {problem} on a stream task, expected at least 2 steps; set "
                          "model.chrono_tmax (>= 2) or a longer train.bptt")


def chrono_span_problem(model, cell, span, what):
    """With model.chrono_tmax = 0, chrono initialisation spans the episode's length or a
    stream's window (`span` steps, `what` names it), which must be at least 2 steps: the
    problem as a phrase, or None. The config checks a built-in stream task's window; preflight
    the data of a plug-in task, whose kind is known once made."""
    if "init_gates" in cell.options and model["init_gates"] == "chrono" and \
            model["chrono_tmax"] == 0 and span < 2:
        return f"model.init_gates: chrono with model.chrono_tmax = 0 spans {what} ({span} step)"
    return None


def check_schedule(src, cfg):
    """The schedule, early-stopping and monitor keys, checked against each other and the run."""
    optim, train = cfg["optim"], cfg["train"]
    if optim["min_lr"] > optim["lr"]:
        raise ConfigError(f"{src}: optim.min_lr: expected at most optim.lr ({optim['lr']!r}), "
                          f"got {optim['min_lr']!r}")
    per_epoch = steps_per_epoch_of(cfg)
    if per_epoch is not None:   # else the task's data tells, before the run (preflight)
        check_warmup(src, cfg, per_epoch)
    figures = ("val_loss", f"val_{cfg.metric}")
    if train["monitor"] not in figures:
        raise ConfigError(f"{src}: train.monitor: expected one of {', '.join(map(repr, figures))} "
                          f"(the task {cfg['task']['name']!r} reports these), got "
                          f"{train['monitor']!r}")
    if train["stop_at_target"] and train["target"] < 0:
        raise ConfigError(f"{src}: train.stop_at_target: needs train.target (a value of "
                          f"{train['monitor']} to stop at), which is off")


def check_warmup(src, cfg, per_epoch):
    """optim.warmup must fit in the run's updates: train.epochs epochs of `per_epoch` steps."""
    optim, steps = cfg["optim"], cfg["train"]["epochs"] * per_epoch
    if optim["warmup"] > steps:
        raise ConfigError(f"{src}: optim.warmup: {optim['warmup']} steps is longer than the run "
                          f"({steps} steps: train.epochs {cfg['train']['epochs']})")


def steps_per_epoch_of(cfg):
    """Updates per epoch of a config ({section: {key: value}}) by its task's keys: train_size
    episodes, or the windows of a stream of task.length steps; None for a task with neither
    key (a plug-in's: known once its data is made)."""
    task, train = cfg["task"], cfg["train"]
    if "train_size" not in task and "length" not in task:
        return None
    return steps_per_epoch(train["batch_size"], train["bptt"], length=task.get("length"),
                           train_size=task.get("train_size"))
