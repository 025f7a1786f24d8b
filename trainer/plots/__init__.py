"""matplotlib figures of runs and sweeps, drawn from arrays and run files (never a model)."""
