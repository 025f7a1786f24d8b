"""The HTML report of runs and sweeps (`train report`, `train compare`, a sweep's own report).

It reads run files only (config.toml, summary.json, metrics.csv, gradient_reach.csv and the
task view's PNG, read by trainer/rundir/collect.py) and never runs a model. figures: the
records -> plotly figure specs; page: report.html and plotly.js written into one folder.

The Python API's `trainer.report(...)` (trainer/api/results.py) writes one.
"""
