"""The config's sections and their typed keys, and how a dotted key ("section.key") is taken
apart and looked up: an unknown key is refused in one line with a close match suggested."""
from rnn_trainer_datasets import TASKS
from rnn_trainer_datasets.base import Key
from trainer.config import values
from trainer.errors import ConfigError, did_you_mean, suggest
from trainer.plugins import cells, tasks

SECTIONS = {
    "task": {
        "name": Key("sine", "the task: one registered in datasets/ (see train tasks), or a "
                    "plug-in: a FILE.py (relative to the config's folder), a module or an entry "
                    "point of group rnn_trainer.tasks"),
    },
    "model": {
        "cell": Key("rnn", "the recurrent layer: rnn, lstm, gru (fast), textbook-rnn, "
                    "textbook-lstm, textbook-gru (the book's layers), or a plug-in: FILE.py:CLASS, "
                    "module:CLASS or an entry point of group rnn_trainer.cells (see train cells)"),
        "check": Key(True, "check a plug-in cell's gradients in float64 before it trains (false: "
                     "train it unchecked, and the summary says so)"),
        **cells.option_keys("rnn"),   # the cells' own options, declared by their layer classes
        "init": Key("xavier", "initial recurrent matrix Wh (each gate's block): N(0, 1/H), "
                    "random orthogonal, or the identity", choices=("xavier", "orthogonal", "identity")),
        **cells.option_keys("lstm"),
        "hidden": Key(32, "hidden units H", min=1, max=16384),
        "embed": Key(16, "embedding size for token tasks", min=1, max=16384),
        "dtype": Key("float32", "floating type of parameters and activations",
                     choices=("float32", "float64")),
    },
    "optim": {
        "name": Key("sgd", "the optimizer", choices=("sgd", "momentum", "adam", "rmsprop")),
        "lr": Key(0.1, "learning rate", above=0.0),
        "clip": Key(1.0, "max global gradient norm; 0 turns clipping off", min=0.0),
        "momentum": Key(0.9, "momentum (optimizer momentum)", min=0.0, max=0.999),
        "beta1": Key(0.9, "first-moment decay (adam)", min=0.0, max=0.999),
        "beta2": Key(0.999, "second-moment decay (adam)", min=0.0, max=0.999999),
        "rho": Key(0.9, "squared-gradient decay (rmsprop)", min=0.0, max=0.999999),
        "eps": Key(1e-8, "denominator guard (adam, rmsprop)", above=0.0),
        "schedule": Key("constant", "learning-rate schedule: constant lr; step (times decay every "
                        "decay_every epochs); cosine (to min_lr over the run); plateau (times "
                        "decay when train.monitor has not improved for patience epochs)",
                        choices=("constant", "step", "cosine", "plateau")),
        "warmup": Key(0, "steps of linear warmup to the schedule's rate (any schedule); at most "
                      "the run's steps", min=0, max=1e12),
        "min_lr": Key(0.0, "floor of the step, cosine and plateau schedules; at most lr", min=0.0),
        "decay": Key(0.5, "rate multiplier of the step and plateau schedules", above=0.0,
                     below=1.0),
        "decay_every": Key(1, "epochs between the step schedule's decays", min=1, max=1e9),
        "patience": Key(2, "epochs without improvement before the plateau schedule decays",
                        min=1, max=1e9),
    },
    "train": {
        "epochs": Key(10, "passes over the training stream (or train_size episodes)", min=1,
                      max=1e9),
        "batch_size": Key(16, "rows the stream is split into (the textbook's jump), or episodes "
                          "per step", min=1, max=1e7),
        "bptt": Key(25, "truncation length: time steps per window (stream tasks; episodes are "
                    "whole windows)", min=1, max=1e7),
        "seed": Key(0, "seed of the SeedSequence whose independent child streams give the data, "
                    "the initial weights and the batch order", min=0, max=2 ** 63 - 1),
        "log_every": Key(10, "steps between train rows in metrics.csv", min=1, max=1e12),
        "threads": Key(1, "BLAS threads while training (0: the BLAS library's default); one is "
                       "fastest at these sizes and lets runs share the cores", min=0, max=1024),
        "checkpoint_every": Key(0, "steps between extra checkpoints (0: only after each epoch)",
                                min=0, max=1e12),
        "early_stop": Key(0, "stop after this many epochs without improvement of train.monitor "
                          "(0: off)", min=0, max=1e9),
        "monitor": Key("val_loss", "the validation figure for best.npz, early stopping and the "
                       "plateau schedule: val_loss or val_<the task's metric>"),
        "target": Key(-1.0, "a value of train.monitor to reach (a loss or MSE at most it, an accuracy "
                      "at least it): summary.json's target records the first epoch, step and "
                      "training sequences at which validation reached it; negative: off"),
        "stop_at_target": Key(False, "end the run at the first epoch whose validation meets "
                              "train.target (the classic papers' protocol: training stops once "
                              "the task is solved)"),
    },
}


# names other tools use for a key, pointing to this one's (said in the unknown-key error)
SYNONYMS = {
    "learning_rate": "optim.lr", "learningrate": "optim.lr", "lr_schedule": "optim.schedule",
    "scheduler": "optim.schedule", "optimizer": "optim.name", "clip_norm": "optim.clip",
    "grad_clip": "optim.clip", "max_norm": "optim.clip", "warmup_steps": "optim.warmup",
    "hidden_size": "model.hidden", "hidden_dim": "model.hidden", "num_hidden": "model.hidden",
    "units": "model.hidden", "embed_dim": "model.embed", "embedding_dim": "model.embed",
    "cell_type": "model.cell", "rnn_type": "model.cell", "nonlinearity": "model.activation",
    "epoch": "train.epochs", "num_epochs": "train.epochs", "n_epochs": "train.epochs",
    "batch": "train.batch_size", "batchsize": "train.batch_size", "seq_len": "train.bptt",
    "seq_length": "train.bptt", "truncation": "train.bptt", "bptt_steps": "train.bptt",
    "random_seed": "train.seed", "num_threads": "train.threads", "early_stopping": "train.early_stop",
}

PLUGINS = "plugins"   # the table that records where a config's plug-ins were found


def schema(task):
    """The keys allowed for a task (a name or spec, or its resolved Task): the common sections
    plus the task's own keys."""
    keys = (task if isinstance(task, tasks.Task) else tasks.resolve(task)).keys
    out = {s: dict(spec) for s, spec in SECTIONS.items()}
    out["task"].update(keys)
    return out


def split_dotted(dotted):
    """("section", "key") of "section.key", or None when `dotted` is not of that form: the one
    rule of what a dotted key is (in --set, overrides, sweep and tune files)."""
    if not isinstance(dotted, str) or dotted.count(".") != 1 or not all(dotted.split(".")):
        return None
    section, key = dotted.split(".")
    return section, key


def split_key(where, dotted):
    """("section", "key") of "section.key", or a one-line ConfigError naming `where`."""
    parts = split_dotted(dotted)
    if parts is None:
        raise ConfigError(f"{where}: {dotted!r}: expected a key as \"section.key\" in quotes, "
                          "such as \"train.bptt\" = [4, 8] (unquoted, TOML reads train.bptt as "
                          "a table)")
    return parts


def split_override(path, text):
    """(section, key, the value's text, text) of a --set "section.key=value"."""
    if "=" not in text:
        raise ConfigError(f"{path}: --set {text}: expected KEY=VALUE, such as train.bptt=10")
    dotted, raw = text.split("=", 1)
    parts = split_dotted(dotted.strip())
    if parts is None:
        raise ConfigError(f"{path}: --set {text}: expected a key as section.key, such as train.bptt")
    return (*parts, raw.strip(), text)


def key_spec(src, keys, section, key, where="", task=None):
    """The Key of section.key among `keys` (a schema), or a one-line ConfigError: an unknown
    section or key (with a close match, a synonym from other tools, or the task that has it)."""
    if section not in keys:
        raise ConfigError(f"{src}: {where}unknown section {section!r}{suggest(section, keys)}")
    if key not in keys[section]:
        dotted = f"{section}.{key}"
        owners = [n for n, t in TASKS.items() if key in t.KEYS] if section == "task" else []
        if owners:  # a key of another task: the config's task.name was changed
            own = ", ".join(f"task.{k}" for k in keys["task"] if k != "name") or "none"
            raise ConfigError(
                f"{src}: {where}unknown key {dotted!r}: a key of task "
                f"{' and '.join(map(repr, owners))}, not of {task!r} (its keys: {own}); "
                + (f"drop this --set, or set task.name={owners[0]} too" if where and
                   len(owners) == 1 else "drop this --set" if where else "drop it from the config"))
        known = {f"{section}.{k}" for k in keys[section]}
        other = [f"{s}.{key}" for s in keys if key in keys[s]]   # the right key, another section
        close = SYNONYMS.get(key.lower()) or (other[0] if len(other) == 1 else None)
        hint = did_you_mean(close) if close else suggest(dotted, known)
        raise ConfigError(f"{src}: {where}unknown key {dotted!r}{hint}")
    return keys[section][key]


def typed_value(cfg, dotted, raw, where):
    """The text `raw` as a value of the key `dotted` of cfg, typed like its default (as --set
    types it); a one-line ConfigError naming `where` for an unknown key or a wrong type."""
    section, key = split_key(where, dotted)
    spec = key_spec(cfg.source, schema(cfg.task), section, key, where=f"{where}: ",
                    task=cfg.task.spec)
    return values.from_text(cfg.source, f"{where}: {raw!r}", spec, raw)
