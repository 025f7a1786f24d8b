"""Tampered checkpoints and changed configs: exit 2, one line naming the field, nothing changed.

Each case loads a tiny run's checkpoint with np.load, changes one field and saves it with
np.savez (or edits config.toml), then resumes, evaluates, plots or generates from it.
"""
import io
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import trainer
from trainer.cli import main
from trainer.errors import CheckpointError

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--config", str(ROOT / "configs/sine.toml"), "--quiet", "--set", "task.length=200",
        "--set", "task.val_length=50", "--set", "train.epochs=1", "--set", "train.batch_size=4",
        "--set", "train.bptt=10", "--set", "model.hidden=4",
        "--set", "optim.name=adam", "--set", "optim.schedule=constant"]   # Adam: m, v and t to check


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    runs = tmp_path_factory.mktemp("ckpt")
    assert cli(*TINY, "--runs-dir", runs, "--name", "good").exit_code == 0
    return runs / "good"


def files(run):
    """Every file of the run directory, byte for byte (not the .lock: a refused resume takes it)."""
    return {p.name: p.read_bytes() for p in sorted(run.iterdir()) if p.name != ".lock"}


def edit(name="checkpoint.npz", **changes):
    """A change to one checkpoint: {array name: new value, or None to drop it}."""
    def change(run):
        with np.load(run / name, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        for key, value in changes.items():
            if value is None:
                arrays.pop(key)
            else:
                arrays[key] = value(arrays[key]) if callable(value) else value
        np.savez(run / name, **arrays)
    return change


def state(change):
    """A change to the JSON state: change(state dict) edits it in place."""
    def new(old):
        s = json.loads(str(old))
        change(s)
        return np.array(json.dumps(s))
    return new


def position(**fields):
    return state(lambda s: s["position"].update(fields))


def header_bomb(name="checkpoint.npz", member="rnn.Wx"):
    """Replace one member by a .npy whose header declares 4e9 float32s over 8 bytes of data."""
    def change(run):
        path = run / name
        with zipfile.ZipFile(path) as z:
            members = {i.filename: z.read(i) for i in z.infolist()}
        head = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            head, {"descr": "<f4", "fortran_order": False, "shape": (4_000_000_000,)})
        members[member + ".npy"] = head.getvalue() + bytes(8)
        with zipfile.ZipFile(path, "w") as z:
            for k, v in members.items():
                z.writestr(k, v)
    return change


def config_edit(old, new):
    def change(run):
        p = run / "config.toml"
        text = p.read_text()
        assert old in text
        p.write_text(text.replace(old, new))
    return change


def object_array(run):
    with np.load(run / "checkpoint.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["rnn.b"] = np.array([{"x": 1}, None, 3, 4], dtype=object)
    np.savez(run / "checkpoint.npz", **arrays)


F32 = np.float32
RESUME = {
    # names
    "unknown param_x": (edit(param_x=np.zeros(3, F32)), "param_x: unknown array"),
    "extra optim.m9": (edit(**{"optim.m9": np.zeros(3, F32)}), "optim.m9: unknown array"),
    "extra optim_m9": (edit(optim_m9=np.zeros(3, F32)), "optim_m9: unknown array"),
    "missing head.b": (edit(**{"head.b": None}), "head.b: missing"),
    "missing optimizer moment": (edit(**{"optim.v.rnn.Wh": None}), "optim.v.rnn.Wh: missing"),
    "no state": (edit(state=None), "not a checkpoint of this trainer"),
    # dtypes and shapes
    "string parameters": (edit(**{"rnn.Wx": np.array([["a", "b", "c", "d"]])}),
                          "rnn.Wx: expected shape (1, 4) of float32 as the config gives, got"),
    "complex parameters": (edit(**{"rnn.Wh": lambda a: a.astype(np.complex64)}), "rnn.Wh: expected"),
    "int64 parameters": (edit(**{"head.W": lambda a: a.astype(np.int64)}), "head.W: expected"),
    "float64 parameters": (edit(**{"rnn.b": lambda a: a.astype(np.float64)}), "rnn.b: expected"),
    "float16 optimizer state": (edit(**{"optim.m.rnn.Wx": lambda a: a.astype(np.float16)}),
                                "optim.m.rnn.Wx: expected shape (1, 4) of float32"),
    "optimizer moment of the wrong shape": (edit(**{"optim.v.head.W": np.zeros((4, 2), F32)}),
                                            "optim.v.head.W: expected shape (4, 1)"),
    "optimizer step count negative": (edit(**{"optim.t": np.array(-4)}), "optim.t: expected a count"),
    "object array": (object_array, "rnn.b: holds Python objects"),
    "non-finite parameter": (edit(**{"rnn.Wh": lambda a: a * np.inf}), "rnn.Wh: holds non-finite"),
    "header declares 4e9 floats": (header_bomb(), "rnn.Wx: its header declares (4000000000,)"),
    "carried state of strings": (edit(**{"carried.h": np.array([["x"] * 4] * 4)}), "carried.h: expected"),
    "carried state of the wrong shape": (edit(**{"carried.h": np.zeros((4, 5), F32)}),
                                         "carried.h: expected (4, 4) of float32"),
    "stream not JSON": (edit(**{"stream.batches": np.array("{nope")}), "stream.batches: not JSON"),
    "stream not a generator state": (edit(**{"stream.data": np.array('{"a": 1}')}),
                                     "stream.data: not a state of the run's PCG64"),
    # the state's scalar fields
    "format 99": (edit(state=state(lambda s: s.update(format=99))), "state.format: expected 1 or 2"),
    "metrics_rows a string": (edit(state=state(lambda s: s.update(metrics_rows="x"))), "metrics_rows"),
    "metrics_rows null": (edit(state=state(lambda s: s.update(metrics_rows=None))), "metrics_rows"),
    "metrics_rows negative": (edit(state=state(lambda s: s.update(metrics_rows=-1))),
                              "metrics_rows: expected an integer >= 0, got -1"),
    "metrics_rows beyond metrics.csv": (edit(state=state(lambda s: s.update(metrics_rows=99))),
                                        "the checkpoint counted 99"),
    "step a string": (edit(state=position(step="5")), "position.step: expected an integer >= 0"),
    "step inconsistent": (edit(state=position(step=7)), "position.step: expected epoch * 5 + window"),
    "epoch negative": (edit(state=position(epoch=-5)), "position.epoch"),
    "window negative": (edit(state=position(window=-3)), "position.window"),
    "window beyond the epoch": (edit(state=position(window=6, step=11)), "position.window"),
    "sums strings": (edit(state=position(sums=["a", "b", "c"])), "position.sums: expected 3 finite"),
    "elapsed negative": (edit(state=position(elapsed_s=-1.0)), "position.elapsed_s"),
    "stopped_early a number": (edit(state=position(stopped_early=2)), "position.stopped_early"),
    "unknown position field": (edit(state=position(extra=1)), "position.extra: unknown field"),
    "digest of another config": (edit(state=state(lambda s: s["config"]["train"].update(seed=3))),
                                 "state.config_digest: does not match"),
    # config.toml edited after the run
    "seed changed": (config_edit("seed = 0", "seed = 1"), "changed since the checkpoint was "
                     "written: train.seed (0 -> 1)"),
    "optimizer changed": (config_edit('name = "adam"', 'name = "sgd"'), "optim.name ('adam' -> 'sgd')"),
    "dtype changed": (config_edit('dtype = "float32"', 'dtype = "float64"'), "model.dtype"),
    "batch size changed": (config_edit("batch_size = 4", "batch_size = 5"), "train.batch_size (4 -> 5)"),
    "log_every changed": (config_edit("log_every = 10", "log_every = 3"), "train.log_every (10 -> 3)"),
    "hidden changed": (config_edit("hidden = 4", "hidden = 5"), "model.hidden (4 -> 5)"),
}


def refused(tmp_path, good, change, args, expected):
    run = tmp_path / "run"
    shutil.copytree(good, run)
    change(run)
    before = files(run)
    result = cli(*[run if a == "RUN" else a for a in args])
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert "Traceback" not in result.output and result.stdout == ""
    assert files(run) == before  # metrics.csv, config.toml, summary.json, ...: byte-identical


@pytest.mark.parametrize("case", list(RESUME))
def test_resume_refuses_a_bad_checkpoint_and_changes_nothing(tmp_path, good, case):
    change, expected = RESUME[case]
    refused(tmp_path, good, change, ["resume", "RUN", "--epochs", "3"], expected)


OTHERS = {
    "eval best.npz of float16": (["eval", "RUN"], edit("best.npz", **{"rnn.Wx": lambda a: a.astype(np.float16)}),
                                 "best.npz: rnn.Wx: expected shape (1, 4) of float32"),
    "eval header bomb": (["eval", "RUN", "--checkpoint", "last"], header_bomb(), "rnn.Wx: its header declares"),
    "eval config changed shapes": (["eval", "RUN"], config_edit("hidden = 4", "hidden = 5"),
                                   "rnn.Wx: expected shape (1, 5) of float32"),
    "plot best.npz with param_x": (["plot", "RUN"], edit("best.npz", param_x=np.zeros(2, F32)),
                                   "param_x: unknown array"),
    "plot header bomb in best.npz": (["plot", "RUN"], header_bomb("best.npz", "head.W"),
                                     "best.npz: head.W: its header declares"),
    "generate metrics_rows a string": (["generate", "RUN"],
                                       edit("best.npz", state=state(lambda s: s.update(metrics_rows="x"))),
                                       "metrics_rows"),
    "generate stream tampered": (["generate", "RUN", "--checkpoint", "last"],
                                 edit(**{"stream.sample": np.array("[1, 2]")}), "stream.sample"),
}


@pytest.mark.parametrize("case", list(OTHERS))
def test_eval_plot_generate_refuse_a_bad_checkpoint(tmp_path, good, case):
    args, change, expected = OTHERS[case]
    refused(tmp_path, good, change, args, expected)


def test_the_api_refuses_a_bad_checkpoint_in_one_line(tmp_path, good):
    run = tmp_path / "run"
    shutil.copytree(good, run)
    header_bomb("best.npz")(run)
    with pytest.raises(CheckpointError, match=r"best.npz: rnn.Wx: its header declares") as e:
        trainer.load_run(run).model
    assert "\n" not in str(e.value)


def test_an_old_checkpoint_without_a_digest_resumes_and_a_good_one_extends(tmp_path, good):
    run = tmp_path / "run"
    shutil.copytree(good, run)
    edit(state=state(lambda s: [s.pop("config"), s.pop("config_digest")]))(run)
    result = cli("resume", run, "--epochs", 2, "--quiet")
    assert result.exit_code == 0, result.output
    assert json.loads((run / "summary.json").read_text())["epochs_done"] == 2
    with np.load(run / "checkpoint.npz") as z:   # the resumed run records its digest again
        assert "config_digest" in json.loads(str(z["state"]))
    ok = tmp_path / "ok"
    shutil.copytree(good, ok)
    assert cli("resume", ok, "--epochs", 2, "--quiet").exit_code == 0


def test_a_first_format_checkpoint_without_state_still_loads_for_eval(tmp_path, good):
    """The first checkpoints (param_0..., rng_state, rnn_h, an int64 position, no state): their
    parameters are read for eval; resuming them is refused as before; a string param_0 is not."""
    run = tmp_path / "run"
    shutil.copytree(good, run)
    with np.load(run / "checkpoint.npz") as z:
        new = {k: z[k] for k in z.files}
    order = ["rnn.Wx", "rnn.Wh", "rnn.b", "head.W", "head.b"]
    old = {f"param_{i}": new[k] for i, k in enumerate(order)}
    old.update(rng_state=new["stream.batches"], rnn_h=new["carried.h"],
               position=np.array([1, 5, 1, 0, 1]), epoch_losses=np.zeros(5))
    (run / "best.npz").unlink()
    np.savez(run / "checkpoint.npz", **old)
    assert cli("eval", run).exit_code == 0
    out = cli("resume", run, "--epochs", 3)
    assert out.exit_code == 2 and "checkpoint format 1" in out.stderr
    old["param_0"] = np.array([["a", "b", "c", "d"]])
    np.savez(run / "checkpoint.npz", **old)
    out = cli("eval", run)
    assert out.exit_code == 2 and "param_0: expected shape (1, 4) of float32" in out.stderr


def test_a_key_the_trainer_gained_after_the_checkpoint_is_not_a_change(tmp_path, good):
    """A checkpoint whose recorded config predates a key (here train.early_stop, at its default
    in config.toml) resumes; the same key changed from what it records is refused."""
    import hashlib

    def drop_key(s):
        del s["config"]["train"]["early_stop"]
        text = json.dumps(s["config"], sort_keys=True, separators=(",", ":"))
        s["config_digest"] = hashlib.sha256(text.encode()).hexdigest()
    run = tmp_path / "run"
    shutil.copytree(good, run)
    edit(state=state(drop_key))(run)
    assert cli("resume", run, "--epochs", 2, "--quiet").exit_code == 0
    changed = tmp_path / "changed"
    shutil.copytree(good, changed)
    config_edit("early_stop = 0", "early_stop = 3")(changed)
    out = cli("resume", changed, "--epochs", 2)
    assert out.exit_code == 2 and "train.early_stop (0 -> 3)" in out.stderr
