"""Remake the README's figures of the default run: docs/sine_task_view.png and docs/sine_loss_curves.png.

    python scripts/readme_figures.py

Trains configs/sine.toml into a temporary runs directory with the `train`
command and copies its two plots into docs/.
"""
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main():
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-m", "trainer", "--config", str(ROOT / "configs/sine.toml"),
                              "--runs-dir", tmp, "--name", "sine-default", "--quiet"],
                             check=True, capture_output=True, text=True, cwd=ROOT).stdout
        run = Path(out.strip().splitlines()[-1])
        (ROOT / "docs").mkdir(exist_ok=True)
        for name in ("task_view.png", "loss_curves.png"):
            shutil.copy(run / name, ROOT / "docs" / f"sine_{name}")
            print(ROOT / "docs" / f"sine_{name}")


if __name__ == "__main__":
    main()
