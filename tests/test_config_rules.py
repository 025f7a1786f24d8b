"""Rules the config and its users share, each written once: the cells' options (declared by
their layers), steps per epoch and the warm-up, dotted keys, "did you mean", and comparing two
configs. Each test pins what every user of the rule sees."""
import types

import numpy as np
import pandas as pd
import pytest

import trainer
from rnn_trainer_datasets import TASKS
from rnn_trainer_datasets.base import Key, StreamTask, steps_per_epoch
from trainer.config import shipped, tomlio
from trainer.config.checks import steps_per_epoch_of
from trainer.config.compare import differences, flat
from trainer.config.keys import SECTIONS, split_dotted
from trainer.config.load import from_dict, load
from trainer.errors import BadInput, CheckpointError, ConfigError
from trainer.plugins import cells, tasks

# what a config setting an option of another cell is told, word for word
REFUSED = [
    ({"cell": "gru", "activation": "relu"}, "model.activation: 'relu' is an option of the fast rnn "
     "cell, not of 'gru' (drop it, or use model.cell = 'rnn')"),
    ({"cell": "textbook-rnn", "activation": "relu"}, "model.activation: 'relu' is an option of the "
     "fast rnn cell, not of 'textbook-rnn' (drop it, or use model.cell = 'rnn')"),
    ({"cell": "textbook-lstm", "peepholes": True}, "model.peepholes: an option of the lstm cell, "
     "not of 'textbook-lstm' (drop it, or use model.cell = 'lstm')"),
    ({"cell": "textbook-gru", "init_gates": "chrono"}, "model.init_gates: 'chrono' sets LSTM gate "
     "biases, and 'textbook-gru' is not an LSTM (use model.cell = 'lstm')"),
    ({"cell": "gru", "chrono_tmax": 1}, "model.chrono_tmax: expected 0 (the episode length) or at "
     "least 2, got 1"),
    ({"cell": "gru", "forget_bias": 2.0}, "model.forget_bias: sets the LSTM forget gate's bias, and "
     "'gru' has none the trainer sets (drop it, or use model.cell = 'lstm')"),
    ({"cell": "rnn", "chrono_tmax": 5}, "model.chrono_tmax: an option of model.init_gates = "
     "'chrono', which is 'constant' here, so this would do nothing (drop it, or set "
     "model.init_gates = 'chrono')"),
    ({"cell": "textbook-lstm", "chrono_tmax": 5}, "model.chrono_tmax: an option of "
     "model.init_gates = 'chrono', which is 'constant' here, so this would do nothing (drop it, "
     "or set model.init_gates = 'chrono')"),
    ({"cell": "lstm", "init_gates": "chrono", "forget_bias": 3.0}, "model.forget_bias: chrono "
     "initialisation draws the forget gate's bias itself, so this would do nothing (drop it, or "
     "use model.init_gates = 'constant')"),
    ({"cell": "gru", "activation": "relu", "peepholes": True}, "model.activation: 'relu' is an "
     "option of the fast rnn cell, not of 'gru' (drop it, or use model.cell = 'rnn')"),
    ({"cell": "gru", "init_gates": "chrono", "chrono_tmax": 5}, "model.init_gates: 'chrono' sets "
     "LSTM gate biases, and 'gru' is not an LSTM (use model.cell = 'lstm')"),
]


@pytest.mark.parametrize("model, expected", REFUSED)
def test_an_option_of_another_cell_is_refused_with_its_own_message(model, expected):
    with pytest.raises(ConfigError) as e:
        from_dict({"model": model}, "c.toml")
    assert str(e.value) == f"c.toml: {expected}"


def test_chrono_over_a_one_step_window_is_refused_for_either_lstm():
    for cell in ("lstm", "textbook-lstm"):
        with pytest.raises(ConfigError) as e:
            from_dict({"model": {"cell": cell, "init_gates": "chrono"}, "train": {"bptt": 1}}, "c")
        assert str(e.value) == ("c: model.init_gates: chrono with model.chrono_tmax = 0 spans "
                                "train.bptt (1 step) on a stream task, expected at least 2 steps; "
                                "set model.chrono_tmax (>= 2) or a longer train.bptt")


def test_every_declared_cell_option_is_a_model_key_with_the_declared_fields():
    declared = cells.built_in_options()
    assert list(declared) == ["activation", "peepholes", "init_gates", "forget_bias", "chrono_tmax"]
    for name in cells.BUILT_IN:
        for key, spec in cells.option_keys(name).items():
            assert SECTIONS["model"][key] == spec
    assert set(cells.resolve("lstm").options) == set(declared) - {"activation"}
    assert set(cells.resolve("textbook-lstm").options) == {"init_gates", "forget_bias",
                                                           "chrono_tmax"}
    assert cells.resolve("rnn").options.keys() == {"activation"}
    assert cells.resolve("gru").options == {} == cells.resolve("textbook-rnn").options


def test_a_plugin_class_takes_no_options_whatever_attributes_it_has():
    from trainer.layers.rnn import TimeRNN
    plugin = cells.resolve("trainer.layers.rnn:TimeRNN")
    assert plugin.cls is TimeRNN and plugin.found is not None and plugin.options == {}
    with pytest.raises(ConfigError, match="model.activation: 'relu' is an option of the fast rnn"):
        from_dict({"model": {"cell": "trainer.layers.rnn:TimeRNN", "activation": "relu"}})


def test_the_network_builds_each_declared_option():
    from trainer.layers import TimePeepholeLSTM, textbook
    from trainer.model.network import build_model
    task = types.SimpleNamespace(input_tokens=False, input_dim=1, output_dim=1, kind="regression",
                                 length=20)
    rng = np.random.default_rng(0)

    def layer(**model):
        cfg = from_dict({"model": {"hidden": 3, **model}})
        return build_model(cfg["model"], task, rng, cfg.cell).rnn
    assert layer(cell="rnn", activation="relu").activation == "relu"    # passed to the constructor
    assert isinstance(layer(cell="lstm", peepholes=True), TimePeepholeLSTM)   # a layer instead
    b = layer(cell="textbook-lstm", forget_bias=-2.5).params[2]          # the gate biases
    assert isinstance(layer(cell="textbook-lstm"), textbook.TimeLSTM)
    np.testing.assert_array_equal(b[:3], -2.5)
    np.testing.assert_array_equal(b[3:], 0)
    assert not layer(cell="gru").params[2].any()


def test_train_cells_lists_the_options_the_cells_declare_to_list():
    listed = {name: origin for name, origin, _ in cells.available()}
    assert listed["lstm"] == ("built-in (options: model.peepholes, model.init_gates = chrono, "
                              "model.forget_bias)")
    assert listed["rnn"] == listed["gru"] == "built-in"
    assert listed["textbook-lstm"] == "built-in (the book's layer, a cell object per step)"


@pytest.mark.parametrize("name", sorted(TASKS))
def test_the_config_knows_each_built_in_task_epoch_as_batching_counts_it(name):
    from trainer.training.batching import batches_for
    from trainer.training.preflight import make_checked_task
    from trainer.training.streams import streams
    cfg = from_dict({"task": {"name": name}, "train": {"batch_size": 4, "bptt": 7}})
    task = make_checked_task(cfg, streams(0)["data"])
    assert steps_per_epoch_of(cfg) == batches_for(task, cfg["train"]).per_epoch >= 1


def test_steps_per_epoch():
    assert steps_per_epoch(4, 12, length=200) == 4           # rows of 50 steps: 4 windows of 12
    assert steps_per_epoch(3, 99, train_size=10) == 3        # episodes: bptt plays no part
    assert steps_per_epoch(4, 7, length=200, train_size=9) == 2   # an episode task's length
    assert steps_per_epoch_of({"task": {"name": "x"}, "train": {"batch_size": 2, "bptt": 3}}) is None


def stepless_task():
    """A plug-in stream task with neither task.length nor task.train_size: its epoch is known
    once its data is made."""

    def make(cfg, rng):
        x = np.arange(cfg["steps"]) % 2
        chance = {"train_loss": 1.0, "val_loss": 1.0, "val_accuracy": 0.5}
        return StreamTask("flip", "classification", "accuracy", x, 1 - x, x[:20], 1 - x[:20],
                          input_dim=2, output_dim=2, baseline=chance, baseline_name="a guess")
    return types.SimpleNamespace(KEYS={"steps": Key(400, "training steps", min=2, max=1e6)},
                                 METRIC="accuracy", make=make)


def test_a_plugin_tasks_warmup_is_checked_by_the_same_rule_once_its_data_is_made():
    from trainer.training.preflight import check_run
    changes = {"task": {"name": stepless_task()}, "train": {"batch_size": 4, "bptt": 10, "epochs": 2}}
    cfg = from_dict({**changes, "optim": {"warmup": 21}}, "c.toml")   # 400 / 4 / 10 = 10 a epoch
    with pytest.raises(BadInput) as e:
        check_run(cfg)
    assert str(e.value) == ("c.toml: optim.warmup: 21 steps is longer than the run (20 steps: "
                            "train.epochs 2)")
    check_run(from_dict({**changes, "optim": {"warmup": 20}}, "c.toml"))
    with pytest.raises(ConfigError) as e:   # a built-in task's epoch is known from its keys
        from_dict({"train": {"batch_size": 4, "bptt": 10, "epochs": 2}, "optim": {"warmup": 81},
                   "task": {"length": 1600}}, "c.toml")
    assert str(e.value) == ("c.toml: optim.warmup: 81 steps is longer than the run (80 steps: "
                            "train.epochs 2)")


def test_a_plugin_task_is_made_once_per_run_and_trains_as_a_fresh_make_would(tmp_path):
    """The task preflight makes to check a plug-in is the one the run trains on: make() runs
    once, and the run's numbers are those of a run whose task is made afresh from the seed."""
    calls = []

    def make(cfg, rng):   # draws its data from rng, so a task made from another stream differs
        calls.append(1)
        x = rng.integers(0, 2, cfg["steps"])
        chance = {"train_loss": 1.0, "val_loss": 1.0, "val_accuracy": 0.5}
        return StreamTask("flip", "classification", "accuracy", x, 1 - x, x[:20], 1 - x[:20],
                          input_dim=2, output_dim=2, baseline=chance, baseline_name="a guess")
    task = types.SimpleNamespace(KEYS={"steps": Key(400, "training steps", min=2, max=1e6)},
                                 METRIC="accuracy", make=make)
    config = {"task": {"name": task}, "train": {"batch_size": 4, "bptt": 10, "epochs": 2}}
    run = trainer.train(config, runs_dir=tmp_path / "a", progress=False)
    assert run.summary["status"] == "completed" and len(calls) == 1
    from trainer.rundir.layout import RunDir
    from trainer.training import run as one_run
    fresh = RunDir.create(tmp_path / "b", "fresh", cfg=run.config)
    try:
        one_run.train(run.config, fresh)   # no preflight: the run makes its own task
    finally:
        fresh.release()
    assert len(calls) == 2
    pd.testing.assert_frame_equal(pd.read_csv(run.path / "metrics.csv").drop(columns="elapsed_s"),
                                  pd.read_csv(fresh.path / "metrics.csv").drop(columns="elapsed_s"))


def test_the_sweep_figures_read_an_epoch_from_the_config_when_no_row_tells(tmp_path):
    from trainer.plots.sweep import _steps_per_epoch
    cfg = from_dict({"train": {"batch_size": 4, "bptt": 10}, "task": {"length": 1600}})
    (tmp_path / "config.toml").write_text(cfg.to_toml())
    rows = pd.DataFrame({"step": [10], "epoch": [0], "split": ["train"], "loss": [1.0]})
    assert _steps_per_epoch(rows, tmp_path) == 40
    (tmp_path / "config.toml").write_text("[train]\nbatch_size = 0\n")
    assert _steps_per_epoch(rows, tmp_path) == 1.0   # an unreadable run: the x axis in steps


def test_one_rule_says_what_a_dotted_key_is(tmp_path):
    assert split_dotted("train.bptt") == ("train", "bptt")
    for bad in ("bptt", "train.", ".bptt", "a.b.c", 3, None):
        assert split_dotted(bad) is None
    with pytest.raises(ConfigError) as e:
        trainer.train("sine", overrides={"train.": 3}, runs_dir=tmp_path)
    assert str(e.value).endswith("sine.toml: overrides: 'train.': expected a key as section.key, "
                                 "such as 'train.bptt'")
    with pytest.raises(ConfigError) as e:
        load("sine", ["train.=3"])
    assert str(e.value).endswith("sine.toml: --set train.=3: expected a key as section.key, such "
                                 "as train.bptt")
    assert not list(tmp_path.iterdir())


def test_one_did_you_mean_for_keys_cells_tasks_and_shipped_configs():
    with pytest.raises(ConfigError, match=r"unknown key 'train.bpt' \(did you mean 'train.bptt'\?\)$"):
        from_dict({"train": {"bpt": 3}}, "c.toml")
    with pytest.raises(ConfigError, match=r"unknown key 'train.learning_rate' \(did you mean "
                                          r"'optim.lr'\?\)$"):
        from_dict({"train": {"learning_rate": 3}}, "c.toml")
    assert cells.unknown("lstn").startswith("unknown cell 'lstn' (did you mean 'lstm'?); known")
    assert tasks.unknown("sinee").startswith("unknown task 'sinee' (did you mean 'sine'?); known")
    assert shipped.hint("sin.toml").startswith(" (did you mean 'sine'?); shipped configs")


def test_two_configs_differ_by_value_or_type_in_key_order():
    old = flat({"train": {"seed": 0, "bptt": 5}, "optim": {"lr": 1}, "plugins": "x"})
    assert old == {"train.seed": 0, "train.bptt": 5, "optim.lr": 1, "plugins": "x"}
    new = {"train.seed": 1, "train.bptt": 5, "optim.lr": 1.0, "model.cell": "gru"}
    assert differences(old, new) == [("model.cell", None, "gru"), ("optim.lr", 1, 1.0),
                                     ("plugins", "x", None), ("train.seed", 0, 1)]
    assert differences(old, new, ignore={"train.seed", "optim.lr"}, missing="-") == \
        [("model.cell", "-", "gru"), ("plugins", "x", "-")]
    assert differences(old, dict(old)) == []


def test_resume_names_the_keys_changed_since_the_checkpoint():
    from trainer.rundir.checkpoint_check import check_config, config_digest
    then = from_dict({"train": {"seed": 0}}, "c.toml")
    state = dict(zip(("config", "config_digest"), config_digest(then)))
    check_config(state, from_dict({"train": {"seed": 0, "epochs": 3}}), "ckpt")  # epochs may grow
    with pytest.raises(CheckpointError) as e:
        check_config(state, from_dict({"train": {"seed": 1}, "optim": {"lr": 0.5}}, "c.toml"), "ckpt")
    assert str(e.value).startswith("c.toml: changed since the checkpoint was written: optim.lr "
                                   "(0.1 -> 0.5), train.seed (0 -> 1); a run resumes only")


def test_a_sweep_reuses_a_directory_or_a_run_only_under_the_same_config(tmp_path):
    from trainer.rundir.layout import SWEEP_FILE
    from trainer.sweeps.execute import check_same_config, open_dir
    base = from_dict({"optim": {"lr": 0.1}})
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / SWEEP_FILE).write_text(tomlio.dumps({"base": from_dict({"optim": {"lr": 0.2}}).to_dict()}))
    swept_lr = types.SimpleNamespace(base=base, keys=["optim.lr"])
    assert open_dir(swept_lr, tmp_path, "s") == tmp_path / "s"   # a swept key may differ
    with pytest.raises(ConfigError) as e:
        open_dir(types.SimpleNamespace(base=base, keys=["train.bptt"]), tmp_path, "s")
    assert "holds a sweep of a different base config (optim.lr: 0.2 there, 0.1 now); " in str(e.value)
    run = tmp_path / "s" / "lr=0.1"
    run.mkdir()
    (run / "config.toml").write_text(from_dict({"optim": {"lr": 0.10000001}}).to_toml())
    with pytest.raises(ConfigError) as e:
        check_same_config(run, types.SimpleNamespace(cfg=base))
    assert str(e.value).startswith(f"{run}: holds a run of optim.lr = 0.10000001, where this "
                                   "point asks 0.1; its name cannot tell them apart")
