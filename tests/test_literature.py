"""The literature table's sweeps (configs/literature/) and its rows (scripts/literature.py):
every sweep loads and checks, every row names a group its sweep runs, and no row's budget is
more than its paper's."""
import sys
from pathlib import Path

import pytest

from trainer.sweeps import spec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import literature  # noqa: E402

SPECS = sorted((ROOT / "configs" / "literature").glob("*.toml"))


def test_every_sweep_is_used_by_a_row_and_every_row_has_its_sweep():
    assert {p.stem for p in SPECS} == {row.sweep for row in literature.ROWS}


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_each_sweep_checks_and_runs_five_seeds_of_each_group(path):
    sweep = spec.load(path)
    assert sweep.seeds == (0, 1, 2, 3, 4)
    assert all(p.cfg["train"]["target"] >= 0 for p in sweep.points())


@pytest.mark.parametrize("row", literature.ROWS, ids=[f"{r.sweep}-{i}" for i, r in
                                                       enumerate(literature.ROWS)])
def test_each_row_names_a_group_of_its_sweep_within_the_papers_budget(row):
    sweep = spec.load(ROOT / "configs" / "literature" / f"{row.sweep}.toml")
    points = [p for p in sweep.points() if all(p.values.get(k) == v for k, v in row.group.items())]
    assert len(points) == 5, f"{row.sweep}: no five runs of {row.group}"
    cfg = points[0].cfg
    ours = cfg["train"]["epochs"] * cfg["task"]["train_size"]
    if row.budget is not None:
        assert ours <= row.budget, f"{row.setting}: {ours} sequences, more than the paper's"
    assert row.source and row.paper and row.criterion


def test_anbn_counts_a_run_only_when_every_string_up_to_n_50_is_right(tmp_path):
    """The aⁿbⁿ row's "every string n <= 50 right": the training range and beyond both at 1; a
    run that generalises but misses a short string, or whose summary is hostile, is not counted."""
    import json

    import pandas as pd

    finals = {"both": {"val_string_accuracy": 1.0, "val_long_string_accuracy": 1.0},
              "long-only": {"val_string_accuracy": 0.9, "val_long_string_accuracy": 1.0},
              "short-only": {"val_string_accuracy": 1.0, "val_long_string_accuracy": 0.4},
              "text": {"val_string_accuracy": "1", "val_long_string_accuracy": 1.0}}
    for name, final in finals.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "summary.json").write_text(json.dumps({"final": final}))
    (tmp_path / "linked").mkdir()
    (tmp_path / "linked" / "summary.json").symlink_to(tmp_path / "both" / "summary.json")
    results = pd.DataFrame({"run_dir": [*finals, "linked", "missing"]})
    figures = ("val_string_accuracy", "val_long_string_accuracy")
    assert literature._runs_meeting(tmp_path, results, figures) == 1
    assert literature._runs_meeting(tmp_path, results, figures[1:]) == 2


def test_pick_matches_a_swept_value_whatever_the_table_calls_its_column():
    import pandas as pd

    table = pd.DataFrame({"init_gates": ["chrono", "constant"], "peepholes": [True, False]})
    assert list(literature.pick(table, {"model.init_gates": "chrono"}).index) == [0]
    assert list(literature.pick(table, {"model.peepholes": False}).index) == [1]
    results = pd.DataFrame({"model.peepholes": ["True", "False", "True"]})
    assert list(literature.pick(results, {"model.peepholes": True}).index) == [0, 2]


def test_a_sweeps_results_are_read_as_untrusted(tmp_path):
    """results.csv is not read through a link, and a run_dir that leaves the sweep is dropped."""
    sweep = tmp_path / "lit-x"
    sweep.mkdir()
    (sweep / "results.csv").write_text("run_dir,status\nrun-0,completed\n../elsewhere,completed\n"
                                       "..,completed\n/etc,completed\n,completed\n")
    assert list(literature.read_results(sweep)["run_dir"]) == ["run-0"]
    (tmp_path / "real.csv").write_text("run_dir,status\nrun-0,completed\n")
    (sweep / "results.csv").unlink()
    (sweep / "results.csv").symlink_to(tmp_path / "real.csv")
    with pytest.raises(SystemExit, match="symbolic link"):
        literature.read_results(sweep)


def test_sweeps_start_longest_first_and_fill_the_cores_a_sweep_leaves(tmp_path, monkeypatch):
    """run_sweeps: the sweep with the most estimated training starts first with every worker;
    the next starts, with the cores that are free, as soon as the running ones have fewer runs
    left than workers (a fake `train sweep` finishes one run per worker each poll)."""
    import types

    import pandas as pd

    from trainer.sweeps import estimate as estimate_mod

    cost = {"copy-100": 100.0, "adding-1000": 10.0, "reber": 1.0}
    monkeypatch.setattr(literature, "_current", None, raising=False)   # the sweep being loaded
    monkeypatch.setattr(estimate_mod, "estimate", lambda points, runs_dir: types.SimpleNamespace(
        seconds={p.name: cost[literature._current] for p in points}))
    load = spec.load

    def load_named(path):
        literature._current = Path(path).stem
        return load(path)

    monkeypatch.setattr(spec, "load", load_named)
    launched, clock = [], [0]

    class FakeSweep:
        def __init__(self, cmd, **kwargs):
            args = cmd[cmd.index("sweep"):]
            self.name = args[args.index("--name") + 1].removeprefix("lit-")
            self.workers = int(args[args.index("--workers") + 1])
            self.points = [p.name for p in load(literature.SPECS / f"{self.name}.toml").points()]
            self.done, self.returncode = 0, None
            launched.append((clock[0], self.name, self.workers))

        def poll(self):
            clock[0] += 1
            self.done = min(len(self.points), self.done + self.workers)
            sweep = tmp_path / f"lit-{self.name}"
            sweep.mkdir(exist_ok=True)
            pd.DataFrame({"run_dir": self.points[:self.done], "status": "completed"}).to_csv(
                sweep / "results.csv", index=False)
            if self.done == len(self.points):
                self.returncode = 0
            return self.returncode

    monkeypatch.setattr(literature.subprocess, "Popen", FakeSweep)
    trained, dirs = literature.run_sweeps(["reber", "copy-100", "adding-1000"], tmp_path, 2, poll=0)
    assert trained == 10 + 5 + 5 and set(dirs) == {"reber", "copy-100", "adding-1000"}
    # copy (5 runs) on 2 workers; its last run alone: adding-1000 takes the free core, then reber
    assert [(name, w) for _, name, w in launched] == [("copy-100", 2), ("adding-1000", 1),
                                                       ("reber", 1)]
    assert launched[1][0] > 0
