"""Issue 23: `train table` (groups, means, min-max, a seeded bootstrap interval, k of n beating
the baseline, probability of improvement, the overlap sentence) and `train.target`."""
import csv
import io
import json

import numpy as np
import pytest
from click.testing import CliRunner

from tiny_configs import TINY_SINE
from trainer.analysis import results_table, table_text
from trainer.cli import main


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def fake_sweep(root, finals, target=None):
    """A sweep directory whose runs hold hand-written summaries: {lr: [val_mse per seed]}."""
    sweep = root / "s"
    sweep.mkdir()
    (sweep / "sweep.toml").write_text('base = "x.toml"\n[sweep]\nseeds = [0]\n[sweep.params]\n'
                                      f'"optim.lr" = {sorted(finals)}\n')
    for lr, values in finals.items():
        for seed, v in enumerate(values):
            run = sweep / f"lr={lr}-seed={seed}"
            run.mkdir()
            extra = "" if target is None else f"target = {target}\n"
            (run / "config.toml").write_text(f'[task]\nname = "sine"\n[optim]\nlr = {lr}\n'
                                             f'[train]\nseed = {seed}\n{extra}')
            summary = {"status": "completed", "metric": "mse", "final": {"val_mse": v},
                       "best": {"epoch": 2, "step": 20, "val_mse": v * 0.9},
                       "baseline": {"val_mse": 0.03}, "beats_baseline": v < 0.03}
            if target is not None:
                summary["target"] = ({"epoch": seed + 1, "step": 10 * (seed + 1), "sequences": 40 * (seed + 1),
                                      "value": v, "goal": target} if v <= target else None)
            (run / "summary.json").write_text(json.dumps(summary))
    return sweep


FINALS = {0.1: [0.01, 0.02, 0.03, 0.04], 0.3: [0.001, 0.002, 0.003, 0.05]}


def test_each_group_has_its_mean_range_interval_and_baseline_count(tmp_path):
    table = results_table.read([fake_sweep(tmp_path, FINALS)])
    assert table.keys == ["optim.lr"] and table.metric == "val_mse" and table.lower
    rows = results_table.rows(table)
    a, b = rows
    assert a["optim.lr"] == 0.1 and a["runs"] == 4 and a["mean"] == pytest.approx(0.025)
    assert (a["min"], a["max"]) == (0.01, 0.04)
    assert a["ci_low"] <= a["mean"] <= a["ci_high"] and 0.01 <= a["ci_low"] and a["ci_high"] <= 0.04
    assert a["beat_baseline"] == 2                              # 0.01 and 0.02 beat 0.03; 0.03 ties
    assert a["best_epoch_mean"] == pytest.approx(0.025 * 0.9)
    assert b["mean"] == pytest.approx(0.014) and b["beat_baseline"] == 3
    # the best group is the lowest mean; its rival's P(improvement) over all 16 pairs, by hand
    assert table.groups[table.best].values == {"optim.lr": 0.3} and b["p_improvement_vs_best"] is None
    wins = sum((x < y) + 0.5 * (x == y) for x in FINALS[0.1] for y in FINALS[0.3])
    assert a["p_improvement_vs_best"] == pytest.approx(wins / 16) == pytest.approx(4 / 16)
    assert results_table.rows(table) == rows                    # seeded: the same interval again


def test_the_bootstrap_interval_is_the_percentile_interval_of_resampled_means():
    rng = np.random.default_rng(0)
    x = [1.0, 2.0, 3.0, 10.0]
    lo, hi = results_table.bootstrap_ci(x, rng, resamples=4000)
    means = np.asarray(x)[np.random.default_rng(0).integers(0, 4, size=(4000, 4))].mean(axis=1)
    assert (lo, hi) == tuple(np.quantile(means, [0.025, 0.975]))
    assert results_table.bootstrap_ci([5.0], rng) == (5.0, 5.0)


def test_higher_is_better_for_accuracy():
    assert results_table.probability_of_improvement([1.0, 0.9], [0.9], lower=False) == 0.75
    assert results_table.probability_of_improvement([1.0, 0.9], [0.9], lower=True) == 0.25


def test_train_table_prints_the_table_and_says_when_groups_cannot_be_told_apart(tmp_path):
    sweep = fake_sweep(tmp_path, FINALS)
    result = invoke("table", sweep)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["optim.lr", "runs", "val_mse", "mean"]
    row = next(line for line in lines if line.startswith("0.1 "))
    assert "2 of 4" in row and "0.025" in row and "0.01 to 0.04" in row
    assert any(line.startswith("best by mean val_mse (lowest): lr=0.3") for line in lines)
    assert any("lr=0.1 is not distinguishable from lr=0.3 with 4 seeds" in line for line in lines)
    md = invoke("table", sweep, "--markdown").stdout.splitlines()
    assert md[0].startswith("| optim.lr | runs |") and md[1].startswith("| --- | ---: |") and len(md[2].split("|")) == 10
    rows = list(csv.DictReader(io.StringIO(invoke("table", sweep, "--csv").stdout)))
    assert [float(r["mean"]) for r in rows] == pytest.approx([0.025, 0.014])


def test_groups_that_are_far_apart_get_no_overlap_sentence(tmp_path):
    sweep = fake_sweep(tmp_path, {0.1: [0.5, 0.51, 0.52], 0.3: [0.01, 0.011, 0.012]})
    out = invoke("table", sweep).stdout
    assert "not distinguishable" not in out and "lr=0.3" in out


def test_by_chooses_the_grouping_and_bad_input_is_one_line(tmp_path):
    sweep = fake_sweep(tmp_path, FINALS)
    result = invoke("table", sweep, "--by", "task.name")
    assert result.exit_code == 0 and "8" in result.stdout.splitlines()[1]   # one group of 8 runs
    assert "best" in result.stdout.splitlines()[1]
    for args, message in (((sweep, "--by", "train.nothing"), "--by train.nothing: no run's config"),
                          ((tmp_path / "missing",), "no such directory"),
                          ((sweep, "--csv", "--markdown"), "choose one"),
                          ((tmp_path / "s" / "lr=0.1-seed=0" / "config.toml",), "not a directory")):
        result = invoke("table", *args)
        assert result.exit_code == 2 and message in result.stderr and len(result.stderr.splitlines()) == 1


def test_an_unreadable_run_is_left_out_with_a_note(tmp_path):
    sweep = fake_sweep(tmp_path, FINALS)
    (sweep / "lr=0.1-seed=0" / "summary.json").write_text('{"status": "completed", "final": [1]}')
    result = invoke("table", sweep)
    assert result.exit_code == 0
    assert "unreadable" in result.stderr and "final is a list" in result.stderr
    assert results_table.rows(results_table.read([sweep]))[0]["runs"] == 3


def test_target_columns_count_who_reached_it_and_the_medians(tmp_path):
    sweep = fake_sweep(tmp_path, FINALS, target=0.02)
    a, b = results_table.rows(results_table.read([sweep]))
    assert (a["target_reached"], a["target_set"]) == (2, 4)       # 0.01 and 0.02 reach 0.02
    assert a["target_median_epochs"] == 1.5 and a["target_median_sequences"] == 60
    assert (b["target_reached"], b["target_median_epochs"]) == (3, 2.0)
    out = invoke("table", sweep).stdout
    assert "reached target" in out and "median sequences to target" in out


# -- train.target in a real run -------------------------------------------------------------------

def _val_rows(run):
    with open(run / "metrics.csv") as f:
        return [r for r in csv.DictReader(f) if r["split"] == "val"]


def test_a_run_records_the_first_epoch_its_validation_reached_the_target(tmp_path):
    (tmp_path / "c.toml").write_text(TINY_SINE.replace("epochs = 1", "epochs = 4"))
    result = invoke("--config", tmp_path / "c.toml", "--runs-dir", tmp_path, "--name", "off", "--quiet")
    assert result.exit_code == 0
    assert "target" not in json.loads((tmp_path / "off" / "summary.json").read_text())
    losses = [float(r["loss"]) for r in _val_rows(tmp_path / "off")]
    goal = sorted(losses)[1]          # reached, but not at the first validation that is lowest
    first = next(i for i, v in enumerate(losses) if v <= goal)
    result = invoke("--config", tmp_path / "c.toml", "--runs-dir", tmp_path, "--name", "on", "--quiet",
                    "--set", f"train.target={goal!r}")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "on" / "summary.json").read_text())
    row = _val_rows(tmp_path / "on")[first]
    assert summary["target"] == {"epoch": first + 1, "step": int(row["step"]),
                                 "value": pytest.approx(float(row["loss"])), "goal": goal}
    result = invoke("--config", tmp_path / "c.toml", "--runs-dir", tmp_path, "--name", "never", "--quiet",
                    "--set", "train.target=0")
    assert json.loads((tmp_path / "never" / "summary.json").read_text())["target"] is None


def test_an_episode_task_counts_training_sequences_to_the_target(tmp_path):
    config = tmp_path / "a.toml"
    config.write_text('[task]\nname = "adding"\nlength = 8\ntrain_size = 64\nval_size = 32\n'
                      '[model]\nhidden = 8\n[train]\nepochs = 2\nbatch_size = 16\ntarget = 100.0\n')
    result = invoke("--config", config, "--runs-dir", tmp_path, "--name", "a", "--quiet")
    assert result.exit_code == 0, result.output
    target = json.loads((tmp_path / "a" / "summary.json").read_text())["target"]
    assert target["epoch"] == 1 and target["step"] == 4 and target["sequences"] == 64


def test_a_checkpoint_from_before_train_target_resumes(tmp_path):
    import zipfile
    (tmp_path / "c.toml").write_text(TINY_SINE.replace("epochs = 1", "epochs = 2"))
    assert invoke("--config", tmp_path / "c.toml", "--runs-dir", tmp_path, "--name", "r", "--quiet").exit_code == 0
    ckpt = tmp_path / "r" / "checkpoint.npz"
    with np.load(ckpt) as z:
        arrays = {k: z[k] for k in z.files}
    state = json.loads(str(arrays["state"]))
    del state["position"]["target"]                    # what a checkpoint of the last release holds
    arrays["state"] = np.array(json.dumps(state))
    np.savez(ckpt, **arrays)
    assert zipfile.is_zipfile(ckpt)
    result = invoke("resume", tmp_path / "r", "--epochs", "3", "--quiet")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["epochs_done"] == 3


def test_accuracies_read_to_three_decimals_and_a_tie_goes_to_the_first_group(tmp_path):
    sweep = tmp_path / "s"
    sweep.mkdir()
    (sweep / "sweep.toml").write_text('base = "x.toml"\n[sweep]\nseeds = [0]\n[sweep.params]\n"optim.lr" = [0.1, 0.3]\n')
    for lr in (0.1, 0.3):
        run = sweep / f"lr={lr}"
        run.mkdir()
        (run / "config.toml").write_text(f'[task]\nname = "counting"\n[optim]\nlr = {lr}\n')
        (run / "summary.json").write_text(json.dumps({"status": "completed", "metric": "accuracy",
                                                      "final": {"val_accuracy": 1.0}, "beats_baseline": True}))
    table = results_table.read([sweep])
    assert not table.lower and table.groups[table.best].values == {"optim.lr": 0.1}
    text, _ = table_text.as_text(table)
    assert "1.000 to 1.000" in text and " best" in text.splitlines()[1]


def test_ls_csv_carries_the_baseline_verdict_the_target_and_the_keys_that_differ(tmp_path):
    sweep = fake_sweep(tmp_path, FINALS, target=0.02)
    rows = list(csv.DictReader(io.StringIO(invoke("ls", sweep, "--csv").stdout)))
    assert len(rows) == 8 and {"beats_baseline", "target_epoch", "target_step", "optim.lr", "train.seed"} <= set(rows[0])
    first = next(r for r in rows if r["name"] == "lr=0.1-seed=0")
    assert (first["beats_baseline"], first["target_epoch"], first["target_step"], first["optim.lr"]) == \
        ("True", "1", "10", "0.1")
    assert next(r for r in rows if r["name"] == "lr=0.1-seed=3")["target_epoch"] == ""   # not reached


def test_a_sweep_with_a_target_carries_it_to_results_the_table_and_the_report(tmp_path):
    from report_sweep import SWEEP
    (tmp_path / "base.toml").write_text(TINY_SINE.replace("epochs = 1", "epochs = 2")
                                        .replace("bptt = 10", "bptt = 10\ntarget = 10.0"))
    (tmp_path / "sweep.toml").write_text(SWEEP)
    runs = tmp_path / "runs"
    result = invoke("sweep", tmp_path / "sweep.toml", "--runs-dir", runs, "--name", "s", "--workers", "1", "--quiet")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(open(runs / "s" / "results.csv")))
    assert [r["target_epoch"] for r in rows] == ["1"] * 4           # a loss of at most 10: at once
    out = invoke("table", runs / "s").stdout
    header, *lines = out.splitlines()
    assert "reached target" in header and "median epochs to target" in header
    rows = list(csv.DictReader(io.StringIO(invoke("table", runs / "s", "--csv").stdout)))
    assert [(r["target_reached"], r["target_set"], r["target_median_epochs"]) for r in rows] == \
        [("2", "2", "1.0")] * 2
    text = (runs / "s" / "report" / "report.html").read_text()
    assert '"id":"target-train.bptt"' in text


def test_figure_tables_another_validation_figure_and_bad_figures_are_one_line(tmp_path):
    sweep = fake_sweep(tmp_path, FINALS)
    for run in sweep.iterdir():          # a second figure, as anbn's val_long_string_accuracy
        if (run / "summary.json").exists():
            s = json.loads((run / "summary.json").read_text())
            s["final"]["val_long_accuracy"] = 1.0 if "0.3" in run.name else 0.5
            (run / "summary.json").write_text(json.dumps(s))
    table = results_table.read([sweep], figure="val_long_accuracy")
    assert table.metric == "val_long_accuracy" and not table.lower
    assert [r["mean"] for r in results_table.rows(table)] == [0.5, 1.0]
    out = invoke("table", sweep, "--figure", "val_long_accuracy", "--csv")
    assert out.exit_code == 0 and out.output.splitlines()[1].split(",")[3] == "0.5"
    out = invoke("table", sweep, "--figure", "val_long_accuracy")
    assert out.exit_code == 0 and "val_long_accuracy" in out.output
    bad = invoke("table", sweep, "--figure", "val_nope")
    assert bad.exit_code != 0 and "no run reports val_nope" in bad.output
    bad = invoke("table", sweep, "--figure", "</script>")
    assert bad.exit_code != 0 and len(bad.output.strip().splitlines()) == 1


def test_stop_at_target_ends_the_run_at_the_first_epoch_that_meets_it(tmp_path):
    (tmp_path / "c.toml").write_text(TINY_SINE.replace("epochs = 1", "epochs = 5"))
    assert invoke("--config", tmp_path / "c.toml", "--runs-dir", tmp_path, "--name", "all",
                  "--quiet").exit_code == 0
    losses = [float(r["loss"]) for r in _val_rows(tmp_path / "all")]
    goal = sorted(losses)[2]
    first = next(i for i, v in enumerate(losses) if v <= goal)
    assert first < 4
    result = invoke("--config", tmp_path / "c.toml", "--runs-dir", tmp_path, "--name", "stop",
                    "--quiet", "--set", f"train.target={goal!r}", "--set", "train.stop_at_target=true")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "stop" / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["stopped_early"] is True
    assert summary["epochs_done"] == first + 1 == summary["target"]["epoch"]
    assert [float(r["loss"]) for r in _val_rows(tmp_path / "stop")] == losses[:first + 1]
    again = invoke("resume", tmp_path / "stop")
    assert again.exit_code == 0 and f"it met train.target {goal:g}); nothing to resume" in again.output
    bad = invoke("--config", tmp_path / "c.toml", "--runs-dir", tmp_path, "--name", "bad",
                 "--set", "train.stop_at_target=true")
    assert bad.exit_code == 2 and "train.stop_at_target: needs train.target" in bad.output
    assert not (tmp_path / "bad").exists()
