"""The configs shipped with the package (the repository's configs/ folder, installed as package
data of `trainer.configs`): found by name from any folder, and listed by `train configs`.

A name is a file's path inside configs/ without `.toml` ("sine", "sweep-bptt",
"literature/adding-100"); a path that exists always wins over a name.
"""
from pathlib import Path

SUFFIX = ".toml"


def folder():
    """The folder holding the shipped configs (the clone's configs/, or the installed copy)."""
    from importlib.resources import files
    return Path(str(files("trainer.configs")))


def names():
    """Every shipped config's name, sorted: "adding", ..., "literature/adding-100", ..."""
    root = folder()
    return sorted(str(p.relative_to(root).with_suffix("")) for p in root.rglob(f"*{SUFFIX}"))


def locate(spec):
    """The file `spec` names: the path itself when it exists (or when it is not a shipped
    config's name either, so the reader's own error names it), else the shipped config of
    that name ("sine" or "sine.toml")."""
    path = Path(spec)
    if path.exists() or path.is_absolute():
        return path
    name = str(spec)[: -len(SUFFIX)] if str(spec).endswith(SUFFIX) else str(spec)
    if name in names():
        return folder() / f"{name}{SUFFIX}"
    return path


def missing(path):
    """True when nothing is at `path` (a name with a NUL byte is left to the reader, which says
    that no file can be named so)."""
    path = Path(path)
    return "\0" not in str(path) and not path.exists() and not path.is_symlink()


def hint(spec):
    """'; shipped configs: ...' (with a close match first) for the error of a missing file."""
    from trainer.errors import suggest
    known = names()
    top = [n for n in known if "/" not in n]
    return (suggest(Path(str(spec)).stem, known) + f"; shipped configs (train configs lists them): {', '.join(top)}, ...")


def describe(name):
    """{name, kind ("run", "sweep" or "tune"), task, cell, about} of one shipped config: about is the
    first sentence of its leading comment."""
    from trainer.config import tomlio
    path = folder() / f"{name}{SUFFIX}"
    text = path.read_text(encoding="utf-8")
    comment = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        comment.append(line.lstrip("#").strip())
    about = " ".join(comment)
    about = about.split(". ")[0].rstrip(".") if about else ""
    data = tomlio.read(path)
    kind = "run" if "base" not in data else "tune" if "tune" in data else "sweep"
    run = data
    if kind != "run" and isinstance(data.get("base"), str):
        run = tomlio.read(locate_beside(path, data["base"]))
    sets = data.get("set", {}) if kind != "run" else {}
    task = sets.get("task.name", run.get("task", {}).get("name", "sine"))
    cell = sets.get("model.cell", run.get("model", {}).get("cell", "rnn"))
    swept = data.get("sweep", {}).get("params", {}) if kind == "sweep" else {}
    if "model.cell" in swept:
        cell = ",".join(map(str, swept["model.cell"]))
    tuned = data.get("tune", {}).get("params", {}).get("model.cell") if kind == "tune" else None
    if isinstance(tuned, dict) and isinstance(tuned.get("choices"), list):  # a tune file's cells
        cell = ",".join(map(str, tuned["choices"]))
    return {"name": name, "kind": kind, "task": task, "cell": cell, "about": about}


def locate_beside(path, base):
    """A sweep file's base: a path relative to the sweep file when it exists, else a shipped
    config's name."""
    beside = Path(path).parent / base
    return beside if beside.exists() else locate(base)
