"""Synthetic sequence tasks, registered by name.

Each task module defines KEYS (its config keys under [task]), METRIC,
make(task_cfg, rng) -> StreamTask or EpisodeTask (a pure function of its config
and a numpy.random.Generator), footprint(task_cfg) -> (floats its arrays hold, steps
per episode or None for a stream, widest input or output) for the memory check
before a run, and optionally check(cfg) -> a problem with the whole config, as a phrase, or None.
"""
from . import (adding, anbn, copy_task, counting, multiplication, parity, reber, sine,
                      temporal_order)
from .base import Batch, EpisodeTask, StreamTask

TASKS = {"sine": sine, "counting": counting, "adding": adding, "copy": copy_task, "anbn": anbn,
         "parity": parity, "temporal_order": temporal_order, "reber": reber,
         "multiplication": multiplication}

__all__ = ["TASKS", "Batch", "EpisodeTask", "StreamTask", "make_task"]


def make_task(task_cfg, rng):
    """Build the task named by task_cfg['name'] from its config and rng."""
    return TASKS[task_cfg["name"]].make(task_cfg, rng)
