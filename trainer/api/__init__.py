"""The Python API for notebooks and scripts: trainer.train, load_run and gradcheck (runs.py),
a Run's inline view (run_view.py), and trainer.sweep, table and report (results.py)."""
