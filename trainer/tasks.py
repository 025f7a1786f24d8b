"""The task interface for plug-in tasks: what a task module imports to describe itself.

    from trainer.tasks import Key, StreamTask, stream_check

A task module holds `KEYS` (a dict of `Key`: its config keys under [task]), `METRIC` (the name of
its figure, as in val_<METRIC>) and `make(task_cfg, rng)` returning a `StreamTask` (one long
stream, read in windows with the state carried) or an `EpisodeTask` (independent episodes, each a
`Batch` with a loss mask); `footprint(task_cfg)`, `check(cfg)` and `score(outputs, targets,
mask)` (the task's own figure, as (total, count)) are optional. `TASKS` holds the built-in tasks by name. The tasks themselves live in the
project's `datasets/` folder, installed under the import name `rnn_trainer_datasets`.
"""
from rnn_trainer_datasets import TASKS
from rnn_trainer_datasets.base import (Batch, EpisodeTask, Key, StreamTask, episode_check,
                                       memoryless_probabilities, memoryless_scores,
                                       sequences_right, stream_check)

__all__ = ["TASKS", "Batch", "EpisodeTask", "Key", "StreamTask", "episode_check",
           "memoryless_probabilities", "memoryless_scores", "sequences_right", "stream_check"]
