"""Property-based: any config file or --set text either loads to a valid config or raises
ConfigError with one line; never another exception."""
import math
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnn_trainer_datasets import TASKS
from trainer.config.keys import SECTIONS, schema
from trainer.config.load import ConfigError, from_dict, load

KNOWN = [f"{s}.{k}" for s, keys in SECTIONS.items() for k in keys] + \
        [f"task.{k}" for m in TASKS.values() for k in m.KEYS]
scalars = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
                    st.booleans(), st.text(max_size=8), st.sampled_from(list(TASKS) + ["rnn", "adam"]))
values = st.one_of(scalars, st.lists(scalars, max_size=2), st.dictionaries(st.text(max_size=3), scalars,
                                                                            max_size=2))
keys = st.one_of(st.sampled_from(KNOWN), st.text(string.ascii_lowercase + "._", min_size=1, max_size=12))


def as_tables(pairs):
    data = {}
    for dotted, value in pairs:
        section, _, key = dotted.partition(".")
        table = data.setdefault(section, {})
        if isinstance(table, dict):
            table[key or "x"] = value
    return data


def assert_valid(cfg):
    """A loaded config has every key of its task's schema, each in range and of its type."""
    keys_ = schema(cfg["task"]["name"])
    assert set(cfg) == set(keys_)
    for section, specs in keys_.items():
        assert set(cfg[section]) == set(specs)
        for key, spec in specs.items():
            value = cfg[section][key]
            assert type(value) is type(spec.default)
            assert spec.check(value) is None
            if isinstance(value, float):
                assert math.isfinite(value)


def loads_or_one_line(call):
    try:
        cfg = call()
    except ConfigError as e:
        assert str(e) and "\n" not in str(e)
        return None
    assert_valid(cfg)
    return cfg


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(keys, values), max_size=6))
def test_any_mapping_loads_or_fails_in_one_line(pairs):
    loads_or_one_line(lambda: from_dict(as_tables(pairs), "c.toml"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(
    st.builds(lambda k, v: f"{k}={v}", keys, st.text(max_size=10)),
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(KNOWN),
              st.one_of(st.integers(-5, 10**5).map(str), st.floats().map(repr),
                        st.sampled_from(["true", "nan", "inf", "1e400", "0x10", "1_000", "", " 3 ",
                                         "'sine'", "counting", "adam", "float64"]))),
    st.text(max_size=15)), max_size=4))
def test_any_set_overrides_load_or_fail_in_one_line(tmp_path, overrides):
    p = tmp_path / "c.toml"
    p.write_text('[task]\nname = "sine"\n')
    loads_or_one_line(lambda: load(p, overrides))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=60),
                 st.text(alphabet="[]=\"'.#\n abcdeinprstu0123456789", max_size=60).map(str.encode)))
def test_any_file_content_loads_or_fails_in_one_line(tmp_path, content):
    p = tmp_path / "c.toml"
    p.write_bytes(content)
    loads_or_one_line(lambda: load(p))


@pytest.mark.parametrize("text", ["train.epochs=3", "optim.lr=1e-3", "task.name=counting"])
def test_valid_overrides_do_load(tmp_path, text):
    p = tmp_path / "c.toml"
    p.write_text("")
    assert load(p, [text]) is not None
