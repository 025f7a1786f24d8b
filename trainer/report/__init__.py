"""The HTML report of runs and sweeps (`train report`, `train compare`, a sweep's own report).

It reads run files only (config.toml, summary.json, metrics.csv, gradient_reach.csv and the
task view's PNG) and never runs a model. collect: run directories -> records; figures: the
records -> plotly figure specs; page: report.html and plotly.js written into one folder.
"""
import sys
import types


class _Package(types.ModuleType):
    """The package is also the API's function: trainer.report(paths, out=...) writes a report
    (trainer/api/results.py), beside trainer.report.page and the other modules."""

    def __call__(self, *args, **kwargs):
        from trainer.api.results import report
        return report(*args, **kwargs)


sys.modules[__name__].__class__ = _Package
