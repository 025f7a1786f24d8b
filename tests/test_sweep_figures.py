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


def _capture(monkeypatch):
    """The figures the sweep plots hand to `save` (which still writes them), in order."""
    import trainer.plots.sweep as sweep_plots
    figures = []
    real_save = sweep_plots.save
    monkeypatch.setattr(sweep_plots, "save", lambda fig, path: (figures.append(fig), real_save(fig, path)))
    return figures


def _assert_legend_fits(fig):
    """As drawn (save has drawn it): the one legend lies inside the figure, covers no panel's
    plotting area, and the panels keep a readable share of the width (a legend of every group
    once squeezed them to nothing). Returns the legend's texts."""
    renderer = fig.canvas.get_renderer()
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend()] + list(fig.legends)
    assert len(legends) == 1, legends
    box = legends[0].get_window_extent(renderer)
    page = fig.bbox
    assert page.x0 - 1 <= box.x0 and box.x1 <= page.x1 + 1, (box, page)   # inside, left to right
    assert page.y0 - 1 <= box.y0 and box.y1 <= page.y1 + 1, (box, page)   # and top to bottom
    for ax in fig.axes:
        area = ax.get_window_extent(renderer)
        assert not box.overlaps(area), "the legend covers a panel"
        assert area.width >= 0.25 * page.width and area.height >= 0.5 * page.height, area
    return [t.get_text() for t in legends[0].get_texts()]


def test_a_seeds_only_sweep_is_one_group_and_draws_without_warnings(tmp_path, monkeypatch):
    """200 seeds once gave 200 legend entries in 13 columns that squeezed the axes to nothing
    ("constrained_layout not applied" on the terminal): runs that differ only in seed are one
    group, one legend entry."""
    results = _fake_sweep(tmp_path, 200)
    figures = _capture(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = plot_curves(results, [], tmp_path / "loss_curves.png")
    assert path.stat().st_size > 0
    fig, = figures
    assert _assert_legend_fits(fig) == ["200 runs (seeds)", "baseline"]
    for ax in fig.axes:   # one colour: every run's line drawn in the group's
        assert len(ax.get_lines()) == 200 + 1 and len({str(line.get_color()) for line in ax.get_lines()[:200]}) == 1


def test_many_groups_keep_a_legend_that_fits(tmp_path, monkeypatch):
    """A random search over lr makes one group per value: 200 of them name 16 in the legend
    (the first 15, a count of the rest, the last), and the legend fits beside the panels."""
    import pandas as pd
    from trainer.plots.sweep import LEGEND_MAX
    results = _fake_sweep(tmp_path, 200)
    df = pd.read_csv(results)
    lrs = [10 ** (-4 + 3 * i / 199) for i in range(200)]
    df.insert(0, "optim.lr", lrs)
    df.to_csv(results, index=False)
    figures = _capture(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = plot_curves(results, ["optim.lr"], tmp_path / "loss_curves.png")
    assert path.stat().st_size > 0
    fig, = figures
    texts = _assert_legend_fits(fig)
    named = [f"lr={v:.3g}" for v in sorted(lrs)]
    assert LEGEND_MAX == 16
    assert texts == named[:15] + [f"... {200 - 15} more groups", named[-1], "baseline"]


def test_the_final_figures_legend_sits_below_the_panels_not_on_the_data(tmp_path, monkeypatch):
    """Issue 23: final_vs_cell.png drew its groups' legend on top of the band-and-dot legend, both
    over the data. Now one legend sits below all panels: it overlaps no axes."""
    import pandas as pd
    import trainer.plots.sweep as sweep_plots
    results = _fake_sweep(tmp_path, 4)
    df = pd.read_csv(results)
    df.insert(0, "model.cell", ["rnn", "lstm"] * 2)
    df.insert(0, "train.bptt", [2, 2, 4, 4])
    df.insert(df.columns.get_loc("baseline_val_loss"), "val_accuracy", [0.9, 0.95, 0.97, 0.99])
    df.to_csv(results, index=False)
    figures = []
    real_save = sweep_plots.save
    monkeypatch.setattr(sweep_plots, "save", lambda fig, path: (figures.append(fig), real_save(fig, path)))
    for key in ("model.cell", "train.bptt"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            sweep_plots.plot_final(results, key, tmp_path / f"final_vs_{key}.png")
    for fig in figures:
        renderer = fig.canvas.get_renderer()
        assert not any(ax.get_legend() for ax in fig.axes)            # no legend inside a panel
        legend, = fig.legends
        box = legend.get_window_extent(renderer)
        for ax in fig.axes:
            assert not box.overlaps(ax.get_tightbbox(renderer)), "the legend covers a panel"
        assert box.x0 >= 0 and box.x1 <= fig.bbox.width + 1                # and fits the figure


def test_a_random_search_key_is_drawn_as_points_on_its_log_scale_with_a_running_median(tmp_path, monkeypatch):
    """Issue 23: sampled lr values were placed as if a grid and joined by lines."""
    import pandas as pd
    import trainer.plots.sweep as sweep_plots
    results = _fake_sweep(tmp_path, 40)
    df = pd.read_csv(results)
    df.insert(0, "optim.lr", [10 ** (-4 + 4 * ((i * 7) % 40) / 39) for i in range(40)])
    df.to_csv(results, index=False)
    figures = []
    real_save = sweep_plots.save
    monkeypatch.setattr(sweep_plots, "save", lambda fig, path: (figures.append(fig), real_save(fig, path)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sweep_plots.plot_final(results, "optim.lr", tmp_path / "final_vs_lr.png")
    ax = figures[0].axes[0]
    assert ax.get_xscale() == "log"
    labels = [line.get_label() for line in ax.lines]
    assert "each run" in labels and any(label.startswith("running median") for label in labels)
    trend = next(line for line in ax.lines if line.get_label().startswith("running median"))
    assert list(trend.get_xdata()) == sorted(trend.get_xdata())
    assert not ax.collections                                   # no min-max bands between samples


def test_a_true_false_key_is_two_categories_named_as_toml_writes_them(tmp_path, monkeypatch):
    """model.peepholes = [false, true] was drawn on a number line from 0 to 1, ticked 0 and 1."""
    import pandas as pd
    import trainer.plots.sweep as sweep_plots
    results = _fake_sweep(tmp_path, 4)
    df = pd.read_csv(results)
    df.insert(0, "model.peepholes", [False, True] * 2)
    df.to_csv(results, index=False)
    figures = []
    real_save = sweep_plots.save
    monkeypatch.setattr(sweep_plots, "save", lambda fig, path: (figures.append(fig), real_save(fig, path)))
    sweep_plots.plot_final(results, "model.peepholes", tmp_path / "final.png")
    ax = figures[0].axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["false", "true"]
    assert list(ax.get_xticks()) == [0, 1]
