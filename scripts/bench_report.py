"""Report and listing speed on a 200-run sweep (issue #12's targets).

    python scripts/bench_report.py               # makes the sweep in a temporary folder
    python scripts/bench_report.py --keep runs   # ... or under runs/ (reused when it is there)

The sweep: tiny sine runs (2 epochs of a short stream), 5 hidden sizes x 10 learning rates
x 4 seeds = 200 runs, `--workers 2`. Then, each timed as a whole `train` process, median of
--repeat: `train report SWEEP --out DIR` (target at most 5 s), the size of that folder
(under 10 MB) and `train ls SWEEP` (under 1 s, every line within 80 columns).
Not a test: timings depend on the machine and its load.
"""
import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT_S, FOLDER_MB, LS_S, COLUMNS = 5.0, 10.0, 1.0, 80
SWEEP = f"""base = "{ROOT / 'configs' / 'sine.toml'}"
[set]
"task.length" = 2000
"task.val_length" = 100
"train.epochs" = 2
[sweep]
seeds = [0, 1, 2, 3]
[sweep.params]
"model.hidden" = [8, 16, 24, 32, 48]
"optim.lr" = {{ min = 0.0001, max = 0.1, num = 10, log = true }}
"""


def train_exe():
    exe = Path(sys.executable).with_name("train")
    return str(exe) if exe.exists() else "train"


def timed(cmd):
    start = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - start, out


def folder_mb(path):
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) / 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", metavar="RUNS_DIR", help="make (or reuse) the sweep here, not in a temporary folder")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    train = train_exe()
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        runs = Path(args.keep or tmp)
        spec = Path(tmp) / "s200.toml"
        spec.write_text(SWEEP)
        wall, _ = timed([train, "sweep", str(spec), "--workers", "2", "--runs-dir", str(runs),
                         "--name", "s200", "--quiet"])
        sweep = runs / "s200"
        print(f"sweep {sweep}: 200 runs, {wall:.1f} s (resumed when it was there)")
        report_s, ls_s = [], []
        for i in range(args.repeat):
            out = Path(tmp) / f"report-{i}"
            report_s.append(timed([train, "report", str(sweep), "--out", str(out)])[0])
            t, listing = timed([train, "ls", str(sweep)])
            ls_s.append(t)
        lines = listing.splitlines()
        size = folder_mb(Path(tmp) / "report-0")
        widest = max(len(line) for line in lines)
        print(f"train report: {statistics.median(report_s):.2f} s (median of {args.repeat}); "
              f"folder {size:.1f} MB")
        print(f"train ls: {statistics.median(ls_s):.2f} s, {len(lines)} lines, widest {widest} columns")
    print("\ntargets:")
    for what, value, ok in [
            ("train report of 200 runs, s (at most 5)", statistics.median(report_s), statistics.median(report_s) <= REPORT_S),
            ("the report folder, MB (under 10)", size, size < FOLDER_MB),
            ("train ls of 200 runs, s (under 1)", statistics.median(ls_s), statistics.median(ls_s) < LS_S),
            ("train ls widest line, columns (at most 80)", widest, widest <= COLUMNS)]:
        print(f"  {'met ' if ok else 'MISS'}  {what}: {value:.2f}")


if __name__ == "__main__":
    main()
