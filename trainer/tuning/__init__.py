"""`train tune` and trainer.tune: seed-aware hyperparameter search with Optuna, its trials
trained as runs (locally or on Dask), and the files a study leaves."""
