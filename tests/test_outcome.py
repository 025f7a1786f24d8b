"""Whether a run beat its task's trivial baseline: one rule, in the metric's direction."""
import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from trainer.cli import main
from trainer.rundir.outcome import beats_baseline

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def summary(metric, value, base):
    return {"metric": metric, "final": {f"val_{metric}": value}, "baseline": {f"val_{metric}": base}}


@pytest.mark.parametrize("metric, value, base, expected", [
    ("mse", 0.001, 0.03, True),             # errors fall
    ("mse", 0.05, 0.03, False),
    ("accuracy", 1.0, 0.75, True),          # accuracies rise
    ("accuracy", 0.5, 0.75, False),
    ("string_accuracy", 0.9, 0.0, True),
    ("accuracy", 0.75, 0.75, False),        # a tie does not beat it
    ("mse", 0.03, 0.03, False),
    ("mse", math.nan, 0.03, False),         # nor does a figure that is not finite
    ("accuracy", math.inf, 0.75, False),
])
def test_the_metrics_direction_decides(metric, value, base, expected):
    assert beats_baseline(summary(metric, value, base)) is expected


@pytest.mark.parametrize("broken", [
    None, [], {}, {"metric": "mse", "final": {}, "baseline": {"val_mse": 0.1}},
    {"metric": "mse", "final": {"val_mse": "0.1"}, "baseline": {"val_mse": 0.1}},
    {"metric": "mse", "final": {"val_mse": True}, "baseline": {"val_mse": 0.1}},
    {"metric": ["mse"], "final": {}, "baseline": {}},
    {"metric": "mse", "final": {"val_mse": 0.01}, "baseline": None},
])
def test_nothing_to_compare_is_none_not_a_guess(broken):
    assert beats_baseline(broken) is None


def run(tmp_path, *sets):
    cfg = CONFIGS / "sine.toml"
    args = ["--config", cfg, "--runs-dir", tmp_path / "runs", "--quiet"]
    for s in sets:
        args += ["--set", s]
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    path = tmp_path / "runs" / result.stdout.strip().splitlines()[-1].split("/")[-1]
    return result, json.loads((path / "summary.json").read_text())


def test_a_run_that_learnt_nothing_completes_with_a_warning_and_says_so(tmp_path):
    result, s = run(tmp_path, "optim.lr=1e-9", "train.epochs=1")
    assert s["status"] == "completed" and s["beats_baseline"] is False
    warning, = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert "val_mse" in warning and "persistence" in warning, warning


def test_a_run_that_learnt_has_no_warning(tmp_path):
    result, s = run(tmp_path)
    assert s["beats_baseline"] is True, s["final"]
    assert "warning" not in result.stderr
