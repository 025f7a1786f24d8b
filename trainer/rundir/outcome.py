"""What a run's figures say about it: whether it beat its task's trivial baseline.

One rule for every cell and task, used by the run's summary, its last line, the sweep's
results.csv and the tables: the final validation metric is compared with the baseline's on the
same data, in the metric's direction (losses and MSE fall, accuracies rise); a tie does not beat
it, and neither does a missing or non-finite figure."""
import math

from trainer.model.metrics import lower_is_better


def beats_baseline(summary):
    """True, False, or None when the summary holds no final validation metric to compare
    (a run that never validated). Works on summaries written before the key existed."""
    if not isinstance(summary, dict):
        return None
    metric = summary.get("metric")
    final, baseline = summary.get("final"), summary.get("baseline")
    if not isinstance(metric, str) or not isinstance(final, dict) or not isinstance(baseline, dict):
        return None
    key = f"val_{metric}"
    value, base = final.get(key), baseline.get(key)
    if not _number(value):
        return None
    if not _number(base):
        return None
    if not math.isfinite(value):
        return False
    return value < base if lower_is_better(key) else value > base


def _number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)
