"""Checks of a layer's math: finite differences (numeric.py), the gradient check of a cell
(cell_check.py) on the layer built and run by under_test.py, the known mistakes it tests as
hypotheses when a check fails (mistakes.py), and a gated layer without its `gates` (gates.py)."""
