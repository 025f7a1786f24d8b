"""Synthetic sequence tasks, registered by name.

Each task module defines KEYS (its config keys under [task]), METRIC, and
make(task_cfg, rng) -> Task, a pure function of its config and a
numpy.random.Generator.
"""
from datasets import counting, sine
from datasets.base import Task

TASKS = {"sine": sine, "counting": counting}

__all__ = ["TASKS", "Task", "get_task", "make_task"]


def get_task(name):
    """The task module registered as `name` (KeyError if there is none)."""
    return TASKS[name]


def make_task(task_cfg, rng):
    """Build the task named by task_cfg['name'] from its config and rng."""
    return TASKS[task_cfg["name"]].make(task_cfg, rng)
