"""A numpy trainer for recurrent networks on synthetic sequence tasks.

`trainer.train(config, overrides=..., runs_dir=..., name=...)`, `trainer.load_run(path)` and
`trainer.gradcheck(cell)` (trainer/api.py) are loaded on first use, so `import trainer` stays
light.
"""
from trainer.version import __version__  # noqa: F401

__all__ = ["Run", "gradcheck", "load_run", "train"]


def __getattr__(name):
    if name in __all__:
        from trainer import api
        return getattr(api, name)
    raise AttributeError(f"module 'trainer' has no attribute {name!r}")
