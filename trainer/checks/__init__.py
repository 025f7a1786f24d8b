"""Checks of a layer's math: finite differences (numeric.py), the gradient check of a cell
(cell_check.py) and the known mistakes it tests as hypotheses when a check fails (mistakes.py)."""
