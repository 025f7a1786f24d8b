"""Sweep files: expansion (grid, random), stable run names, the resolved sweep.toml, validation."""
import textwrap

import pytest
from click.testing import CliRunner

from trainer.sweeps import spec as sweep
from trainer.cli import main
from trainer.config.load import ConfigError
from trainer.rundir.layout import check_name
from tiny_configs import TINY_SINE

BASE = TINY_SINE


def write_sweep(tmp_path, body, base=BASE):
    (tmp_path / "base.toml").write_text(base)
    path = tmp_path / "sweep-test.toml"
    path.write_text('base = "base.toml"\n' + textwrap.dedent(body))
    return path


def test_grid_is_the_product_of_values_times_seeds_with_stable_names(tmp_path):
    loaded = sweep.load(write_sweep(tmp_path, """
        [set]
        "optim.name" = "adam"
        [sweep]
        seeds = [0, 1]
        [sweep.params]
        "train.bptt" = [5, 10]
        "optim.lr" = [1, 0.03]
    """))
    points = loaded.points()
    assert [p.name for p in points] == [
        "bptt=5-lr=1-seed=0", "bptt=5-lr=1-seed=1", "bptt=5-lr=0.03-seed=0", "bptt=5-lr=0.03-seed=1",
        "bptt=10-lr=1-seed=0", "bptt=10-lr=1-seed=1", "bptt=10-lr=0.03-seed=0", "bptt=10-lr=0.03-seed=1"]
    p = points[2]
    assert p.values == {"train.bptt": 5, "optim.lr": 0.03} and p.seed == 0
    assert p.cfg["train"]["bptt"] == 5 and p.cfg["optim"]["lr"] == 0.03
    assert p.cfg["train"]["seed"] == 0 and p.cfg["optim"]["name"] == "adam"
    assert isinstance(points[0].cfg["optim"]["lr"], float)   # typed like the key's default
    assert p.cfg["model"]["hidden"] == 8                     # the base is kept


def test_names_use_the_full_key_only_when_the_short_one_is_ambiguous():
    assert sweep.short_names(["train.bptt", "task.length", "train.length"]) == {
        "train.bptt": "bptt", "task.length": "task.length", "train.length": "train.length"}
    name = sweep.run_name({"optim.lr": 0.000123456789, "optim.name": "adam"}, 3,
                          {"optim.lr": "lr", "optim.name": "name"})
    assert name == "lr=0.000123457-name=adam-seed=3" and check_name(name)
    assert sweep.run_name({}, 0, {}) == "seed=0"


def test_a_grid_range_expands_to_num_log_spaced_values(tmp_path):
    loaded = sweep.load(write_sweep(tmp_path, """
        [sweep.params]
        "optim.lr" = { min = 0.001, max = 0.1, num = 5, log = true }
    """))
    assert loaded.params["optim.lr"] == [0.001, 0.00316228, 0.01, 0.0316228, 0.1]
    assert [p.name for p in loaded.points()][:2] == ["lr=0.001-seed=0", "lr=0.00316228-seed=0"]


def test_random_search_is_reproducible_in_range_and_extending_n_keeps_earlier_points(tmp_path):
    body = """
        [sweep]
        method = "random"
        n = {n}
        seed = 7
        seeds = [0, 1]
        [sweep.params]
        "optim.lr" = {{ min = 0.001, max = 1.0, log = true }}
        "model.hidden" = {{ min = 4, max = 12 }}
        "optim.name" = ["sgd", "adam"]
    """
    a = sweep.load(write_sweep(tmp_path, body.format(n=6))).points()
    again = sweep.load(write_sweep(tmp_path, body.format(n=6))).points()
    more = sweep.load(write_sweep(tmp_path, body.format(n=9))).points()
    assert len(a) == 12 and len(more) == 18
    assert [p.name for p in a] == [p.name for p in again] == [p.name for p in more[:12]]
    for p in a:
        assert 0.001 <= p.values["optim.lr"] <= 1.0
        assert isinstance(p.values["model.hidden"], int) and 4 <= p.values["model.hidden"] <= 12
        assert p.cfg["model"]["hidden"] == p.values["model.hidden"]
    assert len({p.values["optim.lr"] for p in a}) == 6
    assert {p.values["optim.name"] for p in more} == {"sgd", "adam"}


def test_random_search_over_a_small_space_draws_distinct_points_evenly(tmp_path):
    """Repeated draws are skipped (they used to stop the sweep with a duplicate-name error);
    integers are drawn uniformly, ends included (rounding a uniform float halved the ends)."""
    body = """
        [sweep]
        method = "random"
        n = {n}
        seeds = [0]
        [sweep.params]
        "train.bptt" = {{ min = 2, max = 8 }}
    """
    points = sweep.load(write_sweep(tmp_path, body.format(n=7))).points()
    assert sorted(p.values["train.bptt"] for p in points) == [2, 3, 4, 5, 6, 7, 8]
    with pytest.raises(ConfigError, match="sweep.n: 8 distinct points wanted"):
        sweep.load(write_sweep(tmp_path, body.format(n=8))).points()
    import numpy as np
    from trainer.sweeps.values import draw
    rng = np.random.default_rng(0)
    base = {"train": {"bptt": 1}}
    counts = np.bincount([draw(rng, base, "train.bptt", {"min": 2, "max": 8, "log": False})
                          for _ in range(7000)], minlength=9)[2:]
    assert counts.min() > 850 and counts.max() < 1150   # about 1000 each, the ends too


def test_the_resolved_sweep_toml_loads_back_to_the_same_runs(tmp_path):
    loaded = sweep.load(write_sweep(tmp_path, """
        [set]
        "model.hidden" = 6
        [sweep]
        method = "random"
        n = 3
        seeds = [4]
        [sweep.params]
        "optim.lr" = { min = 0.01, max = 0.1 }
    """))
    resolved = tmp_path / "elsewhere" / "sweep.toml"
    resolved.parent.mkdir()
    resolved.write_text(loaded.to_toml())
    back = sweep.load(resolved)
    assert [(p.name, p.cfg.to_dict()) for p in back.points()] == \
           [(p.name, p.cfg.to_dict()) for p in loaded.points()]
    assert back.base["model"]["hidden"] == 6


@pytest.mark.parametrize("body, expected", [
    ('[sweep.params]\n"train.bpt" = [2]', "unknown key 'train.bpt' (did you mean 'train.bptt'?)"),
    ('[sweep.params]\n"train.bptt" = [2, "x"]', "train.bptt: expected an integer, got 'x'"),
    ('[sweep.params]\n"train.bptt" = [0, 2]', "train.bptt: expected a number >= 1 and <= 1e+07, got 0"),
    ('[sweep.params]\n"train.bptt" = [10, 60]', "train.bptt: 60 steps per window does not fit"),
    ('[sweep.params]\n"optim.lr" = [-1.0]', "optim.lr: expected a number > 0"),
    ('[sweep.params]\n"train.bptt" = [2, 2]', "a value is listed twice"),
    ('[sweep.params]\n"train.bptt" = []', "expected a non-empty list"),
    ('[sweep.params]\n"train.seed" = [1, 2]', "list seeds in sweep.seeds"),
    ('[sweep.params]\nbptt = [1, 2]', "expected a key as \"section.key\""),
    ('[sweep.params]\n"optim.lr" = { min = 0.1, max = 1 }', "a range in a grid needs num"),
    ('[sweep]\nseeds = [0, -1]', "sweep.seeds: expected a list of distinct integers >= 0"),
    ('[sweep]\nseeds = 3', "sweep.seeds: expected a list"),
    ('[sweep]\nmethod = "bayes"', "sweep.method: expected 'grid' or 'random'"),
    ('[sweep]\nmethod = "random"', "random search needs n"),
    ('[sweep]\nmetod = "grid"', "unknown key 'metod' (did you mean 'method'?)"),
    ('[sweep]\nmethod = "random"\nn = 2\n[sweep.params]\n"optim.lr" = { min = 0, max = 1, log = true }',
     "a log range needs min > 0"),
    ('[set]\n"model.hidden" = 0', "model.hidden: expected a number >= 1"),
    ('[sweeps]\nn = 1', "unknown key 'sweeps' (did you mean 'sweep'?)"),
    ('[sweep\n', "malformed TOML"),
])
def test_bad_sweep_files_exit_2_with_one_line_and_write_nothing(tmp_path, body, expected):
    path = write_sweep(tmp_path, body)
    with pytest.raises(ConfigError, match=None) as info:
        sweep.load(path)
    assert expected in str(info.value) and str(path) in str(info.value)
    runs = tmp_path / "runs"
    result = CliRunner().invoke(main, ["sweep", str(path), "--runs-dir", str(runs)])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and expected in result.stderr
    assert not runs.exists()


def test_a_missing_base_or_sweep_file_is_bad_input(tmp_path):
    (tmp_path / "s.toml").write_text('base = "nope.toml"\n')
    with pytest.raises(ConfigError, match="nope.toml: no such config file"):
        sweep.load(tmp_path / "s.toml")
    with pytest.raises(ConfigError, match="no such sweep file"):
        sweep.load(tmp_path / "missing.toml")


def test_dry_run_lists_the_runs_and_writes_nothing(tmp_path):
    path = write_sweep(tmp_path, '[sweep]\nseeds = [0, 1]\n[sweep.params]\n"train.bptt" = [5, 10]\n')
    runs = tmp_path / "runs"
    result = CliRunner().invoke(main, ["sweep", str(path), "--dry-run", "--runs-dir", str(runs),
                                       "--name", "dry"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "4 runs" in lines[0] and "4 to run" in lines[0]
    assert [ln.split()[0] for ln in lines[1:-1]] == ["bptt=5-seed=0", "bptt=5-seed=1",
                                                     "bptt=10-seed=0", "bptt=10-seed=1"]
    assert lines[-1].startswith("estimated wall time: ~")
    assert not runs.exists()


def test_a_sweep_of_exactly_the_limit_dry_runs_and_one_more_is_refused(tmp_path, monkeypatch):
    """10,000 runs is allowed and listed, each point's config made once (not again for the
    listing); 10,001 is refused before a single point is made."""
    made = []
    config = sweep.Sweep._config
    monkeypatch.setattr(sweep.Sweep, "_config", lambda self, *a: made.append(a[-1]) or config(self, *a))
    body = """
        [sweep]
        seeds = [0]
        [sweep.params]
        "optim.lr" = {{ min = 0.001, max = 0.1, num = 100, log = true }}
        "optim.clip" = {{ min = 0.1, max = 10.0, num = {num} }}
    """
    out = CliRunner().invoke(main, ["sweep", str(write_sweep(tmp_path, body.format(num=100))),
                                    "--dry-run", "--runs-dir", str(tmp_path / "runs")])
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()   # the heading, a line per run, the estimated wall time
    assert len(lines) == 2 + sweep.MAX_RUNS and "10000 runs" in lines[0]
    assert lines[-1].startswith("estimated wall time: ~")
    assert len(made) == len(set(made)) == sweep.MAX_RUNS
    assert not (tmp_path / "runs").exists()
    made.clear()
    with pytest.raises(ConfigError, match="10,100 runs .100 values of optim.lr x 101 values of "
                                          "optim.clip x 1 seed., more than the limit of 10,000"):
        sweep.load(write_sweep(tmp_path, body.format(num=101)))
    assert made == []
