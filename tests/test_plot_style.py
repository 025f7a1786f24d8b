"""The shared figure style: log axes labelled in plain text."""
from trainer.plots.style import SUPERSCRIPT, figure, log_y, power_label


def test_power_labels():
    assert power_label(1e-5) == "10\u207b\u2075"
    assert power_label(1.0) == "10\u2070"
    assert power_label(2000.0) == "2\u00d710\u00b3"
    assert power_label(0.0) == "" and power_label(float("nan")) == ""


def test_log_axes_draw_no_mathtext(monkeypatch):
    """Default log labels are mathtext ($\\mathdefault{10^{-5}}$), parsed anew at every draw;
    log_y's labels are plain text, so drawing parses nothing."""
    import matplotlib.mathtext as mathtext
    parsed = []
    original = mathtext.MathTextParser.parse
    monkeypatch.setattr(mathtext.MathTextParser, "parse",
                        lambda self, s, *a, **k: parsed.append(s) or original(self, s, *a, **k))
    fig, ax = figure((4, 3), margins=(0.6, 0.2, 0.5, 0.4, 0))
    ax.plot([1, 2, 3], [1e-6, 1e-3, 1.0])
    log_y(ax)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert "10\u207b\u00b3" in labels and not any("$" in t for t in labels)
    assert parsed == []


def test_a_log_axis_spanning_under_two_decades_is_labelled_at_2_and_5_times_too():
    """A copy run's loss went from 1.4 to 0.17: its decade-only axis showed one label (10\u2070),
    so the curve could not be read off it."""
    fig, ax = figure((4, 3), margins=(0.6, 0.2, 0.5, 0.4, 0))
    ax.plot([1, 2, 3], [1.4, 0.5, 0.17])
    log_y(ax)
    fig.canvas.draw()
    low, high = ax.get_ylim()
    shown = [t.get_text() for t, v in zip(ax.get_yticklabels(), ax.get_yticks())
             if t.get_text() and low <= v <= high]
    assert shown == ["0.2", "0.5", "1"]
    ax.invert_yaxis()                            # the same axis upside down: the same labels
    fig.canvas.draw()
    assert sorted(t.get_text() for t, v in zip(ax.get_yticklabels(), ax.get_yticks())
                  if t.get_text() and low <= v <= high) == ["0.2", "0.5", "1"]
    ax.invert_yaxis()
    ax.plot([1, 2, 3], [1e-6, 1e-3, 1.0])       # over two decades: decades only, as before
    ax.relim()
    ax.autoscale_view()
    fig.canvas.draw()
    low, high = ax.get_ylim()
    shown = [t.get_text() for t, v in zip(ax.get_yticklabels(), ax.get_yticks())
             if t.get_text() and low <= v <= high]
    assert shown == ["10" + e.translate(SUPERSCRIPT) for e in ("-6", "-5", "-4", "-3", "-2", "-1", "0")]


def test_a_constant_learning_rate_is_said_in_the_title_not_drawn_on_the_baseline(tmp_path, monkeypatch):
    """Issue 23: a constant rate drew a flat dotted line on a right axis, right over the
    baseline; it is now named in the loss panel's title, and a schedule still gets its axis."""
    import trainer.plots.run as run_plots
    figures = []
    real = run_plots.save
    monkeypatch.setattr(run_plots, "save", lambda fig, path: (figures.append(fig), real(fig, path)))
    for name, rates in (("constant", [0.01] * 4), ("cosine", [0.01, 0.008, 0.004, 0.001])):
        metrics = tmp_path / f"{name}.csv"
        metrics.write_text("step,epoch,split,loss,mse,lr,grad_norm,elapsed_s\n" + "".join(
            f"{s},{(s - 1) // 2},train,{1 / s},{1 / s},{r},1.0,0.1\n" for s, r in zip(range(1, 5), rates))
            + "2,1,val,0.5,0.5,0.008,,0.1\n4,2,val,0.25,0.25,0.001,,0.2\n")
        run_plots.plot_losses(metrics, "mse", {"val_loss": 0.3, "val_mse": 0.3}, "t", False,
                              tmp_path / f"{name}.png")
    constant, cosine = figures
    assert len(constant.axes) == 1 and "learning rate 0.01 throughout" in constant.axes[0].get_title()
    assert len(cosine.axes) == 2 and cosine.axes[1].get_ylabel() == "learning rate (dotted)"


def test_a_figure_is_saved_through_the_one_atomic_write(tmp_path, monkeypatch):
    """style.save writes with rundir.safe_io.atomic_write: a symlink at the figure's path is
    replaced, never drawn through, and no temporary is left beside it."""
    import trainer.plots.style as style
    calls = []
    real = style.atomic_write
    monkeypatch.setattr(style, "atomic_write", lambda path, write, durable=True:
                        calls.append((path, durable)) or real(path, write, durable))
    target = tmp_path / "outside.png"
    target.write_bytes(b"kept")
    link = tmp_path / "loss.png"
    link.symlink_to(target)
    fig, ax = figure((2, 2))
    ax.plot([0, 1], [1, 0])
    style.save(fig, link)
    assert calls == [(link, False)]
    assert not link.is_symlink() and link.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert target.read_bytes() == b"kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loss.png", "outside.png"]


def test_a_saved_legend_is_backed_so_a_line_under_it_does_not_run_through_its_labels(tmp_path):
    """The sine run's baseline (dashed) ran through its frameless legend's 'val' label."""
    from matplotlib.colors import to_rgba

    from trainer.plots.style import save
    fig, ax = figure((4, 3), margins=(0.6, 0.2, 0.5, 0.4, 0))
    ax.axhline(0.5, ls="--", label="baseline")
    ax.plot([0, 1], [0, 1], label="val")
    ax.legend(loc="center")
    save(fig, tmp_path / "f.png")
    frame = ax.get_legend().get_frame()
    assert ax.get_legend().get_frame_on() and frame.get_edgecolor()[3] == 0
    assert frame.get_facecolor() == to_rgba("white", 0.85)
    assert (tmp_path / "f.png").stat().st_size > 0
