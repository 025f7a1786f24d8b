"""The run directory's rules that train and resume share, each written once: no link where
plugins/ or metrics.csv belongs (one message for a link, whichever writer meets it), metrics.csv
holds the rows a checkpoint counted and is cut back to them, killed writes' temporaries go."""
import pytest

from trainer.errors import RunDirError
from trainer.rundir.layout import RunDir
from trainer.rundir.writers import MetricsWriter, check_metrics_rows, keep_metrics_rows

LINK = "is a symbolic link; the tool does not write through links"


def test_plugins_folder_is_a_real_folder_or_nothing(tmp_path):
    run = RunDir(tmp_path)
    run.check_plugins_folder()                       # nothing there yet
    (tmp_path / "plugins").mkdir()
    run.check_plugins_folder()
    (tmp_path / "plugins").rmdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "plugins").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(RunDirError, match="plugins: not a folder"):
        run.check_plugins_folder()
    (tmp_path / "plugins").unlink()
    (tmp_path / "plugins").write_text("a file")
    with pytest.raises(RunDirError, match="plugins: not a folder"):
        run.check_plugins_folder()


def test_a_linked_metrics_file_is_refused_with_one_message_by_the_writer_and_the_check(tmp_path):
    (tmp_path / "outside.csv").write_text("a\n")
    (tmp_path / "metrics.csv").symlink_to(tmp_path / "outside.csv")
    for refuse in (lambda: MetricsWriter(tmp_path / "metrics.csv", ["a"]),
                   lambda: check_metrics_rows(tmp_path / "metrics.csv", 0)):
        with pytest.raises(RunDirError) as e:
            refuse()
        assert str(e.value) == f"{tmp_path / 'metrics.csv'}: {LINK}"
    assert (tmp_path / "outside.csv").read_text() == "a\n"


def test_metrics_rows_are_checked_against_the_count_and_cut_back_to_it(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("step,loss\n1,0.5\n2,0.4\n3,0.3\n4,0.")   # a torn last row
    check_metrics_rows(path, 3)
    with pytest.raises(RunDirError, match="holds 3 complete rows, the checkpoint counted 4"):
        check_metrics_rows(path, 4)
    keep_metrics_rows(path, 2)
    assert path.read_text() == "step,loss\n1,0.5\n2,0.4\n"
    keep_metrics_rows(path, 0)
    assert not path.exists()
    check_metrics_rows(path, 0)   # no rows counted: nothing needs to be there


def test_the_temporaries_of_killed_writes_are_removed_and_nothing_else(tmp_path):
    names = [".checkpoint.npz-k2j3", ".best.npz-x", ".summary.json-1", ".config.toml-2",
             ".gradient_reach.csv-3"]
    kept = [".lock", ".notes-1", "checkpoint.npz", "my-file.txt"]
    for name in names + kept:
        (tmp_path / name).write_text("x")
    RunDir(tmp_path).remove_temporaries()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)
