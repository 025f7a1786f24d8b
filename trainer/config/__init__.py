"""Configs: load.py reads a config file plus --set overrides into a frozen Config, each key
checked by its section's typed keys (keys.py) and its value (values.py), then the whole
(checks.py); compare.py tells two configs apart; tomlio.py is the one TOML reader and writer;
shipped.py finds the shipped configs by name."""
