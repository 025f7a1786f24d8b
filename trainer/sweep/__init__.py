"""Sweeps: sweep files -> points, what is left to run, a local process pool or Dask, results."""
