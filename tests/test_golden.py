"""Golden files: the default sine run (configs/sine.toml) at seed 0 in float64, 2 of its 16 epochs,
gives the numbers stored in tests/golden/sine-seed0-float64/ (metrics.csv and summary.json).

Any change in the numerics (a layer, the loss, the optimizer, the schedule, clipping, evaluation)
or in the order of the random streams (data, initial weights, batches) changes them and fails
here. Compared: every stored metrics.csv column and row but elapsed_s, and every stored
summary.json field but wall_s and env (timing and the machine); numbers to rtol 1e-9 (float64
runs of these 200 steps differ by up to 2e-10 between OpenBLAS's Haswell and SkylakeX kernels),
everything else exactly. A field or column added later is not compared until the files are
regenerated.

To change the numbers on purpose, regenerate and review the diff:

    .venv/bin/python -m pytest tests/test_golden.py --update-golden
"""
import csv
import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden" / "sine-seed0-float64"
ARGS = ["--config", str(ROOT / "configs" / "sine.toml"), "--set", "model.dtype=float64",
        "--set", "train.epochs=2", "--set", "train.seed=0", "--quiet"]
IGNORED_COLUMNS = {"elapsed_s"}
IGNORED_FIELDS = {"wall_s", "env"}
RTOL = 1e-9


def _rows(path):
    with open(path, newline="") as f:
        return [{k: v for k, v in row.items() if k not in IGNORED_COLUMNS} for row in csv.DictReader(f)]


def _summary(path):
    return {k: v for k, v in json.loads(path.read_text()).items() if k not in IGNORED_FIELDS}


def _same(new, old, where):
    """new matches old: numbers to RTOL, the rest exactly; old's keys all present in new."""
    if isinstance(old, dict):
        assert isinstance(new, dict), where
        missing = set(old) - set(new)
        assert not missing, f"{where}: missing {sorted(missing)}"
        for key in old:
            _same(new[key], old[key], f"{where}.{key}")
    elif isinstance(old, list):
        assert isinstance(new, list) and len(new) == len(old), where
        for i, (a, b) in enumerate(zip(new, old)):
            _same(a, b, f"{where}[{i}]")
    elif isinstance(old, float) and not isinstance(new, bool) and isinstance(new, (int, float)):
        assert math.isclose(new, old, rel_tol=RTOL) or (math.isnan(new) and math.isnan(old)), \
            f"{where}: {new!r}, golden {old!r}"
    else:
        assert type(new) is type(old) and new == old, f"{where}: {new!r}, golden {old!r}"


def _number(text):
    try:
        return float(text)
    except ValueError:
        return text


def test_the_default_sine_run_gives_the_golden_numbers(tmp_path, update_golden):
    proc = subprocess.run([sys.executable, "-m", "trainer", *ARGS, "--runs-dir", str(tmp_path),
                           "--name", "golden"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    run = tmp_path / "golden"
    rows, summary = _rows(run / "metrics.csv"), _summary(run / "summary.json")
    if update_golden:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        with open(GOLDEN / "metrics.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        (GOLDEN / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    assert summary["status"] == "completed" and summary["steps"] == 200
    golden_rows = _rows(GOLDEN / "metrics.csv")
    assert len(rows) == len(golden_rows), "a different number of metrics.csv rows"
    for i, (new, old) in enumerate(zip(rows, golden_rows)):
        _same({k: _number(v) for k, v in new.items()}, {k: _number(v) for k, v in old.items()},
              f"metrics.csv row {i + 1}")
    _same(summary, _summary(GOLDEN / "summary.json"), "summary.json")
