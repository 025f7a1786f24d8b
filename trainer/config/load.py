"""Config files: TOML plus --set overrides, checked key by key into a frozen Config.

Every problem is a ConfigError whose message is one line naming the file and
the key; nothing is written before a config has loaded.
"""
import difflib
import math
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from rnn_trainer_datasets import TASKS
from rnn_trainer_datasets.base import Key
from trainer.config import shipped, tomlio
from trainer.errors import ConfigError
from trainer.plugins import cells, tasks
from trainer.plugins.source import ORIGINS

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
        "activation": Key("tanh", "the plain RNN's nonlinearity (relu + identity init: IRNN)",
                          choices=("tanh", "relu")),
        "init": Key("xavier", "initial recurrent matrix Wh (each gate's block): N(0, 1/H), "
                    "random orthogonal, or the identity", choices=("xavier", "orthogonal", "identity")),
        "peepholes": Key(False, "LSTM only: gates that see the cell state (Gers, Schraudolph & "
                         "Schmidhuber 2002; extra weights p_f, p_i, p_o, from zero)"),
        "init_gates": Key("constant", "LSTM gate biases: constant (forget gate model.forget_bias, "
                          "others 0) or chrono (Tallec & Ollivier 2018: forget bias log U[1, "
                          "chrono_tmax - 1], input bias its negative)",
                          choices=("constant", "chrono")),
        "forget_bias": Key(1.0, "LSTM forget-gate bias at the start (init_gates = constant)",
                           min=-100.0, max=100.0),
        "chrono_tmax": Key(0, "the longest dependency chrono initialisation expects (>= 2; 0: "
                           "the task's episode length, or train.bptt for a stream task)",
                           min=0, max=1e9),
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


class Config(Mapping):
    """A resolved config: read-only {section: {key: value}}, with its source file's name, and
    its task and cell resolved (`task`: trainer.plugins.tasks.Task, `cell`: ...cells.Cell).
    A plug-in's record (where it was found, its source's sha256) goes out with the config as
    its [plugins] table, so a run's config.toml names the very code it trained with."""

    def __init__(self, sections, source="<config>", task=None, cell=None, written=None):
        self._data = {s: MappingProxyType(dict(v)) for s, v in sections.items()}
        self.source = str(source)
        # what the file and its overrides said, before defaults: changes apply to this, as
        # --set does, so a change of task.name takes the new task's own defaults
        self._written = {s: dict(t) for s, t in (written or sections).items()}
        self.task = task or tasks.resolve(self._data["task"]["name"])
        self.cell = cell or cells.resolve(self._data["model"]["cell"])

    @property
    def plugins(self):
        """{"task": record, "cell": record} of the plug-ins among them (built-ins have none)."""
        return {kind: r.found.record() for kind, r in (("task", self.task), ("cell", self.cell))
                if r.found is not None}

    def __getitem__(self, section):
        return self._data[section]

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)

    def __repr__(self):
        return f"Config({self.to_dict()!r}, source={self.source!r})"

    def to_dict(self):
        out = {s: dict(v) for s, v in self.items()}
        if self.plugins:
            out[PLUGINS] = self.plugins
        return out

    def to_toml(self):
        """The config as TOML; loading it gives back an equal Config."""
        return tomlio.dumps(self.to_dict())

    def with_changes(self, changes, folder=None, source=None):
        """A new config with {"section.key": value} set as --set would set them on the file
        (keys not written keep their defaults, the new task's when task.name changes), checked;
        a plug-in file among the changes is relative to `folder` (default: the current
        directory), one already resolved keeps its resolution. `source` names the result in
        messages (default: this config's)."""
        src = source or self.source
        data = {**self._written, **({PLUGINS: self.plugins} if self.plugins else {})}
        return from_dict(apply_changes(data, changes, src), src,
                         changed=set(changes) if folder is None else (), folder=folder,
                         objects=self.objects)

    @property
    def objects(self):
        """{"task": object, "cell": class} of the Python objects among its plug-ins."""
        return {kind: (r.cls if kind == "cell" else r.module)
                for kind, r in (("task", self.task), ("cell", self.cell))
                if r.found is not None and r.found.origin == "object"}

    def sources(self):
        """{sha256: source text} of its file plug-ins: what a worker without the files needs
        (config.from_dict(..., sources=...))."""
        return {r.found.sha256: r.found.text for r in (self.task, self.cell)
                if r.found is not None and r.found.text is not None}

    @property
    def metric(self):
        """The task's metric (as in val_<metric>), known before the task's data is made."""
        return self.task.metric

    @property
    def name(self):
        """A short name for run directories: the config file's stem, or the task's name."""
        stem = Path(self.source).stem
        task = self["task"]["name"].rpartition(":")[2]   # "<notebook>:recall" -> recall
        return task if stem in ("config", "") or stem.startswith("<") else stem


PLUGINS = "plugins"   # the table that records where a config's plug-ins were found


def schema(task):
    """The keys allowed for a task (a name or spec, or its resolved Task): the common sections
    plus the task's own keys."""
    keys = (task if isinstance(task, tasks.Task) else tasks.resolve(task)).keys
    out = {s: dict(spec) for s, spec in SECTIONS.items()}
    out["task"].update(keys)
    return out


def load(path, overrides=(), sources=None, objects=None, changed_plugins=None):
    """Read a TOML config, apply "section.key=value" overrides, check everything. A plug-in
    file in the config is relative to the config's folder, one in an override to the current
    directory; `sources` ({sha256: text}) stands in for plug-in files (a Dask worker's).
    `path` may also name a shipped config ("sine"; a path that exists wins); `objects`
    ({"cell": class, "task": object}) hands over the Python objects a run was made from.
    A plug-in pinned by the file's [plugins] table whose source changed since is refused;
    given a list as `changed_plugins`, it is taken as it is now and (kind, spec, pinned sha256,
    sha256 now) appended to the list instead."""
    path, data = read(path)
    parsed = [_split_override(path, o) for o in overrides]
    pinned = data.get(PLUGINS)
    if changed_plugins is not None and isinstance(pinned, dict):
        data = {**data, PLUGINS: {k: {f: v for f, v in r.items() if f != "sha256"}
                                  if isinstance(r, dict) else r for k, r in pinned.items()}}
    cfg = from_dict(data, path, parsed, folder=Path(path).parent, sources=sources,
                    objects=objects)
    if changed_plugins is not None and isinstance(pinned, dict):
        for kind, record in cfg.plugins.items():
            was = (pinned.get(kind) or {}).get("sha256")
            if was and record.get("sha256") and was != record["sha256"]:
                changed_plugins.append((kind, record["spec"], was, record["sha256"]))
    return cfg


def read(path):
    """(the file's path, its TOML as a dict) for a config's path or a shipped config's name."""
    path = shipped.locate(path)
    if shipped.missing(path):
        raise ConfigError(f"{path}: no such config file{shipped.hint(path)}")
    return path, tomlio.read(path, "config")


def apply_changes(data, changes, where):
    """{section: {key: value}} with {"section.key": value} changes applied (a copy); the one place
    dotted keys are taken apart. A key not of the form section.key is refused, naming `where`."""
    out = {s: dict(t) if isinstance(t, dict) else t for s, t in data.items()}
    for dotted, value in changes.items():
        section, key = split_key(where, dotted)
        out.setdefault(section, {})[key] = value
    return out


def split_key(where, dotted):
    """("section", "key") of "section.key", or a one-line ConfigError naming `where`."""
    if not isinstance(dotted, str) or dotted.count(".") != 1 or not all(dotted.split(".")):
        raise ConfigError(f"{where}: {dotted!r}: expected a key as \"section.key\" in quotes, "
                          "such as \"train.bptt\" = [4, 8] (unquoted, TOML reads train.bptt as "
                          "a table)")
    section, key = dotted.split(".")
    return section, key


def from_dict(data, source="<config>", overrides=(), folder=None, sources=None, changed=(),
              objects=None):
    """Check a {section: {key: value}} mapping and typed-from-text overrides into a Config.
    A plug-in file named in `data` is relative to `folder` (default: the folder of `source`
    when that is a file, else the current directory); one named by an override, or by a key
    of `data` listed in `changed` (dotted keys changed by a caller, as --set would), to the
    current directory. A [plugins] table pins the plug-ins a run was made with (see Config).
    task.name and model.cell may hold Python objects (a class, a task module or object): they
    are resolved as themselves and written as their specs ("<notebook>:NAME"); `objects`
    ({"cell": ..., "task": ...}) stands in for such specs when a config is read back."""
    src = str(source)
    data = dict(data)
    pinned = _pinned(src, data.pop(PLUGINS, None))
    if folder is None:
        folder = Path(src).parent if Path(src).is_file() else Path(".")
    for section, table in data.items():
        if section in ("sweep", "base"):
            what = f"a [{section}] table" if isinstance(table, dict) else f"a '{section}' key"
            raise ConfigError(f"{src}: a sweep file (it has {what}), not a run config; run it "
                              f"with: train sweep {src}")
        if section not in SECTIONS:
            raise ConfigError(f"{src}: [{section}]: unknown section"
                              f"{suggest(section, [*SECTIONS, PLUGINS])}")
        if not isinstance(table, dict):
            raise ConfigError(f"{src}: {section}: expected a [{section}] table, got {_show(table)}")
    task = _resolve(src, "task", data, overrides, folder, pinned, sources, changed, objects)
    cell = _resolve(src, "cell", data, overrides, folder, pinned, sources, changed, objects)
    data = _specs_for_objects(data, task, cell)
    keys = schema(task)
    out = {s: {k: spec.default for k, spec in ks.items()} for s, ks in keys.items()}
    for section, table in data.items():
        for key, value in table.items():
            spec = _spec(src, keys, section, key, task=task.spec)
            out[section][key] = _check(src, f"{section}.{key}", spec, value)
    for section, key, raw, text in overrides:
        spec = _spec(src, keys, section, key, where=f"--set {text}: ", task=task.spec)
        value = _parse_text(src, text, spec, raw)
        out[section][key] = _check(src, f"--set {text}", spec, value)
    _check_task(src, task, out)
    _check_cell(src, cell, out)
    written = {s: dict(t) for s, t in data.items()}
    for section, key, _, _ in overrides:
        written.setdefault(section, {})[key] = out[section][key]
    cfg = Config(out, source, task, cell, written)
    _check_schedule(src, cfg)
    return cfg


RESOLVERS = {"task": ("task", "name", tasks), "cell": ("model", "cell", cells)}


def _resolve(src, kind, data, overrides, folder, pinned, sources, changed, objects=None):
    """The config's task or cell, resolved: its spec from the data or the last override (a file
    relative to `folder`, or to the current directory for an override), or a Python object."""
    section, key, module = RESOLVERS[kind]
    table = data.get(section, {})
    spec = table.get(key, SECTIONS[section][key].default) if isinstance(table, dict) else None
    where, base = f"{section}.{key}", folder
    if where in changed:
        base = Path(".")
    for s, k, raw, text in overrides:
        if (s, k) == (section, key):
            spec, where, base = _unquote(raw), f"--set {text}", Path(".")
    from trainer.plugins import source
    try:
        if spec is not None and not isinstance(spec, (str, bool, int, float, list, dict)):
            return module.resolve_object(spec)   # a class or task object handed to the API
        if not isinstance(spec, str) or not spec.strip():
            raise ConfigError(f"{src}: {where}: expected a {kind} name (a string)"
                              f"{' or a layer class' if kind == 'cell' else ' or a task object'}"
                              f", got {_show(spec)}")
        if source.SESSION_SPEC.fullmatch(spec):
            return _session_object(kind, spec, (objects or {}).get(kind), pinned.get(kind))
        return module.resolve(spec, base, pinned.get(kind), sources)
    except source.PluginError as e:
        raise ConfigError(f"{src}: {where}: {e}") from None


def _session_object(kind, spec, obj, record):
    """A spec naming an object of a Python session: the object handed over for it, held to the
    source the run recorded."""
    from trainer.plugins import source
    if obj is None:
        raise source.PluginError(source.session_only(kind, spec))
    resolved = RESOLVERS[kind][2].resolve_object(obj)
    if record and record.get("spec") == spec and resolved.found is not None:
        source.check_pinned(resolved.found, record)
    return resolved


def _specs_for_objects(data, task, cell):
    """data with any Python object in task.name or model.cell replaced by its spec."""
    out = dict(data)
    for section, key, resolved in (("task", "name", task), ("model", "cell", cell)):
        table = out.get(section)
        if isinstance(table, dict) and key in table and not isinstance(table[key], str):
            out[section] = {**table, key: resolved.spec}
    return out


def _pinned(src, table):
    """A config's [plugins] table: {"task": record, "cell": record}, each a table of strings
    with the spec, the origin and the file or module (checked here, trusted no further)."""
    if table is None:
        return {}
    fields = {"spec", "origin", "file", "module", "class", "sha256"}
    if not isinstance(table, dict) or not set(table) <= set(RESOLVERS):
        raise ConfigError(f"{src}: [{PLUGINS}]: expected tables task and cell (where the run's "
                          "plug-ins were found), got " + (", ".join(map(repr, table)) if
                                                          isinstance(table, dict) else _show(table)))
    for kind, record in table.items():
        if not isinstance(record, dict) or not set(record) <= fields or \
                not all(isinstance(v, str) for v in record.values()) or \
                record.get("origin") not in ORIGINS or "spec" not in record:
            raise ConfigError(f"{src}: {PLUGINS}.{kind}: expected a table of strings: spec, "
                              f"origin ({', '.join(ORIGINS)}), file or module, class, sha256")
    return table


def _spec(src, keys, section, key, where="", task=None):
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
        hint = f" (did you mean {close!r}?)" if close else suggest(dotted, known)
        raise ConfigError(f"{src}: {where}unknown key {dotted!r}{hint}")
    return keys[section][key]


def typed_value(cfg, dotted, raw, where):
    """The text `raw` as a value of the key `dotted` of cfg, typed like its default (as --set
    types it); a one-line ConfigError naming `where` for an unknown key or a wrong type."""
    section, key = split_key(where, dotted)
    spec = _spec(cfg.source, schema(cfg.task), section, key, where=f"{where}: ",
                 task=cfg.task.spec)
    return _parse_text(cfg.source, raw, spec, raw, where=f"{where}: {raw!r}")


def _split_override(path, text):
    if "=" not in text:
        raise ConfigError(f"{path}: --set {text}: expected KEY=VALUE, such as train.bptt=10")
    dotted, raw = text.split("=", 1)
    dotted = dotted.strip()
    if dotted.count(".") != 1 or not all(dotted.split(".")):
        raise ConfigError(f"{path}: --set {text}: expected a key as section.key, such as train.bptt")
    section, key = dotted.split(".")
    return section, key, raw.strip(), text


def _parse_text(src, text, spec, raw, where=None):
    """Type an override's text by its key's default (`where` names it: --set TEXT)."""
    where = where or f"--set {text}"
    kind = type(spec.default)
    if kind is bool:
        if raw.lower() not in ("true", "false"):
            raise ConfigError(f"{src}: {where}: expected true or false, got {raw!r}")
        return raw.lower() == "true"
    try:
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
    except ValueError:
        noun = "an integer" if kind is int else "a number"
        raise ConfigError(f"{src}: {where}: expected {noun}, got {raw!r}") from None
    return _unquote(raw)


def _unquote(raw):
    """'sine' or "sine" as typed on a shell command line, without the quotes."""
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    return raw


def _check(src, where, spec, value):
    kind = type(spec.default)
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{src}: {where}: expected true or false, got {_show(value)}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{src}: {where}: expected an integer, got {_show(value)}")
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{src}: {where}: expected a number, got {_show(value)}")
        try:
            value = float(value)
        except OverflowError:  # an integer beyond any float
            value = math.inf
        if not math.isfinite(value):
            raise ConfigError(f"{src}: {where}: expected a finite number, got {value}")
    elif kind is str and not isinstance(value, str):
        raise ConfigError(f"{src}: {where}: expected a string, got {_show(value)}")
    problem = spec.check(value)
    if problem:
        raise ConfigError(f"{src}: {where}: expected {problem}, got {_show(value)}")
    return value


def _check_task(src, task, cfg):
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


def _check_cell(src, cell, cfg):
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
    _check_unused_options(src, cell, cfg, lstm)


def _check_unused_options(src, cell, cfg, lstm):
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


def _check_schedule(src, cfg):
    """The schedule, early-stopping and monitor keys, checked against each other and the run."""
    optim, train = cfg["optim"], cfg["train"]
    if optim["min_lr"] > optim["lr"]:
        raise ConfigError(f"{src}: optim.min_lr: expected at most optim.lr ({optim['lr']!r}), "
                          f"got {optim['min_lr']!r}")
    per_epoch = _steps_per_epoch(cfg)
    if per_epoch is not None:
        check_warmup(src, cfg, train["epochs"] * per_epoch)
    figures = ("val_loss", f"val_{cfg.metric}")
    if train["monitor"] not in figures:
        raise ConfigError(f"{src}: train.monitor: expected one of {', '.join(map(repr, figures))} "
                          f"(the task {cfg['task']['name']!r} reports these), got "
                          f"{train['monitor']!r}")
    if train["stop_at_target"] and train["target"] < 0:
        raise ConfigError(f"{src}: train.stop_at_target: needs train.target (a value of "
                          f"{train['monitor']} to stop at), which is off")


def check_warmup(src, cfg, steps):
    """optim.warmup must fit in the run's `steps` updates."""
    optim = cfg["optim"]
    if optim["warmup"] > steps:
        raise ConfigError(f"{src}: optim.warmup: {optim['warmup']} steps is longer than the run "
                          f"({steps} steps: train.epochs {cfg['train']['epochs']})")


def _steps_per_epoch(cfg):
    """Updates per epoch: train_size episodes in batches, or bptt windows of a stream's rows;
    None for a task with neither key (a plug-in's: known once its data is made)."""
    task, train = cfg["task"], cfg["train"]
    if "train_size" in task:
        return task["train_size"] // train["batch_size"]
    if "length" in task:
        return (task["length"] // train["batch_size"]) // train["bptt"]
    return None


def suggest(word, known, listing=False):
    """' (did you mean ...?)' for the closest of `known`, else '' (or, with listing, the known
    names): the one "did you mean" of configs and sweep files."""
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f"; known: {', '.join(known)}" if listing else ""


def _show(value):
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        return f"{value!r} (a string)"
    if isinstance(value, float):
        return f"{value!r} (a float)"
    if isinstance(value, int):
        return f"{value!r} (an integer)"
    return f"a {type(value).__name__}"
