"""Plug-in tasks and cells: what `task.name` and `model.cell` may name besides the built-ins,
how they are found (trainer/plugins/source.py), and the interfaces they are checked against
(tasks.py, cells.py). docs/plugins.md is the user's guide."""
