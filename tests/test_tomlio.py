"""The one TOML reader and writer: written configs and sweeps load back equal; limits hold."""
import tomllib

import pytest

from trainer.config import tomlio
from trainer.config.load import ConfigError, from_dict
from trainer.sweeps import spec


def test_a_written_config_loads_back_equal_tiny_floats_included():
    cfg = from_dict({"task": {"name": "sine", "noise": 1e-300},
                     "optim": {"name": "adam", "lr": 3e-4, "eps": 1e-8, "min_lr": 1e-12},
                     "model": {"cell": "lstm"}})
    text = cfg.to_toml()
    again = from_dict(tomlio.loads(text))
    assert again == cfg
    assert again["optim"]["eps"] == 1e-8 and again["task"]["noise"] == 1e-300
    assert tomllib.loads(text) == cfg.to_dict()   # the standard library reads it the same


def test_a_written_sweep_loads_back_equal_with_dotted_keys_and_ranges(tmp_path):
    src = tmp_path / "s.toml"
    src.write_text('base = "' + str(tmp_path / "c.toml") + '"\n'
                   '[set]\n"optim.eps" = 1e-8\n'
                   '[sweep]\nmethod = "random"\nn = 3\nseed = 5\nseeds = [0, 1]\n'
                   '[sweep.params]\n"optim.lr" = { min = 1e-8, max = 0.01, log = true }\n'
                   '"model.cell" = ["rnn", "gru"]\n')
    (tmp_path / "c.toml").write_text('[task]\nname = "sine"\nlength = 400\n')
    loaded = spec.load(src)
    resolved = tmp_path / "resolved.toml"
    resolved.write_text(loaded.to_toml())
    data = tomllib.loads(resolved.read_text())
    assert data["sweep"]["params"]["optim.lr"] == {"min": 1e-8, "max": 0.01, "log": True}
    back = spec.load(resolved)
    assert (back.method, back.seeds, back.n, back.sample_seed, back.params) == \
           (loaded.method, loaded.seeds, loaded.n, loaded.sample_seed, loaded.params)
    assert back.base == loaded.base and back.base["optim"]["eps"] == 1e-8
    assert [(p.name, p.cfg.to_dict()) for p in back.points()] == \
           [(p.name, p.cfg.to_dict()) for p in loaded.points()]


@pytest.mark.parametrize("text", [
    "a = " + "[" * 33 + "]" * 33,                       # arrays
    "a = " + "{ b = " * 33 + "1" + " }" * 33,            # inline tables
    "[" + ".".join(["t"] * 40) + "]\nx = 1",             # tables by dotted keys
])
def test_nesting_beyond_the_limit_is_refused_in_one_line(text):
    with pytest.raises(ConfigError, match=f"nested deeper than {tomlio.MAX_DEPTH}"):
        tomlio.loads(text, "f.toml")


def test_brackets_inside_strings_and_comments_do_not_count_as_nesting():
    text = 'a = "' + "[" * 40 + '"\nb = \'' + "{" * 40 + "'\n# " + "[" * 40 + \
           '\nc = """\n' + "[" * 40 + '\n"""\nd = "\\"[["\n'
    data = tomlio.loads(text)
    assert data["a"] == "[" * 40 and data["d"] == '"[['
