"""train ls's sweep line picks its best run by the one metric-direction rule (model/metrics.py)."""
from pathlib import Path

from trainer.model.metrics import lower_is_better
from trainer.reports.listing import sweep_row


def _run(val, metric):
    return {"status": "completed", "val": val, "baseline": 1.0, "metric": metric, "age": 1.0,
            "wall": 2.0, "task": "t", "cell": "rnn", "steps": 10}


def test_a_sweeps_best_run_follows_the_metrics_direction():
    for metric in ("accuracy", "string_accuracy", "mse", "error"):
        row = sweep_row(Path("sweep"), [_run(0.1, metric), _run(0.9, metric)])
        assert row["val"] == (0.1 if lower_is_better(f"val_{metric}") else 0.9), metric
    assert sweep_row(Path("sweep"), [_run(0.1, "error"), _run(0.9, "error")])["val"] == 0.1
    assert sweep_row(Path("sweep"), [_run(0.1, "accuracy"), _run(0.9, "accuracy")])["val"] == 0.9
