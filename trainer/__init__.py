"""A numpy trainer for recurrent networks on synthetic sequence tasks.

`trainer.train(config, overrides=..., runs_dir=..., name=...)`, `trainer.load_run(path)` and
`trainer.gradcheck(cell)` (trainer/api.py), `trainer.sweep(...)`, `trainer.table(...)` and
`trainer.report(...)` (trainer/api_results.py), and `trainer.tune(...)`
(trainer/sweep/tune_api.py) are loaded on first use, so `import trainer` stays light.
"""
from trainer.version import __version__  # noqa: F401

_API = {"Run": "api", "gradcheck": "api", "load_run": "api", "train": "api",
        "sweep": "api_results", "table": "api_results", "report": "api_results",
        "tune": "sweep.tune_api"}
__all__ = list(_API)


def __getattr__(name):
    if name in _API:
        import importlib
        return getattr(importlib.import_module(f"trainer.{_API[name]}"), name)
    raise AttributeError(f"module 'trainer' has no attribute {name!r}")
