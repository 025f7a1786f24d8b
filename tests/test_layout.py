"""The package's layout rules, read from the import statements (module-level and inside
functions alike): no import cycle, and each room imports only what it may."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("trainer", "datasets")


def modules():
    """{"trainer.cli.runs": path} for every module of the project's packages."""
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
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
    assert "trainer.loop" in GRAPH["trainer.run"]                 # from trainer.loop import ...
    assert "trainer.config" in GRAPH["trainer.cli.runs"]          # from trainer import config as ...
    assert "trainer.sweep.dask_cluster" in GRAPH["trainer.sweep.execute"]   # inside a function


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
    assert violations(under("datasets"), under("trainer")) == []


def test_the_math_imports_nothing_of_the_project_outside_layers():
    math = under("trainer.layers", "trainer.losses", "trainer.optimizers")
    assert violations(math, lambda t: not under("trainer.layers")(t)) == []


def test_the_loop_imports_no_cli_plotting_run_directory_or_checkpoint_code():
    forbidden = under("trainer.cli", "trainer.plots", "trainer.rundir", "trainer.checkpoint",
                      "trainer.checkpoint_check", "trainer.run")
    assert violations(under("trainer.loop"), forbidden) == []


def test_plotting_and_the_report_never_run_a_model():
    forbidden = under("trainer.model", "trainer.layers", "trainer.evaluate", "trainer.loop")
    assert violations(under("trainer.plots"), forbidden) == []
    assert violations(under("trainer.report"), forbidden) == []


def test_run_file_names_come_from_the_run_directory_constants():
    from trainer import rundir
    names = {rundir.CONFIG, rundir.METRICS, rundir.SUMMARY, rundir.CHECKPOINT, rundir.BEST,
             rundir.GRADIENT_REACH}
    found = []
    for m, path in MODULES.items():
        if m == "trainer.rundir":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and node.value in names:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
    assert found == [], "spelled out instead of taken from trainer/rundir.py: " + ", ".join(found)
