"""Sweeps: sweep files -> points, what is left to run, a local process pool or Dask, results."""
import sys
import types


class _Package(types.ModuleType):
    """The package is also the API's function: trainer.sweep(spec, name=...) runs a sweep
    (trainer/api/results.py), beside trainer.sweep.spec and the other modules."""

    def __call__(self, *args, **kwargs):
        from trainer.api.results import sweep
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _Package
