"""The package's layout rules, read from the import statements (module-level and inside
functions alike): no import cycle between modules or between folders, each room (a folder of
trainer/) imports only the rooms below it, and what each room may not import at all.
docs/layout.md draws the same house."""
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


# trainer's rooms, top to bottom: a room imports only rooms further down this list (never one
# above it, never one on its own line's level but itself). errors.py, version.py and tasks.py
# (the plug-in interface) sit flat at the top of the package, and any room may import them.
ROOMS = [
    "cli",        # the `train` command: options in, one line out
    "api",        # trainer.train, load_run, gradcheck, sweep, table, report
    "tuning",     # `train tune`: Optuna studies whose trials are sweeps of seeds
    "sweeps",     # sweep files -> runs, on a local pool or Dask; results.csv
    "reports",    # the HTML report, from run files only
    "analysis",   # the results table with uncertainty
    "training",   # one run: the loop, batches, streams, checkpoint, recorder, preflight
    "plots",      # the PNG figures, from arrays and run files
    "rundir",     # a run directory: layout, safe reads and writes, checks, reading finished runs
    "config",     # TOML + overrides -> a checked, frozen Config; the shipped configs
    "model",      # the network, evaluation, gradient reach, which way a metric improves
    "plugins",    # where a task or cell spec is found, pinned by the sha256 of its source
    "checks",     # gradient checks of a layer and the diagnosis of known mistakes
    "optim",      # optimizers, clipping, schedules: numpy only
    "layers",     # the math and the losses: numpy (threadpoolctl to ask the BLAS kernel)
]
FLAT = {"trainer", "trainer.errors", "trainer.version", "trainer.tasks", "trainer.__main__"}


def room(module):
    """The room (folder of trainer/) a module lives in; None for the flat ones and the tasks."""
    rel = MODULES[module].relative_to(ROOT).parts
    return rel[1] if rel[0] == "trainer" and len(rel) > 2 else None


def test_trainer_holds_rooms_and_three_flat_modules():
    rooms = {room(m) for m in MODULES if room(m)}
    flat = {m for m in MODULES if m.startswith("trainer") and not room(m)} - {"trainer.configs"}
    assert rooms == set(ROOMS), "a room missing from ROOMS (and docs/layout.md), or gone"
    assert flat == FLAT


def test_rooms_import_only_rooms_below_them():
    rank = {r: i for i, r in enumerate(ROOMS)}
    up = [f"{m} imports {t}" for m in GRAPH if room(m) for t in GRAPH[m]
          if room(t) and room(t) != room(m) and rank[room(t)] <= rank[room(m)]]
    assert up == []
    assert "trainer.training.run" in GRAPH["trainer.cli.runs"]   # the rule sees the graph


def test_no_module_is_longer_than_350_lines():
    long = [f"{path.relative_to(ROOT)}: {n}" for path in MODULES.values()
            if (n := len(path.read_text().splitlines())) > 350]
    assert long == []


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
