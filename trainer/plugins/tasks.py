"""Task specs: a registered name, a FILE.py, an importable module or an entry point of group
`rnn_trainer.tasks`, resolved to the task's module and checked against the task interface.

A task module holds KEYS (a dict of trainer.tasks.Key: its config keys under [task]), METRIC
(the name of its figure, as in val_<METRIC>) and make(task_cfg, rng) returning a
trainer.tasks.StreamTask or EpisodeTask; footprint(task_cfg) and check(cfg) are optional.
"""
import re
from dataclasses import dataclass
from pathlib import Path

from rnn_trainer_datasets import TASKS
from rnn_trainer_datasets.base import Key
from trainer.errors import suggest
from trainer.plugins import source
from trainer.plugins.source import Found, PluginError

KEY_TYPES = (bool, int, float, str)   # what a TOML value, a --set and a table column can hold
# task keys the trainer itself reads (the steps of an epoch, the memory estimate), by meaning
NUMBER_KEYS = {"length": "the training stream's steps", "train_size": "the episodes of an epoch"}
# metrics.csv's own columns (and val_loss, which METRIC = "loss" would clash with as val_<metric>)
RESERVED_METRICS = ("step", "epoch", "split", "loss", "lr", "grad_norm", "elapsed_s")
MODULE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


@dataclass(frozen=True)
class Task:
    """A resolved task spec: its module and, for a plug-in, where it was found (None: built-in)."""

    spec: str
    module: object
    found: Found | None = None

    @property
    def keys(self):
        return self.module.KEYS

    @property
    def metric(self):
        return self.module.METRIC

    def call(self, name, *args):
        """The module's function `name` called with args; a plug-in's error is one line."""
        return source.call(self.found, getattr(self.module, name), *args, doing=name)


def resolve(spec, folder=None, pinned=None, sources=None):
    """The Task for `spec`; FILE.py is relative to `folder` (default: the current directory).
    `pinned`: a run's record of where the plug-in was found and its source's sha256 (the
    record wins over a new search, and a changed source is refused); `sources`: {sha256: text}
    handed over instead of files. Raises PluginError (one line)."""
    if spec in TASKS:
        return Task(spec, TASKS[spec])
    if pinned and pinned.get("spec") == spec:
        task = _from_record(spec, pinned, sources)
    elif spec.endswith(".py"):
        path = (Path(folder or ".") / spec).resolve()
        module, sha, text = source.load_file("task", path)
        task = Task(spec, module, Found("task", spec, "file", str(path), None, str(path), sha, text))
    else:
        task = _installed(spec)
    check_module(task)
    if pinned and pinned.get("spec") == spec:
        source.check_pinned(task.found, pinned)
    return task


def resolve_object(obj):
    """The Task for a Python object with the task interface (KEYS, METRIC, make): a module
    typed into a notebook cell, a class or a namespace. An importable module goes by its name,
    a plug-in file's module by its file, any other object by itself, its source pinned by
    sha256 (spec "<notebook>:NAME")."""
    import sys
    import types
    if isinstance(obj, str):
        return resolve(obj)
    if isinstance(obj, types.ModuleType):
        name = obj.__name__
        if name.startswith("_rnn_trainer_plugin_") and getattr(obj, "__file__", None):
            return resolve(obj.__file__)
        if sys.modules.get(name) is obj and name != "__main__":
            return resolve(name)
    name = getattr(obj, "__name__", None) or _bound_name(obj) or "task"
    found = source.from_object("task", obj, name.rpartition(".")[2])
    task = Task(found.spec, obj, found)
    check_module(task)
    return task


def _bound_name(obj):
    """The name a notebook's (or script's) globals bind `obj` to, if any."""
    import sys
    names = [k for k, v in vars(sys.modules["__main__"]).items() if v is obj and
             not k.startswith("_")]
    return names[0] if names else None


def _from_record(spec, pinned, sources):
    if pinned.get("origin") == "file":
        path, sha = pinned.get("file", ""), pinned.get("sha256")
        text = (sources or {}).get(sha)
        module, sha, text = source.load_file("task", path, text)
        return Task(spec, module, Found("task", spec, "file", path, None, path, sha, text))
    return _installed(spec, pinned.get("module"), pinned.get("origin"))


def _installed(spec, module_name=None, origin="module"):
    """An entry point named spec, else the module named spec; or, from a run's record, the
    module `module_name` that was found as `origin` (module or entry point)."""
    ep = source.entry_point("task", spec) if module_name is None else None
    if ep is not None:
        try:
            module = ep.load()
        except Exception as e:
            raise PluginError(f"task {spec}: entry point {ep.value}: "
                              f"{source.failure(e, [], 'loading it')}") from None
        file, sha = source.module_file(_module_of(module))
        return Task(spec, module, Found("task", spec, "entry point", ep.value, None, file, sha))
    name = module_name or spec
    module = source.import_module(name) if MODULE_NAME.fullmatch(name) else None
    if module is None:
        raise PluginError(unknown(spec))
    file, sha = source.module_file(module)
    return Task(spec, module, Found("task", spec, origin, name, None, file, sha))


def _module_of(obj):
    import sys
    import types
    return obj if isinstance(obj, types.ModuleType) else sys.modules.get(type(obj).__module__)


def unknown(spec):
    """The error for a spec that names nothing, with a close match when there is one."""
    names = list(TASKS) + sorted(set(source.entry_point_names("task")) - set(TASKS))
    return (f"unknown task {spec!r}{suggest(spec, names)}; known tasks: {', '.join(names)}; or a plug-in: a "
            "FILE.py, a module or an entry point of group rnn_trainer.tasks (see train tasks)")


def check_module(task):
    """Refuse a plug-in module that lacks the task interface, naming what is missing."""
    if task.found is None:
        return
    m, where = task.module, f"task plug-in {task.spec}"
    keys = getattr(m, "KEYS", None)
    if not isinstance(keys, dict):
        raise PluginError(f"{where}: has no KEYS, a dict of trainer.tasks.Key (its config keys)"
                          if keys is None else f"{where}: KEYS is a {type(keys).__name__}, "
                          "expected a dict of trainer.tasks.Key")
    for key, spec in keys.items():
        if not isinstance(key, str) or not key.isidentifier() or key == "name":
            raise PluginError(f"{where}: KEYS: {key!r} is not a key name (an identifier other "
                              "than 'name')")
        if not isinstance(spec, Key):
            raise PluginError(f"{where}: KEYS[{key!r}] is a {type(spec).__name__}, expected a "
                              "trainer.tasks.Key")
        kind = type(spec.default)
        if kind not in KEY_TYPES:
            raise PluginError(f"{where}: KEYS[{key!r}]: its default is {spec.default!r} (a "
                              f"{kind.__name__}), expected a bool, an integer, a float or a string "
                              "(the default's type is the key's type)")
        if key in NUMBER_KEYS and kind is not int:
            raise PluginError(f"{where}: KEYS[{key!r}]: the trainer reads task.{key} as "
                              f"{NUMBER_KEYS[key]}, an integer; its default is {spec.default!r} "
                              f"(a {kind.__name__}): rename the key or make it an integer")
    metric = getattr(m, "METRIC", None)
    if not isinstance(metric, str) or not metric.isidentifier():
        raise PluginError(f"{where}: METRIC is {metric!r}, expected the metric's name, such as "
                          "'mse' or 'accuracy'")
    if metric in RESERVED_METRICS:
        raise PluginError(f"{where}: METRIC is {metric!r}, the name of a column the trainer "
                          f"writes itself ({', '.join(RESERVED_METRICS)}); name the figure "
                          "otherwise, such as 'mse' or 'accuracy'")
    if not callable(getattr(m, "make", None)):
        raise PluginError(f"{where}: has no make(task_cfg, rng) returning a StreamTask or "
                          "EpisodeTask")
    for optional in ("footprint", "check", "score"):
        if getattr(m, optional, None) is not None and not callable(getattr(m, optional)):
            raise PluginError(f"{where}: {optional} is not a function")


def available():
    """[(name, origin, keys)] of the built-in tasks and the installed entry points."""
    out = [(name, "built-in", module.KEYS) for name, module in TASKS.items()]
    for name, value in sorted(source.entry_point_names("task").items()):
        if name in TASKS:   # the built-in wins: say so, and how to reach this one
            out.append((name, f"entry point {value}: shadowed by the built-in task {name!r}, "
                        f"which task.name = {name!r} picks; use task.name = "
                        f"{value.partition(':')[0].strip()!r} (its module) for this one", {}))
            continue
        try:
            task = resolve(name)
            out.append((name, f"entry point {task.found.target}", task.keys))
        except PluginError as e:
            out.append((name, f"entry point (cannot load: {e})", {}))
    return out
