"""Measurements for `train tune` (issue 36): is TPE better than random search at the same
number of trials, and what does pruning save?

1. Sampler: for each of `--search-seeds` search seeds, a study with TPE and one with random
   search (same space, trials, training seeds, no pruning), each then confirmed on
   `--confirm` fresh seeds; the table gives, per sampler, the mean and range over search
   seeds of the confirmed value (the figure that counts, not the search's own best).
2. Pruning: the same studies with TPE and the median pruner against TPE without pruning:
   epochs trained (all trials, all seeds), wall time, and the confirmed value.

    python scripts/tune_measure.py                                  # the full measurement
    python scripts/tune_measure.py --base sine --trials 8 --seeds 3 --confirm 3 --epochs 5
    python scripts/tune_measure.py --base sine --trials 8 --epochs 10 --set task.length=20000

Runs go to --runs-dir (default runs/tune-measure/); a study already there is continued, not
retrained. Prints a Markdown table; nothing else is written outside --runs-dir.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


SPACES = {  # a small, shipped config each, and the space searched on it
    "sine": ({"task.length": 2000, "task.val_length": 200, "train.batch_size": 8},
             {"optim.lr": {"low": 1e-3, "high": 0.3, "log": True},
              "model.hidden": {"choices": [4, 8, 16, 32]}}),
    "adding": ({"task.train_size": 500, "task.val_size": 200},
               {"optim.lr": {"low": 1e-4, "high": 0.1, "log": True},
                "model.hidden": {"choices": [8, 16, 32, 64]}}),
}


def spec(args, sampler, pruner, search_seed):
    fixed, params = SPACES[args.base]
    extra = dict(_parse(text) for text in args.set)
    return {"base": args.base, "set": {**fixed, "train.epochs": args.epochs, **extra},
            "tune": {"objective": "val_loss", "seeds": list(range(args.seeds)), "trials": args.trials,
                     "sampler": sampler, "pruner": pruner, "seed": search_seed, "params": params}}


def _parse(text):
    """KEY=VALUE with VALUE read as TOML (8, 0.1, "lstm")."""
    import tomllib
    key, _, value = text.partition("=")
    return key.strip(), tomllib.loads(f"v = {value}")["v"]


def one(args, sampler, pruner, search_seed):
    import trainer
    name = f"{args.base}-{sampler}-{pruner}-s{search_seed}"
    start = time.perf_counter()
    study = trainer.tune(spec(args, sampler, pruner, search_seed), runs_dir=args.runs_dir, name=name,
                         workers=args.workers, confirm=args.confirm)
    wall = time.perf_counter() - start
    t = study.trials
    trained = t[t["state"].isin(["complete", "pruned"])]
    seeds_trained = trained[[c for c in t.columns if c.startswith("seed_")]].notna().sum(axis=1)
    epochs = int((trained["epochs"].astype(float) * seeds_trained).sum())
    confirmed = study.confirmed["val_loss mean"].astype(float).iloc[0] if study.confirmed is not None \
        and "val_loss mean" in study.confirmed else _confirmed_mean(Path(args.runs_dir) / name)
    return {"name": name, "best": study.best["value"] if study.best else None, "confirmed": confirmed,
            "epochs": epochs, "wall_s": wall, "pruned": int((t["state"] == "pruned").sum())}


def _confirmed_mean(study_dir):
    import json
    values = [json.loads((d / "summary.json").read_text())["final"]["val_loss"]
              for d in sorted((study_dir / "confirm").iterdir()) if (d / "summary.json").is_file()]
    return statistics.fmean(values)


def spread(values):
    return f"{statistics.fmean(values):.4g} ({min(values):.4g} to {max(values):.4g})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", choices=sorted(SPACES), default="adding")
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--search-seeds", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=3, help="training seeds per trial")
    ap.add_argument("--confirm", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs-dir", default="runs/tune-measure")
    ap.add_argument("--conditions", default="tpe-none,random-none,tpe-median",
                    help="sampler-pruner pairs to compare [default: %(default)s]")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="another fixed override of the base config (repeatable)")
    args = ap.parse_args()
    conditions = [tuple(c.split("-")) for c in args.conditions.split(",")]
    results = {}
    for s in range(args.search_seeds):   # interleaved, so a change in the machine's load
        for sampler, pruner in conditions:  # falls on every condition alike
            r = one(args, sampler, pruner, s)
            results.setdefault((sampler, pruner), []).append(r)
            print(f"{r['name']}: search best {r['best']:.4g}, confirmed {r['confirmed']:.4g}, "
                  f"{r['epochs']} epochs, {r['pruned']} pruned, {r['wall_s']:.0f} s", file=sys.stderr)
    print(f"{args.base} {' '.join(args.set)}, {args.trials} trials x {args.seeds} seeds x {args.epochs} epochs, "
          f"{args.search_seeds} search seeds, confirmed on {args.confirm} fresh seeds, "
          f"{args.workers} workers; val_loss (lower is better)\n")
    print("| sampler | pruner | search's best val_loss, mean (range) | confirmed val_loss, mean (range) "
          "| epochs trained, mean | pruned trials, mean | wall time per study, mean |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for (sampler, pruner), rs in results.items():
        print(f"| {sampler} | {pruner} | {spread([r['best'] for r in rs])} | "
              f"{spread([r['confirmed'] for r in rs])} | {statistics.fmean(r['epochs'] for r in rs):.0f} | "
              f"{statistics.fmean(r['pruned'] for r in rs):.1f} | "
              f"{statistics.fmean(r['wall_s'] for r in rs):.0f} s |")


if __name__ == "__main__":
    main()
