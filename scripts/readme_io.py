"""What the scripts that remake README figures share: run a sweep, summarise seeds, write a block.

A README block sits between `<!-- NAME: command -->` and `<!-- /NAME -->`; the
scripts replace what is between the two markers and leave the rest alone.
"""
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SEEDS = [0, 1, 2, 3, 4]


def blas_kernel():
    """The BLAS library, version and kernel numpy uses here, e.g. 'openblas 0.3.31 Haswell'."""
    import numpy  # noqa: F401  (loads the BLAS library threadpoolctl inspects)
    from threadpoolctl import threadpool_info
    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return ", ".join(f"{i['internal_api']} {i.get('version')} {i.get('architecture')}" for i in blas)


def run_sweep(base, name, runs_dir, seeds=SEEDS, overrides=None, workers=None):
    """`train sweep` of config `base` over `seeds` with fixed `overrides` into runs_dir/name (running
    again resumes); returns results.csv as a DataFrame."""
    lines = [f'base = "{Path(base).resolve()}"']
    if overrides:
        lines += ["[set]"] + [f'"{k}" = {v!r}' if not isinstance(v, str) else f'"{k}" = "{v}"'
                              for k, v in overrides.items()]
    lines += ["[sweep]", f"seeds = {list(seeds)}"]
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / f"{name}.toml"
        spec.write_text("\n".join(lines) + "\n")
        cmd = [sys.executable, "-m", "trainer", "sweep", str(spec), "--name", name,
               "--runs-dir", str(runs_dir), "--quiet"] + (["--workers", str(workers)] if workers else [])
        print("$", " ".join(cmd[2:]), file=sys.stderr)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return pd.read_csv(Path(runs_dir) / name / "results.csv")


def number(x):
    """Three significant figures; small magnitudes in e-notation (3.4e-05), so a column reads alike."""
    return f"{x:.1e}" if x and abs(x) < 1e-2 else f"{x:.3g}"


def mean_range(values, fmt=number):
    """'mean (min-max)' of a series, each formatted with fmt (a format string or a function)."""
    values = pd.Series(values).dropna()
    if not len(values):
        return "-"
    f = fmt.format if isinstance(fmt, str) else fmt
    lo, hi = f(values.min()), f(values.max())
    return f"{f(values.mean())} ({lo}{' - ' if 'e' in lo + hi else '-'}{hi})"


def block_page(name):
    """The page (README.md or a page under docs/) that holds block `name`."""
    begin = f"<!-- {name}:"
    for page in [README, *sorted((ROOT / "docs").rglob("*.md"))]:
        if begin in page.read_text():
            return page
    raise SystemExit(f"no page holds a block {begin} ... <!-- /{name} -->")


def write_block(name, text):
    """Replace block `name` with text in whichever page holds it (the markers stay)."""
    begin, end = f"<!-- {name}", f"<!-- /{name} -->"
    page = block_page(name)
    body = page.read_text()
    marker = body[body.index(begin):body.index("\n", body.index(begin))]
    pattern = re.compile(re.escape(begin) + r"[^\n]*\n.*?" + re.escape(end), re.S)
    page.write_text(pattern.sub(lambda m: f"{marker}\n{text}\n{end}", body))
