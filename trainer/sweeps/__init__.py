"""Sweeps: sweep files -> points, what is left to run, a local process pool or Dask, results.

The Python API's `trainer.sweep(...)` (trainer/api/results.py) runs one."""
