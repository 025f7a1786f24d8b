"""Cell specs: a built-in cell (rnn, lstm, gru, and the book-shaped textbook-rnn, textbook-lstm,
textbook-gru), a FILE.py:CLASS, a module:CLASS or an entry point of group `rnn_trainer.cells`,
resolved to the layer class and checked against the book's layer API.

A cell class is built as CLASS(Wx, Wh, b, stateful=True), Wx (D, kH), Wh (H, kH), b (kH,)
with k its class attribute `gates` (default 1), and needs only the book's API: `params` and
`grads` (lists of arrays; grads written in place, grads[i][...] = ...), forward(xs) with xs
(N, T, D) -> hs (N, T, H), backward(dhs) -> dxs, set_state(h), reset_state(), and `h` (the
state after the last forward) and `dh` (after backward, the gradient into the state the last
forward started from). A layer that carries more than h names it all in `state_names`
(("h", "c") for an LSTM, whose set_state takes h, c and which keeps dc too); ("h",) otherwise.
"""
import dataclasses
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from rnn_trainer_datasets.base import Key
from trainer.errors import suggest
from trainer.layers import param_names_problem, state_names
from trainer.plugins import source
from trainer.plugins.source import Found, PluginError

# name -> (module of trainer.layers, class, gates)
BUILT_IN = {
    "rnn": ("rnn", "TimeRNN", 1), "lstm": ("lstm", "TimeLSTM", 4), "gru": ("gru", "TimeGRU", 3),
    "textbook-rnn": ("textbook", "TimeRNN", 1), "textbook-lstm": ("textbook", "TimeLSTM", 4),
    "textbook-gru": ("textbook", "TimeGRU", 3),
}
KIND_BY_GATES = {1: "rnn", 4: "lstm", 3: "gru"}   # the package's cell a plug-in is compared with
API = ("forward", "backward", "set_state", "reset_state")
CLASS_SPEC = re.compile(r"(?P<where>.+):(?P<cls>[A-Za-z_]\w*)")


@dataclass(frozen=True)
class Cell:
    """A resolved cell spec: the class, its gates, and for a plug-in where it was found."""

    spec: str
    cls: type
    gates: int
    found: Found | None = None

    @property
    def kind(self):
        """rnn, lstm or gru: the package cell of the same shape (None when none has it)."""
        return KIND_BY_GATES.get(self.gates)

    @property
    def state_names(self):
        return tuple(state_names(self.cls))

    @property
    def textbook(self):
        return self.spec.startswith("textbook-")

    @property
    def options(self):
        """{key: declaration} of the config keys model.* this cell takes, as a built-in layer
        class declares them in its `options` (a plug-in's class takes none). A declaration holds
        trainer.tasks.Key's fields (default, help, choices, min, max, ...: the key's type,
        default and meaning) and `refused`: what a config setting the key away from its default
        for a cell without it is told, a str.format of the model section (cell: the spec); then
        what the option does: `passed` to the constructor as a keyword, the `layer` built
        instead when it is true, or (neither) read by the trainer's initialisation; `needs`,
        the (key, value) without which it does nothing; `listed`: named by `train cells`."""
        return dict(getattr(self.cls, "options", {})) if self.found is None else {}

    def build(self, Wx, Wh, b, model_cfg):
        """The layer for a config's model section: cls(Wx, Wh, b, stateful=True) given the
        options it takes as arguments (or the layer a set option names instead); a plug-in's
        with its calls guarded (guard)."""
        if self.found is not None:
            return guard(self.found, source.guest_call(self.found, self.cls, Wx, Wh, b,
                                                       stateful=True, doing="__init__"))
        cls, arguments = self.cls, {}
        for key, option in self.options.items():
            if option.get("layer") and model_cfg[key]:
                cls = option["layer"]
            elif option.get("passed"):
                arguments[key] = model_cfg[key]
        return cls(Wx, Wh, b, stateful=True, **arguments)


GUARDED = ("forward", "backward", "set_state", "reset_state")


def guard(found, layer):
    """A plug-in layer as the trainer runs it, the same object: its forward, backward,
    set_state and reset_state are guarded (numpy's error state and the working directory put
    back when they return, whatever they set), and a sys.exit() or KeyboardInterrupt raised in
    them becomes PluginExit, so the run fails naming it (source.guest_call). A layer that takes
    no new attributes (__slots__) is left as it is: a run still records such an exit."""
    try:
        for name in GUARDED:
            setattr(layer, name, _Guarded(found, layer, name, layer.__dict__.get(name)))
    except (AttributeError, TypeError):
        pass
    return layer


class _Guarded:
    """One guarded method of a plug-in layer (an object, not a closure, so a deep copy of the
    layer calls its own copy)."""

    def __init__(self, found, layer, name, own=None):
        self.found, self.layer, self.name, self.own = found, layer, name, own

    def __call__(self, *args):
        method = self.own or getattr(type(self.layer), self.name).__get__(self.layer)
        return source.guest_call(self.found, method, *args, doing=self.name)


def resolve(spec, folder=None, pinned=None, sources=None):
    """The Cell for `spec` (FILE.py:CLASS relative to `folder`, default the current directory);
    `pinned` and `sources` as for tasks. Raises PluginError (one line)."""
    if spec in BUILT_IN:
        module, name, gates = BUILT_IN[spec]
        import importlib
        return Cell(spec, getattr(importlib.import_module(f"trainer.layers.{module}"), name), gates)
    record = pinned if pinned and pinned.get("spec") == spec else None
    m = CLASS_SPEC.fullmatch(spec)
    if record is not None and record.get("origin") == "file":
        path, sha = record.get("file", ""), record.get("sha256")
        module, sha, text = source.load_file("cell", path, (sources or {}).get(sha))
        cell = _class(spec, module, record.get("class") or (m and m["cls"]),
                      Found("cell", spec, "file", path, record.get("class"), path, sha, text))
    elif record is not None:
        cell = _from_module(spec, record.get("module", ""), record.get("class"), record["origin"])
    elif m and m["where"].endswith(".py"):
        path = (Path(folder or ".") / m["where"]).resolve()
        module, sha, text = source.load_file("cell", path)
        cell = _class(spec, module, m["cls"], Found("cell", spec, "file", str(path), m["cls"],
                                                    str(path), sha, text))
    elif m:
        cell = _from_module(spec, m["where"], m["cls"], "module")
    else:
        ep = source.entry_point("cell", spec)
        if ep is None:
            raise PluginError(unknown(spec))
        module_name, _, attr = ep.value.partition(":")
        cell = _from_module(spec, module_name.strip(), attr.strip() or None, "entry point")
    if record is not None:
        source.check_pinned(cell.found, record)
    return cell


def resolve_object(cls):
    """The Cell for a class object (a layer typed into a notebook, or imported): a built-in or
    importable class by its name, a plug-in file's class by its file, any other by itself, its
    source pinned by sha256 (spec "<notebook>:NAME")."""
    if not isinstance(cls, type):
        raise PluginError(f"model.cell: expected a cell spec (a string) or a layer class, got "
                          f"a {type(cls).__name__}")
    for name, (module, attr, _) in BUILT_IN.items():
        if cls.__module__ == f"trainer.layers.{module}" and cls.__qualname__ == attr:
            return resolve(name)
    spec = source.importable_name(cls)
    if spec is not None:
        return resolve(spec)
    file = getattr(sys.modules.get(cls.__module__), "__file__", None)
    if cls.__module__.startswith("_rnn_trainer_plugin_") and file:
        return resolve(f"{file}:{cls.__name__}")
    found = source.from_object("cell", cls, cls.__name__)
    return _class(found.spec, _Holder(cls), cls.__name__, found)


class _Holder:
    """A class handed over directly, looked up as if from its module."""

    def __init__(self, cls):
        setattr(self, cls.__name__, cls)


def _from_module(spec, module_name, attr, origin):
    module = source.import_module(module_name) if module_name else None
    if module is None:
        raise PluginError(f"cell {spec}: no module named {module_name!r}" if module_name else
                          unknown(spec))
    file, sha = source.module_file(module)
    return _class(spec, module, attr, Found("cell", spec, origin, module_name, attr, file, sha))


def _class(spec, module, name, found):
    cls = getattr(module, name, None) if name else None
    if not isinstance(cls, type):
        what = "no class" if cls is None else f"{name} is a {type(cls).__name__}, not a class;"
        raise PluginError(f"cell {spec}: {what} {name!r} in {found.file or found.target}"
                          if cls is None else f"cell {spec}: {what} expected a layer class")
    missing = [a for a in API if not callable(getattr(cls, a, None))]
    if missing:
        raise PluginError(f"cell {spec}: {name} has no {', '.join(f'{a}()' for a in missing)}; "
                          "a cell needs the book's layer API (see train cells)")
    gates = getattr(cls, "gates", 1)
    if isinstance(gates, bool) or not isinstance(gates, int) or not 1 <= gates <= 16:
        raise PluginError(f"cell {spec}: {name}.gates is {gates!r}, expected an integer from 1 "
                          "to 16 (blocks of H columns in Wx, Wh and b)")
    names = state_names(cls)
    if not isinstance(names, (tuple, list)) or not names or names[0] != "h" or \
            not all(isinstance(n, str) and n.isidentifier() for n in names):
        raise PluginError(f"cell {spec}: {name}.state_names is {names!r}, expected a tuple of "
                          "attribute names starting with 'h', such as ('h', 'c')")
    declared = getattr(cls, "param_names", None)
    problem = declared and param_names_problem(declared)
    if problem:
        raise PluginError(f"cell {spec}: {name}.param_names {problem}")
    return Cell(spec, cls, gates, found)


def unknown(spec):
    names = list(BUILT_IN) + sorted(set(source.entry_point_names("cell")) - set(BUILT_IN))
    return (f"unknown cell {spec!r}{suggest(spec, names)}; known cells: {', '.join(names)}; or a plug-in: "
            "FILE.py:CLASS, module:CLASS or an entry point of group rnn_trainer.cells "
            "(see train cells)")


def built_in_options():
    """{key: declaration} of every option a built-in cell declares (see Cell.options), in the
    order of BUILT_IN and of each class's declaration."""
    out = {}
    for name in BUILT_IN:
        out.update(resolve(name).options)
    return out


def option_keys(name):
    """{key: trainer.tasks.Key} of the options the built-in cell `name` declares: the config
    keys they are (config/keys.py)."""
    fields = {f.name for f in dataclasses.fields(Key)}
    return {key: Key(**{f: v for f, v in option.items() if f in fields})
            for key, option in resolve(name).options.items()}


def _listed(cell):
    """' (options: model.KEY, ...)' of the options `train cells` names (a key of choices with
    its other choice), or ''; a book-shaped cell says it is the book's layer instead."""
    if cell.textbook:
        return " (the book's layer, a cell object per step)"
    names = [f"model.{key}" + (" = " + " | ".join(c for c in o["choices"] if c != o["default"])
                               if o.get("choices") else "")
             for key, o in cell.options.items() if o.get("listed")]
    return f" (options: {', '.join(names)})" if names else ""


def available():
    """[(name, origin, gates)] of the built-in cells and the installed entry points."""
    out = [(name, "built-in" + _listed(resolve(name)), gates)
           for name, (_, _, gates) in BUILT_IN.items()]
    for name, value in sorted(source.entry_point_names("cell").items()):
        if name in BUILT_IN:   # the built-in wins: say so, and how to reach this one
            out.append((name, f"entry point {value}: shadowed by the built-in cell {name!r}, "
                        f"which model.cell = {name!r} picks; use model.cell = "
                        f"{value.replace(' ', '')!r} for this one", None))
            continue
        try:
            out.append((name, f"entry point {value}", resolve(name).gates))
        except PluginError as e:
            out.append((name, f"entry point (cannot load: {e})", None))
    return out
