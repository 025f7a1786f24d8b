"""The shipped configs (TOML files), installed as package data of `trainer.configs`: `train configs` lists them and `--config NAME` finds them from any folder."""
