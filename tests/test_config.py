"""Config loading: defaults, types, ranges, overrides, and one-line errors."""
import tomllib

import pytest

from trainer.config.load import ConfigError, from_dict, load


def write(tmp_path, text, name="c.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_defaults_and_task_keys():
    cfg = from_dict({})
    assert cfg["task"]["name"] == "sine" and cfg["task"]["period"] == 25.0
    assert cfg["train"]["bptt"] == 25 and cfg["optim"]["clip"] == 1.0
    cfg = from_dict({"task": {"name": "counting"}})
    assert cfg["task"]["repeat"] == 4 and "period" not in cfg["task"]


def test_resolved_config_round_trips_through_toml():
    cfg = from_dict({"task": {"name": "counting", "repeat": 8}, "optim": {"lr": 1e-5}})
    again = from_dict(tomllib.loads(cfg.to_toml()))
    assert again == cfg


def test_overrides_are_typed_by_the_default(tmp_path):
    p = write(tmp_path, '[task]\nname = "sine"\n')
    cfg = load(p, ["train.bptt=10", "optim.lr=0.5", "optim.name=adam", "task.noise=1"])
    assert cfg["train"]["bptt"] == 10 and cfg["optim"]["lr"] == 0.5
    assert cfg["optim"]["name"] == "adam" and cfg["task"]["noise"] == 1.0
    assert isinstance(cfg["task"]["noise"], float)
    cfg = load(p, ["task.name=counting", "task.repeat=8"])
    assert cfg["task"]["repeat"] == 8
    p.write_text("")
    for quoted in ['task.name="counting"', "task.name='counting'"]:  # as a shell passes them
        assert load(p, [quoted])["task"]["name"] == "counting"


def test_int_config_value_for_float_key_is_accepted(tmp_path):
    cfg = load(write(tmp_path, "[optim]\nlr = 1\n"))
    assert cfg["optim"]["lr"] == 1.0 and isinstance(cfg["optim"]["lr"], float)


BAD = [
    ("[train\nbptt = 3\n", [], "malformed TOML"),
    ("[trian]\nbptt = 3\n", [], "did you mean 'train'"),
    ("[train]\nbpt = 3\n", [], "did you mean 'train.bptt'"),
    ("[train]\nbptt = 2.5\n", [], "train.bptt: expected an integer"),
    ("[train]\nbptt = true\n", [], "train.bptt: expected an integer"),
    ("[train]\nbptt = \"8\"\n", [], "train.bptt: expected an integer"),
    ("[optim]\nlr = \"fast\"\n", [], "optim.lr: expected a number"),
    ("[optim]\nlr = true\n", [], "optim.lr: expected a number"),
    ("[optim]\nlr = 0\n", [], "optim.lr: expected a number > 0"),
    ("[optim]\nlr = nan\n", [], "optim.lr: expected a finite number"),
    ("[optim]\nclip = inf\n", [], "optim.clip: expected a finite number"),
    ("[optim]\nclip = -1\n", [], "optim.clip: expected a number >= 0"),
    ("[train]\nbatch_size = 0\n", [], "train.batch_size"),
    ("[model]\nhidden = -3\n", [], "model.hidden"),
    ("[train]\nbptt = 400\n", [], "does not fit the data"),
    ("[task]\nname = \"sin\"\n", [], "did you mean 'sine'"),
    ("[model]\ncell = \"gruu\"\n", [], "model.cell: unknown cell 'gruu' (did you mean 'gru'?)"),
    ("[optim]\nname = \"adagrad\"\n", [], "optim.name: expected one of"),
    ("train = 3\n", [], "expected a [train] table"),
    ("", ["train.bptt"], "expected KEY=VALUE"),
    ("", ["bptt=3"], "expected a key as section.key"),
    ("", ["train.bptt=abc"], "expected an integer, got 'abc'"),
    ("", ["train.bptt=2.0"], "expected an integer"),
    ("", ["optim.lr=nan"], "finite"),
    ("", ["train.nope=1"], "unknown key 'train.nope'"),
    ("", ["task.name=nope"], "unknown task 'nope'"),
    ("", ["task.repeat=8"], "unknown key 'task.repeat'"),  # sine has no repeat
    ("", ["task.repeat=8"], "a key of task 'counting', not of 'sine'"),
    ('[task]\nname = "sine"\nperiod = 20.0\n', ["task.name=counting"],
     "unknown key 'task.period': a key of task 'sine', not of 'counting' (its keys: task.vocab, "
     "task.repeat"),
    ("", ["optim.learning_rate=0.1"], "did you mean 'optim.lr'?"),
    ("[optim]\nlr_schedule = \"cosine\"\n", [], "did you mean 'optim.schedule'?"),
    ("[model]\nhidden_size = 8\n", [], "did you mean 'model.hidden'?"),
    ("[train]\nepoch = 3\n", [], "did you mean 'train.epochs'?"),
    ("[train]\nbatch = 3\n", [], "did you mean 'train.batch_size'?"),
    ("[train]\nseq_len = 3\n", [], "did you mean 'train.bptt'?"),
    ("", ["train.truncation=3"], "did you mean 'train.bptt'?"),
    ("", ["train.lr=0.5"], "did you mean 'optim.lr'?"),   # the right name, in another section
    ('base = "sine.toml"\n[sweep]\nseeds = [0]\n', [], "a sweep file (it has a 'base' key), not a "
     "run config; run it with: train sweep"),
    ("[sweep]\nseeds = [0]\n", [], "it has a [sweep] table"),
]


@pytest.mark.parametrize("text,overrides,expected", BAD)
def test_bad_configs_give_one_line_naming_file_and_key(tmp_path, text, overrides, expected):
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load(p, overrides)
    message = str(err.value)
    assert expected in message
    assert message.startswith(str(p)) and "\n" not in message


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="is a directory"):
        load(tmp_path)


def test_changing_the_task_names_the_new_tasks_keys_not_a_lookalike(tmp_path):
    """Was: unknown key 'task.period' (did you mean 'task.repeat'?)."""
    p = write(tmp_path, '[task]\nname = "sine"\nperiod = 20.0\n')
    with pytest.raises(ConfigError) as err:
        load(p, ["task.name=counting"])
    message = str(err.value)
    assert "did you mean" not in message and message.endswith("drop it from the config")
    for key in ("vocab", "repeat", "length", "val_length"):
        assert f"task.{key}" in message
