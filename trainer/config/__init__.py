"""Configs: the shipped ones by name, TOML in and out, and a config file plus --set overrides
checked key by key into a frozen Config."""
