"""Learning-rate schedules against their formulas; plateau, early stopping and the best model
on scripted validation figures; exact resume under every schedule."""
import io
import math

import numpy as np
import pytest

import trainer.training.loop
from trainer.training import checkpoint
from trainer.config.load import from_dict
from trainer.training.loop import EpochEnd, Position, Row, Step
from trainer.training.run import RunParts
from trainer.optim.schedules import Schedule


def test_constant_is_the_rate():
    s = Schedule("constant", 0.1, total_steps=100, steps_per_epoch=10)
    assert [s.rate(k) for k in (0, 1, 50, 99)] == [0.1] * 4


def test_step_decays_every_decay_every_epochs_down_to_min_lr():
    s = Schedule("step", 0.1, 200, steps_per_epoch=10, decay=0.5, decay_every=2, min_lr=0.02)
    assert s.rate(0) == s.rate(19) == 0.1            # epochs 0 and 1
    assert s.rate(20) == s.rate(39) == 0.05          # epochs 2 and 3: one decay
    assert s.rate(40) == pytest.approx(0.025)        # two decays
    assert s.rate(60) == s.rate(199) == 0.02         # 0.0125 would be below min_lr


def test_cosine_goes_from_lr_to_min_lr_over_the_run():
    s = Schedule("cosine", 0.1, total_steps=100, steps_per_epoch=10, min_lr=0.01)
    for k in (0, 25, 50, 99):
        assert s.rate(k) == pytest.approx(0.01 + 0.09 * (1 + math.cos(math.pi * k / 100)) / 2)
    assert s.rate(0) == 0.1 and s.rate(50) == pytest.approx(0.055)


def test_warmup_ramps_linearly_into_any_schedule():
    for kind in ("constant", "step", "cosine", "plateau"):
        s = Schedule(kind, 0.1, total_steps=100, steps_per_epoch=10, warmup=4, decay=0.5)
        plain = Schedule(kind, 0.1, total_steps=100, steps_per_epoch=10, decay=0.5)
        assert [s.rate(k) for k in range(4)] == pytest.approx([plain.rate(k) * (k + 1) / 4
                                                               for k in range(4)])
        assert s.rate(4) == plain.rate(4) and s.rate(57) == plain.rate(57)


def test_plateau_decays_after_patience_epochs_without_improvement():
    s = Schedule("plateau", 0.1, 1000, 10, decay=0.5, patience=2, min_lr=0.02)
    rates = []
    for improved in (True, False, True, False, False, False, False, False, False):
        s.epoch_end(improved)
        rates.append(s.rate(0))
    # a cut after two epochs without improvement, then two more epochs of waiting; floor at 0.02
    assert rates == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02])
    t = Schedule("plateau", 0.1, 1000, 10, decay=0.5, patience=2, min_lr=0.02)
    t.load_state(s.state())
    assert t.rate(0) == s.rate(0) and t.state() == s.state()


TINY = {"task": {"name": "sine", "length": 200, "val_length": 50},
        "model": {"hidden": 6}, "optim": {"name": "adam", "lr": 0.02},
        "train": {"epochs": 6, "batch_size": 4, "bptt": 10, "log_every": 5}}


def config(**changes):
    return from_dict(TINY).with_changes(changes)


def scripted(monkeypatch, losses):
    """The loop's validation returns these val_loss figures, one per epoch."""
    figures = iter(losses)

    def evaluate(model, task):
        v = next(figures)
        return {"val_loss": v, "val_mse": v}
    monkeypatch.setattr(trainer.training.loop, "evaluate", evaluate)


def events(cfg):
    s, pos = RunParts(cfg), Position()
    out = list(s.trainer.run(pos))
    return pos, [e for e in out if isinstance(e, EpochEnd)], [e.values for e in out if isinstance(e, Row)]


def test_plateau_and_early_stopping_follow_the_scripted_figures(monkeypatch):
    #          epoch:  1    2    3    4    5    6
    scripted(monkeypatch, [3.0, 1.0, 2.0, 1.0, 1.5, 0.9])
    cfg = config(**{"optim.schedule": "plateau", "optim.patience": 1, "optim.decay": 0.5,
                    "train.early_stop": 4})
    pos, ends, rows = events(cfg)
    assert [e.improved for e in ends] == [True, True, False, False, False, True]
    lr = {r["epoch"]: r["lr"] for r in rows if r["split"] == "val"}
    # epoch 3 did not improve: epoch 4 runs at half the rate; epoch 4 (1.0 is not below 1.0)
    # and 5 did not either: quarter, eighth
    assert lr == pytest.approx({1: 0.02, 2: 0.02, 3: 0.02, 4: 0.01, 5: 0.005, 6: 0.0025})
    train_lr = [r["lr"] for r in rows if r["split"] == "train" and r["epoch"] == 4]
    assert train_lr and set(train_lr) == {0.01}          # every row shows the rate it used
    assert not ends[-1].stopping and not pos.stopped_early   # never 4 epochs without improvement
    assert pos.best["epoch"] == 6 and pos.best["val_loss"] == 0.9

    scripted(monkeypatch, [3.0, 1.0, 2.0, 1.0, 1.5, 0.9])
    pos, ends, _ = events(config(**{"train.early_stop": 2}))
    assert len(ends) == 4 and ends[-1].stopping               # two epochs without improvement
    assert pos.stopped_early and pos.epoch == 4 and pos.step == 4 * 5
    assert pos.best == {"epoch": 2, "step": 10, "val_loss": 1.0, "val_mse": 1.0}


def test_monitoring_a_metric_that_rises(monkeypatch):
    cfg = from_dict({**TINY, "task": {"name": "counting", "length": 200, "val_length": 50}})
    cfg = cfg.with_changes({"train.monitor": "val_accuracy", "train.early_stop": 1})
    figures = iter([0.5, 0.7, 0.6, 0.9])
    monkeypatch.setattr(trainer.training.loop, "evaluate",
                        lambda m, t: {"val_loss": 1.0, "val_accuracy": next(figures)})
    pos, ends, _ = events(cfg)
    assert [e.improved for e in ends] == [True, True, False] and ends[-1].stopping
    assert pos.best["epoch"] == 2 and pos.best["val_accuracy"] == 0.7


def test_nan_never_improves():
    assert not trainer.training.loop.is_better(float("nan"), None, True)
    assert trainer.training.loop.is_better(1.0, None, True) and trainer.training.loop.is_better(2.0, 1.0, False)


def roundtrip(arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize("changes", [
    {"optim.schedule": "step", "optim.decay": 0.5, "optim.decay_every": 2},
    {"optim.schedule": "cosine", "optim.min_lr": 0.001, "optim.warmup": 7},
    {"optim.schedule": "plateau", "optim.patience": 1, "optim.decay": 0.5, "train.early_stop": 2,
     "optim.lr": 0.2},
], ids=["step", "cosine-warmup", "plateau-early-stop"])
def test_resume_from_a_checkpoint_is_exact_under_each_schedule(changes):
    cfg = config(**changes)
    ref = RunParts(cfg)
    ref_rows = [e.values for e in ref.trainer.run(Position()) if isinstance(e, Row)]
    for stop in (13, 27):    # mid-epoch, before and after the epoch-2 schedule changes
        s, pos = RunParts(cfg), Position()
        rows = []
        for e in s.trainer.run(pos):
            if isinstance(e, Row):
                rows.append(e.values)
            if isinstance(e, Step) and e.step == stop:
                saved = roundtrip(checkpoint.pack(s.model, s.optimizer, s.streams, pos, len(rows)))
                break
        again = RunParts(cfg)
        pos2, n = checkpoint.unpack(saved, again.model, again.optimizer, again.streams)
        rows = rows[:n] + [e.values for e in again.trainer.run(pos2) if isinstance(e, Row)]
        strip = [{k: v for k, v in r.items() if k != "elapsed_s"} for r in rows]
        assert strip == [{k: v for k, v in r.items() if k != "elapsed_s"} for r in ref_rows]
        for a, b in zip(again.model.params, ref.model.params):
            assert np.array_equal(a, b)
    assert len({r["lr"] for r in ref_rows}) > 1      # the schedule did change the rate


def test_the_loss_figure_draws_the_rate_of_each_row(tmp_path, monkeypatch):
    """The lr column as the loss figure's dotted right-axis line, value for value."""
    from trainer.plots import run as run_plots
    rows = "".join(f"{s},{1 + s // 5},train,{1 / s},{1 / s},{0.1 * 0.5 ** (s // 5)},1.0,0.1\n"
                   for s in range(1, 21))
    rows += "".join(f"{5 * e},{e},val,{1 / e},{1 / e},{0.1 * 0.5 ** (e - 1)},,0.1\n" for e in (1, 2, 3, 4))
    (tmp_path / "metrics.csv").write_text("step,epoch,split,loss,mse,lr,grad_norm,elapsed_s\n" + rows)
    drawn = []
    monkeypatch.setattr(run_plots, "save", lambda fig, path: drawn.append(fig))
    run_plots.plot_losses(tmp_path / "metrics.csv", "mse", {"val_loss": 0.5}, "t", False,
                          tmp_path / "loss_curves.png")
    rate_axes = [ax for ax in drawn[0].axes if ax.get_ylabel().startswith("learning rate")]
    assert len(rate_axes) == 1
    line, = rate_axes[0].lines
    assert list(line.get_ydata()) == [0.1 * 0.5 ** (s // 5) for s in range(1, 21)]
