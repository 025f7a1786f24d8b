"""Where a study lives: Optuna (the `tune` extra) checked and imported, the journal file
(study.log) as its storage, and the lock under which trials are counted and asked."""
import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from trainer.rundir.layout import STUDY_LOG

ASK_LOCK = ".ask.lock"
INSTALL = "pip install 'rnn-trainer[tune]'"


class OptunaMissing(ImportError):
    """Optuna is not installed (the `tune` extra)."""


def need_optuna():
    try:
        import optuna
    except ImportError:
        raise OptunaMissing(f"train tune needs Optuna, which is not installed; install it with: "
                            f"{INSTALL}") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    import warnings  # the wilcoxon pruner is marked experimental; said once in docs/tuning.md
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


NEEDS = {("sampler", "cmaes"): "cmaes", ("pruner", "wilcoxon"): "scipy"}


def check_extras(tune):
    """Optuna's CMA-ES sampler needs the cmaes package and its Wilcoxon pruner scipy: said in
    one line before anything is written (OptunaMissing), not by a worker mid-study."""
    import importlib.util
    need_optuna()
    for (field, value), module in NEEDS.items():
        if getattr(tune, field) == value and importlib.util.find_spec(module) is None:
            raise OptunaMissing(f"tune.{field} = {value!r} needs the {module} package, which is not "
                                f"installed; install it with: pip install {module}")


def storage(study_dir):
    """The study's journal: Optuna's JournalStorage on a JournalFileBackend (study.log)."""
    need_optuna()
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    return JournalStorage(JournalFileBackend(str(Path(study_dir) / STUDY_LOG)))


@contextmanager
def ask_lock(study_dir):
    fd = os.open(Path(study_dir) / ASK_LOCK, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
