"""Analyses of finished runs: the results table with uncertainty (`train table`)."""
