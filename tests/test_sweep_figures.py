"""A sweep's own figures: readable and warning-free however many runs it has."""
import json
import warnings

from trainer.plots.sweep import plot_curves

METRICS = "step,epoch,split,loss,mse,lr,grad_norm,elapsed_s\n"


def _fake_sweep(root, seeds):
    """results.csv of a seeds-only sweep and each run's metrics.csv and summary.json."""
    rows = ["seed,status,train_loss,val_loss,val_mse,baseline_val_loss,wall_s,run_dir"]
    for seed in range(seeds):
        run = root / f"seed={seed}"
        run.mkdir()
        loss = 1.0 / (seed + 1)
        (run / "metrics.csv").write_text(
            METRICS + "".join(f"{s},{s // 2},train,{loss / s},{loss / s},0.01,1.0,0.1\n"
                              f"{s},{s // 2},val,{loss / s},{loss / s},0.01,,0.1\n"
                              for s in (2, 4, 6)))
        (run / "summary.json").write_text(json.dumps({"baseline": {"train_loss": 0.03, "val_loss": 0.03}}))
        rows.append(f"{seed},completed,{loss},{loss},{loss},0.03,0.01,seed={seed}")
    (root / "results.csv").write_text("\n".join(rows) + "\n")
    return root / "results.csv"


def test_a_seeds_only_sweep_is_one_group_and_draws_without_warnings(tmp_path):
    """200 seeds once gave 200 legend entries in 13 columns that squeezed the axes to nothing
    ("constrained_layout not applied" on the terminal): runs that differ only in seed are one
    group, one legend entry."""
    results = _fake_sweep(tmp_path, 200)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = plot_curves(results, [], tmp_path / "loss_curves.png")
    assert path.stat().st_size > 0


def test_many_groups_keep_a_legend_that_fits(tmp_path):
    """A random search over lr makes one group per value: 200 of them name 16 in the legend."""
    import pandas as pd
    results = _fake_sweep(tmp_path, 200)
    df = pd.read_csv(results)
    df.insert(0, "optim.lr", [10 ** (-4 + 3 * i / 199) for i in range(200)])
    df.to_csv(results, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = plot_curves(results, ["optim.lr"], tmp_path / "loss_curves.png")
    assert path.stat().st_size > 0
