"""A small sweep made once per test session, shared by the report tests (tiny sine runs)."""
import pytest
from click.testing import CliRunner

from tiny_configs import TINY_SINE
from trainer.cli import main

SWEEP = """base = "base.toml"
[sweep]
seeds = [0, 1]
[sweep.params]
"train.bptt" = [5, 10]
"""


@pytest.fixture(scope="session")
def small_sweep(tmp_path_factory):
    """runs/s: 4 runs (bptt 5 and 10, seeds 0 and 1) and the report the sweep wrote itself."""
    root = tmp_path_factory.mktemp("report-sweep")
    (root / "base.toml").write_text(TINY_SINE.replace("epochs = 1", "epochs = 2"))
    (root / "sweep.toml").write_text(SWEEP)
    result = CliRunner().invoke(main, ["sweep", str(root / "sweep.toml"), "--workers", "2",
                                       "--runs-dir", str(root / "runs"), "--name", "s", "--run-figures"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return root / "runs" / "s"
