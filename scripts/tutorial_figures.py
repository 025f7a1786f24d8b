"""Remake the tutorials' figures: docs/tutorial-gradient-reach.png, the gradient reach of the
learning-BPTT tutorial's run (configs/sine.toml with the book-style cell examples/my_rnn.py).

    python scripts/tutorial_figures.py
"""
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main():
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "trainer", "--config", str(ROOT / "configs" / "sine.toml"),
               "--set", f"model.cell={ROOT / 'examples' / 'my_rnn.py'}:MyRNN",
               "--name", "my-rnn", "--runs-dir", tmp, "--quiet"]
        print("$", " ".join(cmd[1:]), file=sys.stderr)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        shutil.copyfile(Path(tmp) / "my-rnn" / "gradient_reach.png", ROOT / "docs" / "tutorial-gradient-reach.png")
    print("docs/tutorial-gradient-reach.png")


if __name__ == "__main__":
    main()
