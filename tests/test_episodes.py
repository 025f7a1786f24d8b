"""Episode tasks end to end: the shipped configs train past their baselines, cells switch."""
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from trainer.cli import main

ROOT = Path(__file__).resolve().parents[1]


def train(tmp_path, config, *sets):
    args = ["--config", str(ROOT / "configs" / config), "--quiet", "--runs-dir", str(tmp_path)]
    for s in sets:
        args += ["--set", s]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    run = Path(result.stdout.strip().splitlines()[-1])
    return run, json.loads((run / "summary.json").read_text())


def test_parity_is_learned(tmp_path):
    _, s = train(tmp_path, "parity.toml", "task.length=6", "train.epochs=15")
    assert s["final"]["val_accuracy"] >= 0.95 > s["baseline"]["val_accuracy"] == 0.5


def test_anbn_right_in_the_training_range(tmp_path):
    run, s = train(tmp_path, "anbn.toml", "task.n_max=5", "task.n_test_max=8")
    assert s["final"]["val_string_accuracy"] == 1.0 > s["baseline"]["val_string_accuracy"]
    assert "val_long_string_accuracy" in s["final"] and "val_long_loss" in s["final"]
    out = CliRunner().invoke(main, ["eval", str(run)]).stdout
    assert "val_long_string_accuracy" in out


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gated_cells_solve_short_adding(tmp_path, cell):
    run, s = train(tmp_path, "adding.toml", f"model.cell={cell}", "task.length=10",
                   "model.hidden=16", "train.epochs=8")
    assert s["final"]["val_mse"] < s["baseline"]["val_mse"] / 10
    for name in ("task_view.png", "gradient_reach.png", "gradient_reach.csv", "checkpoint.npz"):
        assert (run / name).exists()


def test_copy_runs_with_every_cell_and_writes_its_view(tmp_path):
    for cell in ("rnn", "lstm", "gru"):
        run, s = train(tmp_path, "copy.toml", f"model.cell={cell}", "task.delay=3",
                       "task.train_size=200", "task.val_size=50", "train.epochs=2", "model.hidden=8")
        assert s["status"] == "completed" and 0 <= s["final"]["val_accuracy"] <= 1
        assert (run / "task_view.png").stat().st_size > 5000


def test_irnn_and_rmsprop(tmp_path):
    _, s = train(tmp_path, "adding.toml", "model.activation=relu", "model.init=identity",
                 "optim.name=rmsprop", "optim.lr=0.001", "task.length=10", "train.epochs=5")
    assert s["status"] == "completed" and s["final"]["val_mse"] < s["baseline"]["val_mse"]


def test_validation_sets_smaller_than_the_view(tmp_path):
    """The token view shows 8 episodes; with fewer in the validation set it used to crash."""
    for config in ("copy.toml", "parity.toml"):
        run, s = train(tmp_path, config, "task.val_size=3", "task.train_size=100", "train.epochs=1")
        assert s["status"] == "completed" and (run / "task_view.png").exists()
