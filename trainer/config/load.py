"""Config files: TOML plus --set overrides, checked key by key into a frozen Config.

Every problem is a ConfigError whose message is one line naming the file and
the key; nothing is written before a config has loaded.
"""
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from trainer.config import checks, shipped, tomlio, values
from trainer.config.keys import PLUGINS, SECTIONS, key_spec, schema, split_key, split_override
from trainer.errors import ConfigError, suggest
from trainer.plugins import cells, tasks
from trainer.plugins.source import ORIGINS



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
    parsed = [split_override(path, o) for o in overrides]
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
    """{section: {key: value}} with {"section.key": value} changes applied (a copy). A key not of
    the form section.key is refused, naming `where`."""
    out = {s: dict(t) if isinstance(t, dict) else t for s, t in data.items()}
    for dotted, value in changes.items():
        section, key = split_key(where, dotted)
        out.setdefault(section, {})[key] = value
    return out


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
            raise ConfigError(f"{src}: {section}: expected a [{section}] table, got {values.show(table)}")
    task = _resolve(src, "task", data, overrides, folder, pinned, sources, changed, objects)
    cell = _resolve(src, "cell", data, overrides, folder, pinned, sources, changed, objects)
    data = _specs_for_objects(data, task, cell)
    keys = schema(task)
    out = {s: {k: spec.default for k, spec in ks.items()} for s, ks in keys.items()}
    for section, table in data.items():
        for key, value in table.items():
            spec = key_spec(src, keys, section, key, task=task.spec)
            out[section][key] = values.checked(src, f"{section}.{key}", spec, value)
    for section, key, raw, text in overrides:
        spec = key_spec(src, keys, section, key, where=f"--set {text}: ", task=task.spec)
        value = values.from_text(src, f"--set {text}", spec, raw)
        out[section][key] = values.checked(src, f"--set {text}", spec, value)
    checks.check_task(src, task, out)
    checks.check_cell(src, cell, out)
    written = {s: dict(t) for s, t in data.items()}
    for section, key, _, _ in overrides:
        written.setdefault(section, {})[key] = out[section][key]
    cfg = Config(out, source, task, cell, written)
    checks.check_schedule(src, cfg)
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
            spec, where, base = values.unquote(raw), f"--set {text}", Path(".")
    from trainer.plugins import source
    try:
        if spec is not None and not isinstance(spec, (str, bool, int, float, list, dict)):
            return module.resolve_object(spec)   # a class or task object handed to the API
        if not isinstance(spec, str) or not spec.strip():
            raise ConfigError(f"{src}: {where}: expected a {kind} name (a string)"
                              f"{' or a layer class' if kind == 'cell' else ' or a task object'}"
                              f", got {values.show(spec)}")
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
                                                          isinstance(table, dict) else values.show(table)))
    for kind, record in table.items():
        if not isinstance(record, dict) or not set(record) <= fields or \
                not all(isinstance(v, str) for v in record.values()) or \
                record.get("origin") not in ORIGINS or "spec" not in record:
            raise ConfigError(f"{src}: {PLUGINS}.{kind}: expected a table of strings: spec, "
                              f"origin ({', '.join(ORIGINS)}), file or module, class, sha256")
    return table


