"""How long a tune may take, for `train tune --dry-run`: one epoch of the base config timed
in memory (nothing is written), times every run's epochs, spread over the workers."""
import os
import time


def epoch_seconds(tune):
    """One epoch of the base config, timed with one BLAS thread, as the workers train."""
    from threadpoolctl import threadpool_limits
    from trainer.training.loop import EpochEnd, Position
    from trainer.training.run import RunParts
    setup = RunParts(tune.base.with_changes({"train.epochs": 1}))
    with threadpool_limits(limits=1, user_api="blas"):
        start = time.perf_counter()
        for event in setup.trainer.run(Position()):
            if isinstance(event, EpochEnd):
                break
        return time.perf_counter() - start


def runs(tune):
    """The most runs the tune trains: each trial of each arm trains every seed."""
    from trainer.tuning.study import budget
    return budget(tune) * len(tune.arms) * len(tune.seeds)


def wall_seconds(tune, workers, seconds_per_epoch):
    """The tune's wall time at most (no trial pruned) on `workers` processes, capped by the
    cores here."""
    return runs(tune) * tune.epochs * seconds_per_epoch / max(1, min(workers, os.cpu_count() or 1))
