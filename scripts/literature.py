"""Remake the literature table: the classic results beside their papers' figures, over five seeds.

Runs every sweep of configs/literature/ with `train sweep` (running again resumes them), tables
each with `train table` (what a user gets), and writes, per row, the paper's figure and budget
with its source, how many of the five seeds met the paper's criterion within our budget, the
median training sequences they took, the final figure (mean, min-max; the runs stop at the
first epoch that meets the criterion, train.stop_at_target, as the papers stopped training),
our budget and the median wall time of a run on this machine.

    python scripts/literature.py                  # run the whole table and print it
    python scripts/literature.py --quick          # the short rows only (under 5 minutes)
    python scripts/literature.py --write          # the whole table, into README.md and
                                                  # docs/literature.md
"""
import argparse
import io
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from readme_io import ROOT, blas_kernel, number, write_block

SPECS = ROOT / "configs" / "literature"
HS97 = "Hochreiter & Schmidhuber 1997"
NPOW = "npow/schmidhuber-problems"


@dataclass(frozen=True)
class Row:
    sweep: str            # configs/literature/<sweep>.toml
    group: dict           # the swept values of the headline group
    setting: str          # task and setting, as the table says it
    paper: str            # the paper's figure
    budget: int | None    # the paper's training sequences (None: not a budget the paper states)
    source: str           # where the paper's figure is, and who quotes it
    criterion: str        # ours, in words
    goal: str             # the goal for the row
    differs: str          # how our run differs from the paper's, briefly (docs/literature.md: why)
    figure: str | None = None   # a further validation figure to table (train table --figure)
    quick: bool = False   # in the --quick subset


ADAM = "Adam (not SGD), forget gates, chrono biases"
ROWS = (
    Row("adding-100", {"model.init_gates": "chrono"}, "adding, T = 100",
        "solved after 74,000 sequences (mean of runs)", 74_000, f"{HS97}, exp. 4",
        "val MSE <= 0.0025", "3 of 5 within 74,000", ADAM + "; the sum of U[0, 1] values; an MSE criterion", quick=True),
    Row("adding-500", {"model.init_gates": "chrono"}, "adding, T = 500",
        "solved after 209,000 sequences", 209_000, f"{HS97}, exp. 4",
        "val MSE <= 0.0025", "3 of 5 within 209,000", ADAM + "; the sum of U[0, 1] values; an MSE criterion"),
    Row("adding-1000", {"model.init_gates": "chrono"}, "adding, T = 1000",
        "solved after 853,000 sequences", 853_000, f"{HS97}, exp. 4",
        "val MSE <= 0.0025", "(not a goal)", ADAM + "; the sum of U[0, 1] values; an MSE criterion"),
    Row("temporal-order", {"task.variant": "6a", "model.init_gates": "chrono"},
        "temporal order 6a (2 symbols, 100-110 steps)", "solved after 31,390 sequences", 31_390,
        f"{HS97}, exp. 6a; quoted in {NPOW}/temporal-order-3bit",
        "all 2,000 val sequences right", "3 of 5 within 31,390", ADAM + ", 16 cells", quick=True),
    Row("temporal-order", {"task.variant": "6b", "model.init_gates": "chrono"},
        "temporal order 6b (3 symbols, 100-110 steps)", "solved after 571,100 sequences", 571_100,
        f"{HS97}, exp. 6b", "all 2,000 val sequences right", "3 of 5 within 571,100", ADAM + ", 16 cells", quick=True),
    Row("temporal-order", {"task.variant": "6a", "model.init_gates": "constant"},
        "temporal order 6a, forget bias 1 instead of chrono", "solved after 31,390 sequences",
        31_390, f"{HS97}, exp. 6a", "all 2,000 val sequences right",
        "(a contrast: the same sweep's other group)", "the constant initialisation", quick=True),
    Row("reber", {"model.init_gates": "chrono"}, "embedded Reber grammar",
        "148 of 150 trials, mean 8,440 sequences (4 blocks of 1 cell)", 8_440,
        f"{HS97}, exp. 1; quoted in {NPOW}/embedded-reber",
        "all 256 val strings right", "3 of 5 within 8,440", ADAM + ", 32 cells, fresh strings every batch", quick=True),
    Row("multiplication-100", {"model.init_gates": "chrono"}, "multiplication, T = 100",
        "482,000 sequences", 482_000, f"{HS97}, exp. 5; quoted in {NPOW}/multiplication-problem",
        "val MSE <= 0.001", "3 of 5 within 482,000", ADAM + "; an MSE criterion", quick=True),
    Row("anbn", {"model.peepholes": True}, "aⁿbⁿ, trained on n <= 10, tested to n = 50",
        "peephole LSTM generalises far beyond n = 10; a public numpy reproduction: every seed "
        "to n >= 65, 3 of 5 to n = 100", None,
        f"Gers & Schmidhuber 2001; {NPOW}/anbn-anbncn", "every string n <= 50 right",
        "3 of 5 generalise to n >= 50", "Adam (not online SGD), 4 cells, tested to n = 50 only",
        figure="val_long_string_accuracy", quick=True),
    Row("anbn", {"model.peepholes": False}, "aⁿbⁿ as above, without peepholes",
        "(the paper's LSTM has peepholes)", None, "Gers & Schmidhuber 2001",
        "every string n <= 50 right", "(a contrast: the same sweep's other group)",
        "no peepholes", figure="val_long_string_accuracy", quick=True),
    Row("copy-100", {"model.init_gates": "chrono"}, "copy, delay 100 (10 symbols of 8)",
        "chrono gate biases \"greatly improve learning of long term dependencies\" (abstract); "
        "its copy runs use far longer delays", None,
        "Tallec & Ollivier 2018, sec. 5; task: Arjovsky, Shah & Bengio 2016",
        "val accuracy >= 0.99 on the replay", "3 of 5 solve it",
        "Adam, 128 cells, a shorter delay than the paper's"),
)


def train(*args, capture=True, echo=True):
    """`train ARGS...`'s output; when it fails, its own one-line reason and exit status end the
    script (no traceback of the subprocess)."""
    cmd = [sys.executable, "-m", "trainer", *map(str, args)]
    if echo:
        print("$ train", " ".join(map(str, args)), file=sys.stderr)
    done = subprocess.run(cmd, capture_output=capture, text=True)
    if done.returncode != 0:
        said = (done.stderr or "").strip().splitlines()
        reason = said[-1] if said else f"train exited with status {done.returncode}"
        print(reason if reason.startswith("error:") else f"error: {reason}", file=sys.stderr)
        raise SystemExit(done.returncode)
    return done.stdout


def check_arguments(name, runs_dir, workers):
    """--workers and --runs-dir as train itself judges them, before anything is trained or
    printed: a dry run of the first sweep (it writes nothing)."""
    train("sweep", SPECS / f"{name}.toml", "--name", f"lit-{name}", "--runs-dir", runs_dir,
          "--workers", workers, "--quiet", "--dry-run", echo=False)


def run_sweeps(names, runs_dir, workers, poll=2.0):
    """Run (or resume) the sweeps, `workers` runs at a time across all of them; returns the runs
    trained now and each sweep's directory.

    One sweep after another, each with every worker, left cores idle at the end of each sweep
    while its last runs finished: in the 35-minute table, the copy sweep's fifth run of 9
    minutes trained alone. Here the sweeps start longest first (by `train sweep --dry-run`'s
    estimate), and the next one starts, with the cores that are free, as soon as the running
    ones have fewer runs left than workers. Each is still one `train sweep` (its own results,
    resumable); only when each starts differs."""
    from trainer.sweeps import spec
    from trainer.sweeps.estimate import estimate
    todo = []
    for name in names:
        sweep = Path(runs_dir) / f"lit-{name}"
        points = spec.load(SPECS / f"{name}.toml").points()
        done = _finished(sweep)
        finished = set(read_results(sweep).loc[done, "run_dir"]) if done else set()
        left = [p for p in points if p.name not in finished]
        seconds = sum(estimate(left, runs_dir).seconds.values()) if left else 0.0
        todo.append((seconds, name, sweep, len(points), len(done)))
    todo.sort(key=lambda item: -item[0])
    running, trained, dirs = [], 0, {name: sweep for _, name, sweep, _, _ in todo}
    try:
        while todo or running:
            for job in [j for j in running if j.proc.poll() is not None]:
                running.remove(job)
                _check_exit(job.proc.returncode, job.log)
                trained += len(_finished(job.sweep)) - job.before
            # cores held: a sweep's workers, or fewer when fewer of its runs are left
            busy = sum(min(j.workers, j.total - len(_finished(j.sweep))) for j in running)
            while todo and busy < workers:
                _, name, sweep, total, before = todo.pop(0)
                w = max(1, min(workers - busy, total - before))
                args = ("sweep", SPECS / f"{name}.toml", "--name", f"lit-{name}", "--runs-dir",
                        runs_dir, "--workers", w, "--quiet")
                print("$ train", " ".join(map(str, args)), file=sys.stderr)
                log = tempfile.TemporaryFile("w+")
                proc = subprocess.Popen([sys.executable, "-m", "trainer", *map(str, args)],
                                        stdout=subprocess.DEVNULL, stderr=log, text=True)
                running.append(_Job(proc, w, sweep, total, before, log))
                busy += w
            if running:
                time.sleep(poll)
    finally:
        for job in running:   # an error or Ctrl-C: the others stop, resumable
            job.proc.terminate()
            job.proc.wait()
    return trained, dirs


@dataclass
class _Job:
    """One `train sweep` running: its process, workers, directory, runs, runs done at its start
    and its stderr."""
    proc: subprocess.Popen
    workers: int
    sweep: Path
    total: int
    before: int
    log: object


def _check_exit(returncode, log):
    """A sweep's exit: when it failed, its own one-line reason and exit status end the script."""
    log.seek(0)
    said = log.read().strip().splitlines()
    log.close()
    if returncode != 0:
        reason = said[-1] if said else f"train exited with status {returncode}"
        print(reason if reason.startswith("error:") else f"error: {reason}", file=sys.stderr)
        raise SystemExit(returncode)


def _finished(sweep):
    if not (sweep / "results.csv").exists():
        return []
    r = read_results(sweep)
    return list(r[r["status"].isin(["completed", "diverged"])].index)


def read_results(sweep):
    """The sweep's results.csv, read as untrusted: never through a symbolic link, and only the
    rows whose run_dir is a plain folder name inside the sweep (not "../elsewhere")."""
    from trainer.rundir.safe_io import read_nofollow
    path = sweep / "results.csv"
    try:
        frame = pd.read_csv(io.BytesIO(read_nofollow(path)), dtype={"run_dir": str})
    except (OSError, ValueError) as e:
        raise SystemExit(f"{path}: cannot be read ({e})")
    if "run_dir" not in frame.columns:
        raise SystemExit(f"{path}: has no run_dir column")
    plain = frame["run_dir"].map(lambda d: isinstance(d, str) and d not in (".", "..")
                                 and Path(d).name == d)
    return frame[plain]


def _timing(runs_dir, trained, minutes, workers):
    """The log of invocations that trained runs (runs_dir/timing.json), this one added when it
    trained any: what the table's wall time is summed from, across resumed invocations."""
    import json
    path = runs_dir / "timing.json"
    log = json.loads(path.read_text()) if path.exists() else []
    if trained:
        log.append({"trained": trained, "minutes": round(minutes, 2), "workers": workers})
        path.write_text(json.dumps(log, indent=1) + "\n")
    return log


def table_csv(sweep, figure=None):
    """`train table --csv` of a sweep (of `figure`), as a DataFrame."""
    args = ["table", sweep, "--csv"] + (["--figure", figure] if figure else [])
    return pd.read_csv(io.StringIO(train(*args)))


def pick(frame, group):
    """The rows of a table or results frame whose swept keys hold `group`'s values."""
    keep = pd.Series(True, index=frame.index)
    for key, value in group.items():
        col = key if key in frame.columns else key.split(".", 1)[1]
        keep &= frame[col].astype(str).str.lower() == str(value).lower()
    return frame[keep]


def summarise(row, sweep):
    """One line of the README's table for `row`, from the sweep's table and results."""
    results = pick(read_results(sweep), row.group)
    n = len(results)
    if row.figure:
        t = pick(table_csv(sweep, row.figure), row.group).iloc[0]
        k = _runs_meeting(sweep, results, (_monitor(sweep, results), row.figure))
        ours = f"{k} of {n}"
        final = f"{t['mean']:.3f} ({t['min']:.3f}-{t['max']:.3f}) of the strings n = 11..50 right"
        to_target = "-"
    else:
        t = pick(table_csv(sweep), row.group).iloc[0]
        reached = results["target_sequences"].dropna()
        within = reached[reached <= row.budget] if row.budget else reached
        k = len(within)
        ours = f"{k} of {n}"
        to_target = f"{int(reached.median()):,}" if len(reached) else "-"
        metric = [c for c in results.columns if c.startswith("val_") and c != "val_loss"][0]
        fmt = number if metric.endswith("_mse") else "{:.3f}".format
        final = (f"{metric.removeprefix('val_').replace('_', ' ')} {fmt(t['mean'])} "
                 f"({fmt(t['min'])}{' - ' if 'e' in fmt(t['min']) else '-'}{fmt(t['max'])})")
    epochs_seqs = _budget(sweep, results)
    wall = f"{results['wall_s'].median():.0f} s"
    met = "met" if k >= 3 else "missed"
    goal = row.goal if row.goal.startswith("(") else f"{row.goal}: **{met}**"
    return (f"| {row.setting} | {row.paper} ({row.source}) | {row.criterion}: {ours}"
            f"{'' if to_target == '-' else f', median {to_target} sequences to it'} | {final} | "
            f"{epochs_seqs:,} sequences, {wall} | {row.differs} | {goal} |"), k


def _runs_meeting(sweep, results, figures):
    """How many of the runs hold every one of `figures` at 1 in their summary's final (read as
    untrusted): aⁿbⁿ's "every string n <= 50 right" is both the training range's strings
    (val_string_accuracy) and the longer ones (val_long_string_accuracy)."""
    from trainer.rundir.layout import RunDir
    k = 0
    for run in results["run_dir"]:
        final = (RunDir(sweep / str(run)).read_summary() or {}).get("final") or {}
        k += all(isinstance(final.get(f), (int, float)) and final[f] >= 1.0 for f in figures)
    return k


def _config(sweep, results):
    """The flat config of the sweep's first run (read back as untrusted)."""
    from trainer.rundir.layout import RunDir
    flat, problem = RunDir(sweep / str(results["run_dir"].iloc[0])).read_flat_config()
    if problem:
        raise SystemExit(f"{sweep}: {problem}")
    return flat


def _monitor(sweep, results):
    """The figure the sweep's train.target is set on (its train.monitor)."""
    return _config(sweep, results)["train.monitor"]


def _budget(sweep, results):
    """Training sequences a run of the sweep sees: train.epochs x task.train_size."""
    flat = _config(sweep, results)
    return int(flat["train.epochs"]) * int(flat["task.train_size"])


HEADER = ("| task and setting | the paper (source) | ours: first met the criterion, of 5 seeds | "
          "ours: final figure, mean (min-max) | our budget, median wall time a run | we differ | "
          "goal |\n| --- | --- | --- | --- | --- | --- | --- |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs-dir", default=str(ROOT / "runs" / "literature"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="only the short rows")
    parser.add_argument("--write", action="store_true", help="write README.md and docs/literature.md")
    args = parser.parse_args()
    if args.quick and args.write:
        parser.error("--write needs the whole table (drop --quick)")
    rows = [r for r in ROWS if r.quick or not args.quick]
    check_arguments(rows[0].sweep, args.runs_dir, args.workers)
    start = time.monotonic()
    trained, sweeps = run_sweeps(list(dict.fromkeys(r.sweep for r in rows)), args.runs_dir,
                                 args.workers)
    minutes = (time.monotonic() - start) / 60
    log = _timing(Path(args.runs_dir), trained, minutes, args.workers)
    lines, details = [HEADER], []
    for row in rows:
        line, _ = summarise(row, sweeps[row.sweep])
        lines.append(line)
    for name, sweep in sweeps.items():
        details.append(f"`configs/literature/{name}.toml`:\n\n" + train("table", sweep, "--markdown").strip())
    total = sum(len(read_results(s)) for s in sweeps.values())
    spent = sum(e["minutes"] for e in log)
    timing = (f"The {total} runs of this table took {spent:.0f} minutes of wall time on this 2-core "
              f"machine, trained by {len(log)} invocation{'s' if len(log) != 1 else ''} of the "
              f"script with --workers {', '.join(sorted({str(e['workers']) for e in log}))} "
              f"(BLAS: {blas_kernel()}).")
    text = "\n".join(lines) + "\n\n" + timing
    print(text + "\n\n" + "\n\n".join(details))
    if args.write:
        write_block("literature-table", text)
        write_block("literature-sweeps", "\n\n".join(details))


if __name__ == "__main__":
    main()
