"""A numpy trainer for recurrent networks on synthetic sequence tasks.

`trainer.train(config, overrides=..., runs_dir=..., name=...)`, `trainer.load_run(path)` and
`trainer.gradcheck(cell)` (trainer/api/runs.py), `trainer.sweep(...)`, `trainer.table(...)` and
`trainer.report(...)` (trainer/api/results.py), and `trainer.tune(...)`
(trainer/tuning/api.py) are loaded on first use, so `import trainer` stays light.
"""
from trainer.version import __version__  # noqa: F401

_API = {"Run": "api.runs", "gradcheck": "api.runs", "load_run": "api.runs", "train": "api.runs",
        "sweep": "api.results", "table": "api.results", "report": "api.results",
        "tune": "tuning.api"}
__all__ = list(_API)


def __getattr__(name):
    if name in _API:
        import importlib
        return getattr(importlib.import_module(f"trainer.{_API[name]}"), name)
    raise AttributeError(f"module 'trainer' has no attribute {name!r}")
