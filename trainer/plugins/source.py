"""Finding a plug-in's code: a FILE.py, an importable module or an installed entry point, the
sha256 of its source, and the one-line error that names the plug-in's own file and line.

A file plug-in is read once and run as a module of its own (named after its kind and its
source's digest, so the same source is loaded once per process and its objects pickle); its
text can be handed over instead of read (a Dask worker gets the client's copy, so no worker
needs the file). A module or entry-point plug-in is imported as Python imports anything.
"""
import hashlib
import importlib
import importlib.util
import os
import re
import sys
import threading
import traceback
import types
from dataclasses import dataclass
from pathlib import Path

from trainer.errors import ConfigError, PluginExit, guest_exit

ENTRY_POINT_GROUPS = {"task": "rnn_trainer.tasks", "cell": "rnn_trainer.cells"}
# held while a plug-in file's source runs as its module: the threads of one process (a Dask
# worker runs several runs at once) load it once, and none takes it before it has run whole
_LOADING = threading.RLock()
ORIGINS = ("file", "module", "entry point", "object")
# the spec of a Python object handed to the API (a class typed into a notebook cell): it names
# the object, but only the Python session that holds it can train or load with it
SESSION_SPEC = re.compile(r"<(notebook|session)>:(?P<name>[A-Za-z_][\w.]*)")


class PluginError(ConfigError):
    """A plug-in that cannot be used: one line naming it and what is wrong (exit status 2)."""


@dataclass(frozen=True)
class Found:
    """Where a plug-in was found: the spec as written, how it was found (`origin`: file, module,
    entry point), `target` (the absolute file, or the module's name), the class in it (cells),
    the file its source is in and that source's sha256 (None when it has no file)."""

    kind: str
    spec: str
    origin: str
    target: str
    attr: str | None
    file: str | None
    sha256: str | None
    text: str | None = None   # a file plug-in's source, to hand to a worker without the file

    def record(self):
        """What a run directory keeps of it (config.toml's [plugins], summary.json's plugins)."""
        out = {"spec": self.spec, "origin": self.origin, self.key: self.target}
        if self.attr:
            out["class"] = self.attr
        if self.origin != "file" and self.file:
            out["file"] = self.file
        out["sha256"] = self.sha256 or ""
        return out

    @property
    def key(self):
        return "file" if self.origin == "file" else "module"

    @property
    def label(self):
        """A short name for listings: the file's name or the module, with the class."""
        base = Path(self.target).name if self.origin == "file" else self.target
        return f"{base}:{self.attr}" if self.attr else base


def session_label():
    """How a run names where its Python objects came from: <notebook> in a Jupyter kernel."""
    return "<notebook>" if "ipykernel" in sys.modules else "<session>"


def from_object(kind, obj, name):
    """The Found of a Python object handed to the API: spec "<notebook>:NAME", origin object,
    and its source where Python can get it (its sha256 pins it; None when there is none)."""
    text = object_source(obj)
    label = session_label()
    sha = digest(text.encode("utf-8")) if text is not None else None
    return Found(kind, f"{label}:{name}", "object", label, name, None, sha, text)


def object_source(obj):
    """The source of a class, module or task object (None when Python cannot get it): inspect's
    where it works; for a class typed into a notebook, its statement found in the cell the
    kernel keeps; for another object, its KEYS, METRIC and the source of its functions."""
    import inspect
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        pass
    if isinstance(obj, type):
        return _class_source(obj)
    parts = [f"{name} = {getattr(obj, name)!r}" for name in ("METRIC", "KEYS") if hasattr(obj, name)]
    for name in ("make", "footprint", "check", "score"):
        fn = getattr(obj, name, None)
        if callable(fn):
            try:
                parts.append(inspect.getsource(fn))
            except (OSError, TypeError):
                return None
    return "\n".join(parts) or None


def _class_source(cls):
    """A class's statement, from the file (or notebook cell) one of its methods was compiled
    from; None when there is none."""
    import ast
    import linecache
    for value in vars(cls).values():
        fn = getattr(value, "__func__", value)
        code = getattr(fn, "__code__", None)
        if code is None:
            continue
        text = "".join(linecache.getlines(code.co_filename))
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name == cls.__name__ and \
                    node.lineno <= code.co_firstlineno <= node.end_lineno:
                return ast.get_source_segment(text, node)
    return None


def session_only(kind, spec):
    """The error for a spec naming an object of a Python session where no object is at hand
    (the command line, or load_run without it)."""
    name = SESSION_SPEC.fullmatch(spec)["name"]
    what = "a class" if kind == "cell" else "a task object"
    return (f"{spec}: the run was made from {what} defined in a Python session, which only "
            f"Python can hand over: trainer.load_run(PATH, {kind}={name})")


def importable_name(obj):
    """"module:Name" when `obj` can be imported again by that name (a class or function of an
    installed or importable module), else None."""
    module, name = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not module or not name or module == "__main__" or "<" in name or \
            module.startswith("_rnn_trainer_plugin_"):
        return None
    found = sys.modules.get(module)
    for part in name.split("."):
        found = getattr(found, part, None)
    return f"{module}:{name}" if found is obj else None


def digest(data):
    return hashlib.sha256(data).hexdigest()


def load_file(kind, path, text=None):
    """The module a plug-in file defines, run from its source (`text`, when given, instead of
    the file's bytes: a Dask worker's copy). Returns (module, sha256, source text)."""
    path = Path(path)
    if text is None:
        data = _read_regular(path)
    else:
        data = text.encode(_declared(text))
    sha = digest(data)
    name = f"_rnn_trainer_plugin_{kind}_{sha[:16]}"
    source = _decode(path, data)
    with _LOADING:   # another thread (a Dask worker's) never sees the module half run
        if name in sys.modules:   # the same source, already run in this process
            return sys.modules[name], sha, source
        module = types.ModuleType(name)
        module.__file__ = str(path)
        sys.modules[name] = module   # dataclasses and pickle look a class's module up by name
        try:   # bytes: Python reads a BOM and a coding line itself
            guarded(lambda: exec(compile(data, str(path), "exec"), module.__dict__))
        except BaseException as e:
            del sys.modules[name]
            if not isinstance(e, Exception) and guest_exit(e) is None:
                raise
            raise PluginError(failure(e, [str(path)], "loading it")) from None
    return module, sha, source


def _read_regular(path):
    """A plug-in file's bytes; a FIFO, a device or a directory is refused before it is opened
    (reading a FIFO waits for a writer, a device may never end)."""
    import os
    import stat
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            what = ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else
                    "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a file")
            raise PluginError(f"{path} is {what}, expected a Python file")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)   # swapped for a FIFO since: no wait
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise PluginError(f"{path} is not a regular file, expected a Python file")
            return f.read()
    except FileNotFoundError:
        raise PluginError(f"no such file {path}") from None
    except OSError as e:
        raise PluginError(f"cannot read {path} ({e.strerror or e})") from None


def _decode(path, data):
    """A plug-in's source as text, as Python reads it: UTF-8 unless a PEP 263 coding line says
    otherwise; a UTF-8 BOM is kept as a character, so the text encodes back to the same bytes."""
    import io
    import tokenize
    try:
        encoding = tokenize.detect_encoding(io.BytesIO(data).readline)[0]
        return data.decode("utf-8" if encoding == "utf-8-sig" else encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as e:
        raise PluginError(f"{path} cannot be read as Python source text "
                          f"({getattr(e, 'msg', None) or e})") from None


def _declared(text):
    """The encoding a source text's bytes were in (the inverse of _decode): UTF-8 (with its BOM
    kept as a character), or the one its PEP 263 coding line names."""
    import io
    import tokenize
    if text.startswith("\ufeff"):
        return "utf-8"
    head = "".join(text.splitlines(keepends=True)[:2]).encode("utf-8", "replace")
    try:
        return tokenize.detect_encoding(io.BytesIO(head).readline)[0]
    except (SyntaxError, LookupError):
        return "utf-8"


def import_module(name):
    """The module `name` (None when there is no such module); an error while importing it is
    one line with its file and line."""
    try:
        found = importlib.util.find_spec(name)
    except (ImportError, ValueError):  # a parent package is missing, or an empty name
        found = None
    if found is None:
        return None
    try:
        return guarded(importlib.import_module, name)
    except BaseException as e:
        if not isinstance(e, Exception) and guest_exit(e) is None:
            raise
        raise PluginError(failure(e, [found.origin or ""], f"importing {name}")) from None


def entry_point(kind, name):
    """The installed entry point `name` of the kind's group, or None."""
    from importlib.metadata import entry_points
    for ep in entry_points(group=ENTRY_POINT_GROUPS[kind]):
        if ep.name == name:
            return ep
    return None


def entry_point_names(kind):
    """{name: value} of every installed entry point of the kind's group."""
    from importlib.metadata import entry_points
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUPS[kind])}


def module_file(module):
    """The source file of a module (None for a built-in or namespace module) and its sha256."""
    file = getattr(module, "__file__", None)
    if not file or not file.endswith(".py"):
        return None, None
    try:
        return file, digest(Path(file).read_bytes())
    except OSError:
        return file, None


def failure(error, files, doing):
    """An exception raised inside a plug-in as one phrase: the innermost line of the plug-in's
    own files it passed through (file:line: in function), then the error."""
    what = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}".rstrip(": ")
    what = guest_exit(error) or what
    if isinstance(error, SyntaxError) and error.filename:
        return f"{error.filename}:{error.lineno}: {doing}: {what}"
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename in files]
    if not frames:
        return f"{doing}: {what}"
    last = frames[-1]
    return f"{last.filename}:{last.lineno}: in {last.name}: {what}"


def call(found, function, *args, doing=None, **kwargs):
    """function(*args) for a plug-in (found: its Found, None for a built-in, which is called as
    it is): an exception inside it becomes one line naming the plug-in's file and line."""
    if found is None:
        return function(*args, **kwargs)
    try:
        return guarded(function, *args, **kwargs)
    except PluginError:
        raise
    except BaseException as e:
        if not isinstance(e, Exception) and guest_exit(e) is None:
            raise
        name = doing or getattr(function, "__name__", "it")
        raise PluginError(f"{found.kind} {found.spec}: "
                          f"{failure(e, [found.file or found.target], name)}") from None


def guarded(function, *args, **kwargs):
    """function(*args), plug-in code, as a guest: numpy's error state and the working directory
    are put back as they were when it returns or raises (whatever np.seterr or os.chdir it
    called), so the tool's own code runs under its own settings and paths."""
    import numpy as np
    try:
        here = os.getcwd()
    except OSError:
        here = None
    try:
        with np.errstate():   # restores the state on the way out
            return function(*args, **kwargs)
    finally:
        if here is not None:
            try:
                if os.getcwd() != here:
                    os.chdir(here)
            except OSError:
                os.chdir(here)


def guest_call(found, function, *args, doing=None, **kwargs):
    """function(*args) of a plug-in, guarded; a sys.exit() or KeyboardInterrupt it raises itself
    becomes PluginExit naming the plug-in, its file and line (an Exception: the run it is in
    fails, recorded); other exceptions pass as they are."""
    try:
        return guarded(function, *args, **kwargs)
    except (SystemExit, KeyboardInterrupt) as e:
        if guest_exit(e) is None:
            raise
        name = doing or getattr(function, "__name__", "it")
        raise PluginExit(f"{found.kind} plug-in {found.spec}: "
                         f"{failure(e, [found.file or found.target], name)}") from None


def check_pinned(found, pinned):
    """A run's [plugins] record pins the source a plug-in had when the run was made: refuse one
    whose source has changed since, naming it."""
    sha = pinned.get("sha256")
    if sha and found.sha256 and sha != found.sha256:
        raise PluginError(f"the {found.kind} plug-in {found.spec} ({found.file or found.target})"
                          f" has changed since the run was made (sha256 {sha[:12]}... -> "
                          f"{found.sha256[:12]}...); restore it, or train the changed plug-in "
                          "as a new run")
