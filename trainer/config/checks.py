"""The checks of a whole config, after each key has passed its own: the task's check, options
set for a cell that does not take them, and the schedule against the run's length."""
from rnn_trainer_datasets import TASKS
from rnn_trainer_datasets.base import steps_per_epoch
from trainer.config.keys import SECTIONS
from trainer.errors import ConfigError


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
    """Options of one cell set for another."""
    model = cfg["model"]
    if model["activation"] != "tanh" and cell.spec != "rnn":
        raise ConfigError(f"{src}: model.activation: {model['activation']!r} is an option of "
                          f"the fast rnn cell, not of {cell.spec!r} (drop it, or use model.cell "
                          "= 'rnn')")
    lstm = cell.spec in ("lstm", "textbook-lstm")
    if model["peepholes"] and cell.spec != "lstm":
        raise ConfigError(f"{src}: model.peepholes: an option of the lstm cell, not of "
                          f"{cell.spec!r} (drop it, or use model.cell = 'lstm')")
    if model["init_gates"] == "chrono" and not lstm:
        raise ConfigError(f"{src}: model.init_gates: 'chrono' sets LSTM gate biases, and "
                          f"{cell.spec!r} is not an LSTM (use model.cell = 'lstm')")
    if model["chrono_tmax"] == 1:
        raise ConfigError(f"{src}: model.chrono_tmax: expected 0 (the episode length) or at "
                          "least 2, got 1")
    check_unused_options(src, cell, cfg, lstm)


def check_unused_options(src, cell, cfg, lstm):
    """LSTM options that would do nothing here (changed from their defaults): refused, never
    silently ignored; and chrono's span, when it comes from a one-step window."""
    model, defaults = cfg["model"], SECTIONS["model"]
    bias_set = model["forget_bias"] != defaults["forget_bias"].default
    chrono = model["init_gates"] == "chrono"
    if bias_set and not lstm:
        raise ConfigError(f"{src}: model.forget_bias: sets the LSTM forget gate's bias, and "
                          f"{cell.spec!r} has none the trainer sets (drop it, or use model.cell "
                          "= 'lstm')")
    if bias_set and chrono:
        raise ConfigError(f"{src}: model.forget_bias: chrono initialisation draws the forget "
                          "gate's bias itself, so this would do nothing (drop it, or use "
                          "model.init_gates = 'constant')")
    if model["chrono_tmax"] != defaults["chrono_tmax"].default and not chrono:
        raise ConfigError(f"{src}: model.chrono_tmax: an option of model.init_gates = 'chrono', "
                          f"which is {model['init_gates']!r} here, so this would do nothing (drop "
                          "it, or set model.init_gates = 'chrono')")
    stream = "train_size" not in cfg["task"] and cfg.get("task", {}).get("name") in TASKS
    if chrono and lstm and model["chrono_tmax"] == 0 and stream and cfg["train"]["bptt"] < 2:
        raise ConfigError(f"{src}: model.init_gates: chrono with model.chrono_tmax = 0 spans "
                          f"train.bptt ({cfg['train']['bptt']} step) on a stream task, expected "
                          "at least 2 steps; set model.chrono_tmax (>= 2) or a longer train.bptt")


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
