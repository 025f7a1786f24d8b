"""The literature table's sweeps (configs/literature/) and its rows (scripts/literature.py):
every sweep loads and checks, every row names a group its sweep runs, and no row's budget is
more than its paper's."""
import sys
from pathlib import Path

import pytest

from trainer.sweep import spec

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
