"""The package's layout rules, read from the import statements (module-level and inside
functions alike): no import cycle, and each room imports only what it may."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# folder -> the import name it installs as (setup.cfg's package_dir)
PACKAGES = {"trainer": "trainer", "datasets": "rnn_trainer_datasets"}


def modules():
    """{"trainer.cli.runs": path} for every module of the project's packages, by import name."""
    out = {}
    for folder, name in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = [name, *path.relative_to(ROOT / folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = modules()


def imports(name):
    """The project modules `name` imports anywhere in its file; `from pkg import mod` counts as
    an import of pkg.mod when mod is a module, else of pkg."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(up + ([base] if base else []))
            found = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for target in found:
            while target and target not in MODULES:   # a name inside a module: the module
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


GRAPH = {name: imports(name) for name in MODULES}


def violations(sources, forbidden):
    """(module, imported) pairs where a module matching `sources` imports one matching `forbidden`."""
    return sorted((m, t) for m in GRAPH if sources(m) for t in GRAPH[m] if forbidden(t))


def under(*prefixes):
    return lambda m: any(m == p or m.startswith(p + ".") for p in prefixes)


def test_the_graph_sees_function_level_and_from_imports():
    assert "trainer.training.loop" in GRAPH["trainer.training.run"]                 # from trainer.training.loop import ...
    assert "trainer.config.load" in GRAPH["trainer.cli.runs"]          # from trainer import config as ...
    assert "trainer.sweeps.dask_cluster" in GRAPH["trainer.sweeps.execute"]   # inside a function


def cycles(graph):
    """Every import cycle a depth-first walk of {module: imported modules} meets."""
    found, state = [], {}

    def visit(m, stack):
        state[m] = "open"
        for t in sorted(graph[m]):
            if state.get(t) == "open":
                found.append(stack[stack.index(t):] + [t])
            elif t not in state:
                visit(t, stack + [t])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    return found


def test_no_import_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]  # it sees one
    found = cycles(GRAPH)
    assert found == [], "import cycles: " + "; ".join(" -> ".join(c) for c in found)


def test_datasets_import_nothing_of_trainer():
    assert violations(under("rnn_trainer_datasets"), under("trainer")) == []
    assert "rnn_trainer_datasets.base" in GRAPH["trainer.tasks"]   # the graph sees the tasks


def test_no_module_imports_the_task_folder_by_its_folder_name():
    """`datasets` is Hugging Face's import name: our code imports rnn_trainer_datasets (installed
    from the datasets/ folder) or, for plug-ins, trainer.tasks."""
    found = []
    for m, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            found += [f"{m}: {n}" for n in names if n == "datasets" or n.startswith("datasets.")]
    assert found == []


def test_every_package_folder_is_listed_in_setup_cfg():
    import configparser
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    listed = set(cfg["options"]["packages"].split())
    folders = {".".join([PACKAGES[p.parts[0]], *p.parts[1:]]) if p.parts[0] in PACKAGES else
               "trainer.configs" for p in (i.parent.relative_to(ROOT) for i in
                                           [*ROOT.glob("trainer/**/__init__.py"),
                                            *ROOT.glob("datasets/__init__.py"),
                                            *ROOT.glob("configs/__init__.py")])}
    assert folders == listed


def test_the_math_imports_nothing_of_the_project_outside_layers():
    math = under("trainer.layers", "trainer.layers.losses", "trainer.optim.optimizers")
    assert violations(math, lambda t: not under("trainer.layers")(t)) == []


def test_the_loop_imports_no_cli_plotting_run_directory_or_checkpoint_code():
    forbidden = under("trainer.cli", "trainer.plots", "trainer.rundir", "trainer.training.checkpoint",
                      "trainer.rundir.checkpoint_check", "trainer.training.run")
    assert violations(under("trainer.training.loop"), forbidden) == []


def test_plotting_and_the_report_never_run_a_model():
    forbidden = under("trainer.model.network", "trainer.layers", "trainer.model.evaluate", "trainer.training.loop")
    assert violations(under("trainer.plots"), forbidden) == []
    assert violations(under("trainer.reports"), forbidden) == []


def test_run_file_names_come_from_the_run_directory_constants():
    from trainer.rundir import layout
    names = {layout.CONFIG, layout.METRICS, layout.SUMMARY, layout.CHECKPOINT, layout.BEST,
             layout.GRADIENT_REACH}
    found = []
    for m, path in MODULES.items():
        if m == "trainer.rundir.layout":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and node.value in names:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
    assert found == [], "spelled out instead of taken from trainer/rundir/layout.py: " + ", ".join(found)
