"""The run directory: its layout and file names, safe reads and atomic writes, the writers of
metrics.csv and checkpoints, what a checkpoint and summary.json hold and how they are checked
when read back, provenance, and reading finished runs (for tables, reports and the API)."""
