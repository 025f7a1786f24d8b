"""Benchmark of issue #5: TimeRNN against the textbook layer and torch, the loop's overhead, start-up.

    python scripts/bench.py                 # everything, BLAS on 1 thread
    python scripts/bench.py --threads 2     # the RNN table with 2 BLAS (and torch) threads
    python scripts/bench.py --quick         # fewer repeats

Every figure is a median over repeats; ours, the textbook reference
(trainer/layers/textbook.py) and torch.nn.RNN are timed in one process,
interleaved in a shuffled order, so the machine's noise hits all of them alike.
The thread count is set inside this process with threadpoolctl when it is
installed; otherwise the script re-runs itself with OPENBLAS_NUM_THREADS (and
OMP/MKL) set in the child's environment only. torch is optional: install a
CPU build into the benchmark's environment to compare (see the README).
"""
import argparse
import json
import os
import pty
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from trainer.rundir.layout import SUMMARY

ROOT = Path(__file__).resolve().parent.parent
SINE = ROOT / "configs" / "sine.toml"
SIZES = [(8, 20, 1, 16), (16, 50, 1, 32), (32, 35, 100, 100), (64, 100, 1, 128), (128, 64, 10, 256)]
# (N, T, D, H): minimum speed-up over the textbook layer, and over torch.nn.RNN
TARGETS = {(16, 50, 1, 32): (3.5, 4.0), (32, 35, 100, 100): (1.8, 2.0)}
MATMUL_TARGET_SIZE, MATMUL_TARGET = (32, 35, 100, 100), 0.60
LOOP_TARGET, STARTUP_TARGET, MEMORY_TARGET_MB, WALL_TARGET = 0.8, 1.3, 100, 2.7
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def load_textbook():
    from trainer.layers import textbook
    return textbook


def flops(N, T, D, H):
    """Multiply-adds x2 of a forward+backward: input and recurrent products, their two gradients each."""
    return 6 * N * T * H * (D + H)


def median_ms(samples):
    return float(np.median(samples)) * 1e3


# ---------------------------------------------------------------- threads

def limit_threads(n):
    """Limit BLAS/OpenMP threads of this process to n; None when threadpoolctl is missing."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=n)


def blas_info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return f"OpenBLAS core type from the environment: {os.environ.get('OPENBLAS_CORETYPE', 'auto')}"
    libs = [f"{i.get('internal_api')} {i.get('version') or ''} kernel={i.get('architecture', '-')} "
            f"threads={i.get('num_threads')}" for i in threadpool_info()]
    return "; ".join(libs)


# ---------------------------------------------------------------- the RNN table

class Ours:
    name = "ours"

    def __init__(self, Wx, Wh, b):
        from trainer.layers import TimeRNN
        self.layer = TimeRNN(Wx, Wh, b, stateful=True)

    def __call__(self, xs, dhs):
        self.layer.forward(xs)
        self.layer.backward(dhs)


class Textbook(Ours):
    name = "textbook"

    def __init__(self, Wx, Wh, b, module):
        self.layer = module.TimeRNN(Wx, Wh, b, stateful=True)


class Torch:
    """torch.nn.RNN (tanh, eager, CPU) with the same weights, its state carried between calls."""
    name = "torch"

    def __init__(self, Wx, Wh, b, torch):
        D, H = Wx.shape
        self.torch = torch
        self.rnn = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True)
        with torch.no_grad():
            self.rnn.weight_ih_l0.copy_(torch.from_numpy(Wx.T.copy()))
            self.rnn.weight_hh_l0.copy_(torch.from_numpy(Wh.T.copy()))
            self.rnn.bias_ih_l0.copy_(torch.from_numpy(b))
            self.rnn.bias_hh_l0.zero_()
        self.h = None

    def __call__(self, xs, dhs):
        x = self.torch.from_numpy(xs).requires_grad_()
        ys, h = self.rnn(x, self.h)
        ys.backward(self.torch.from_numpy(dhs))
        self.h = h.detach()


def time_sizes(sizes, repeats, seconds, torch, textbook):
    """{size: {name: median ms}} over interleaved, shuffled repeats."""
    rng = np.random.default_rng(0)
    order = random.Random(0)
    out = {}
    for N, T, D, H in sizes:
        Wx = (rng.standard_normal((D, H)) / np.sqrt(D)).astype(np.float32)
        Wh = (rng.standard_normal((H, H)) / np.sqrt(H)).astype(np.float32)
        b = np.zeros(H, np.float32)
        xs = rng.standard_normal((N, T, D)).astype(np.float32)
        dhs = rng.standard_normal((N, T, H)).astype(np.float32)
        runners = [Ours(Wx, Wh, b), Textbook(Wx, Wh, b, textbook)]
        if torch is not None:
            runners.append(Torch(Wx, Wh, b, torch))
        samples = {r.name: [] for r in runners}
        t0 = time.perf_counter()
        for r in runners:  # warm-up: buffers, caches, first-call costs
            for _ in range(3):
                r(xs, dhs)
        per_round = (time.perf_counter() - t0) / 3
        reps = int(min(max(9, seconds / per_round), 50 * repeats))  # about `seconds` per size
        for _ in range(reps):
            order.shuffle(runners)
            for r in runners:
                t0 = time.perf_counter()
                r(xs, dhs)
                samples[r.name].append(time.perf_counter() - t0)
        out[(N, T, D, H)] = {name: median_ms(s) for name, s in samples.items()}
    return out


def time_alone(size, seconds):
    """Median ms of ours alone, call after call: the caches warm, as between a training step's
    layers (whose other working sets are small); the interleaved table is colder."""
    N, T, D, H = size
    rng = np.random.default_rng(0)
    Wx = (rng.standard_normal((D, H)) / np.sqrt(D)).astype(np.float32)
    Wh = (rng.standard_normal((H, H)) / np.sqrt(H)).astype(np.float32)
    ours = Ours(Wx, Wh, np.zeros(H, np.float32))
    xs = rng.standard_normal((N, T, D)).astype(np.float32)
    dhs = rng.standard_normal((N, T, H)).astype(np.float32)
    samples, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end or len(samples) < 9:
        t0 = time.perf_counter()
        ours(xs, dhs)
        samples.append(time.perf_counter() - t0)
    return median_ms(samples)


def matmul_rate(repeats=9, n=1536):
    """GFLOP/s of a large float32 matrix product, median over repeats."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    c = np.empty((n, n), np.float32)
    np.dot(a, b, c)
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.dot(a, b, c)
        samples.append(time.perf_counter() - t0)
    return 2 * n ** 3 / float(np.median(samples)) / 1e9


def rnn_table(args, threads):
    try:
        import torch
        torch.set_num_threads(threads)
        torch_note = f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
    except ImportError:
        torch = None
        torch_note = ("torch not installed: skipped (install a CPU build into the benchmark's "
                      "environment to compare, see the README)")
    textbook = load_textbook()
    rate = matmul_rate()
    times = time_sizes(SIZES, args.repeats, args.seconds, torch, textbook)
    rate = (rate + matmul_rate()) / 2  # before and after the table, against drift
    print(torch_note)
    print(f"float32 matmul rate (1536^3, {threads} thread{'s' * (threads > 1)}): {rate:.1f} GFLOP/s\n")
    head = (f"{'N':>4} {'T':>4} {'D':>4} {'H':>4} | {'ours ms':>8} {'textbook':>9} {'torch':>8} | "
            f"{'x textbook':>10} {'x torch':>8} | {'GFLOP/s':>7} {'of matmul':>9}")
    print(head)
    print("-" * len(head))
    checks = []
    for size, t in times.items():
        ours, ref, tor = t["ours"], t["textbook"], t.get("torch")
        gflops = flops(*size) / (ours / 1e3) / 1e9
        tor_ms, vs_torch = (f"{tor:8.3f}", f"{tor / ours:8.2f}") if tor else ("       -",) * 2
        print(f"{size[0]:>4} {size[1]:>4} {size[2]:>4} {size[3]:>4} | {ours:8.3f} {ref:9.3f} "
              f"{tor_ms} | {ref / ours:10.2f} {vs_torch} | {gflops:7.1f} {gflops / rate:9.0%}")
        name = "N={} T={} D={} H={}".format(*size)
        checks.append((f"1. never slower than textbook at {name}", ref / ours, 1.0))
        if size in TARGETS:
            want_tb, want_torch = TARGETS[size]
            checks.append((f"1. x textbook at {name}", ref / ours, want_tb))
            if tor:
                checks.append((f"2. x torch at {name}", tor / ours, want_torch))
    if threads == 1:
        alone = time_alone(MATMUL_TARGET_SIZE, args.seconds)
        gflops = flops(*MATMUL_TARGET_SIZE) / (alone / 1e3) / 1e9
        name = "N={} T={} D={} H={}".format(*MATMUL_TARGET_SIZE)
        print(f"\nours alone at {name} (call after call, warm caches as in training): "
              f"{alone:.3f} ms, {gflops:.1f} GFLOP/s, {gflops / rate:.0%} of the matmul rate")
        checks.append((f"3. fraction of 1-thread matmul rate at {name}, ours alone", gflops / rate,
                       MATMUL_TARGET))
    return checks


# ---------------------------------------------------------------- the loop's overhead

def bare_loop():
    """Steps/s of the sine config's math alone: forward, backward, clip, update; nothing else."""
    from trainer.config import load as config
    from rnn_trainer_datasets.base import steps_per_epoch
    from trainer.training.batching import stream_rows, window
    from trainer.optim.optimizers import clip_grads
    from trainer.training.run import RunParts
    cfg = config.load(SINE)
    tr = cfg["train"]
    setup = RunParts(cfg)  # the task, model and optimizer a run builds, from the same streams
    task, model, optimizer = setup.task, setup.model, setup.optimizer
    rows_x, rows_y = stream_rows(task.train_x, tr["batch_size"]), stream_rows(task.train_y, tr["batch_size"])
    k = steps_per_epoch(tr["batch_size"], tr["bptt"], length=len(task.train_x))
    clip = cfg["optim"]["clip"]
    t0 = time.perf_counter()
    for _ in range(tr["epochs"]):
        model.rnn.reset_state()
        for w in range(k):
            model.forward(window(rows_x, w, tr["bptt"]), window(rows_y, w, tr["bptt"]))
            model.backward()
            clip_grads(model.grads, clip)
            optimizer.update(model.params, model.grads)
    wall = time.perf_counter() - t0
    return tr["epochs"] * k / wall


def child_env(threads):
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = str(threads)
    return env


def train_bin():
    exe = Path(sys.executable).with_name("train")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "trainer"]


# a small parent for the measured command: a child forked from this (big) process would count
# this process's pages in its peak RSS, so a fresh, small interpreter runs it and writes the peak
PEAK = ("import pathlib, resource, subprocess, sys; code = subprocess.call(sys.argv[2:]); "
        "pathlib.Path(sys.argv[1]).write_text(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
        "sys.exit(code)")


def run_on_terminal(cmd, env, cwd, peak_file):
    """Run cmd with stderr on a pseudo-terminal (so the progress bar is drawn, as for a user);
    returns (exit status, peak RSS in MB of its largest process, wall seconds)."""
    master, slave = pty.openpty()
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", PEAK, str(peak_file), *cmd], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=slave, env=env, cwd=cwd)
    os.close(slave)

    def drain():
        try:
            while os.read(master, 65536):
                pass
        except OSError:
            pass
    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    proc.wait()
    wall = time.perf_counter() - start
    reader.join(timeout=2)
    os.close(master)
    return proc.returncode, float(Path(peak_file).read_text()) / 1024, wall


def loop_overhead(args, threads):
    """Target 4 (steps/s of `train` vs the bare loop), the peak memory of target 5, and the
    whole process's wall time over the training's own (summary wall_s), plots included."""
    env = child_env(threads)
    real, bare, peak, ratio, walls, trains, reference = [], [], [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.loop_repeats):
            out = subprocess.run([sys.executable, __file__, "--bare-loop"], env=env, cwd=ROOT,
                                 capture_output=True, text=True, check=True)
            bare.append(float(out.stdout.split()[-1]))
            code, rss, wall = run_on_terminal(train_bin() + ["--config", str(SINE), "--runs-dir", tmp,
                                                       "--name", f"bench{i}"], env, ROOT,
                                         Path(tmp) / "peak")
            if code != 0:
                raise SystemExit(f"train exited with {code}")
            summary = json.loads((Path(tmp) / f"bench{i}" / SUMMARY).read_text())
            real.append(summary["steps"] / summary["wall_s"])
            peak.append(rss)
            walls.append(wall)
            trains.append(summary["wall_s"])
            ratio.append(wall / summary["wall_s"])
            if args.reference:  # the same run by another `train`, right after: the same load
                code, rss_ref, wall_ref = run_on_terminal(
                    [args.reference, "--config", str(SINE), "--runs-dir", tmp, "--name", f"ref{i}"],
                    env, ROOT, Path(tmp) / "peak")
                ref = json.loads((Path(tmp) / f"ref{i}" / SUMMARY).read_text())
                reference.append((wall_ref, ref["wall_s"], rss_ref))
    if reference:
        w, t, m = (np.median([r[k] for r in reference]) for k in range(3))
        print(f"\nreference `{args.reference}`, interleaved with ours: {w:.2f} s wall, {t:.2f} s "
              f"training, ratio {np.median([r[0] / r[1] for r in reference]):.2f}, peak {max(r[2] for r in reference):.0f} MB; "
              f"ours {np.median(walls):.2f} s wall, {np.median(trains):.2f} s training: "
              f"{w / np.median(walls):.2f}x less wall time")
    real_sps, bare_sps = float(np.median(real)), float(np.median(bare))
    print(f"\nloop: `train --config configs/sine.toml` (progress bar on a terminal) "
          f"{real_sps:.0f} steps/s (steps / summary wall_s: training, logging, evaluation, "
          f"checkpoints); bare loop {bare_sps:.0f} steps/s; ratio {real_sps / bare_sps:.2f}")
    print(f"peak memory (max RSS) of the default sine run, plots included: {max(peak):.0f} MB")
    print(f"whole process: {np.median(walls):.2f} s wall (python start to exit, plots included) "
          f"against {np.median(trains):.2f} s of training (wall_s); ratio {np.median(ratio):.2f}")
    return [("4. train steps/s over bare loop", real_sps / bare_sps, LOOP_TARGET),
            ("5. peak memory of the sine run, MB (at most)", max(peak), MEMORY_TARGET_MB),
            ("6. the sine run's whole wall time over its training wall_s (at most)",
             float(np.median(ratio)), WALL_TARGET)]


def startup(args):
    """Target 5: `train --help` against `python -c "import numpy, click"`, interleaved."""
    env = dict(os.environ)
    cmds = {"help": train_bin() + ["--help"], "base": [sys.executable, "-c", "import numpy, click"]}
    samples = {k: [] for k in cmds}
    for _ in range(args.startup_repeats):
        for k, cmd in cmds.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
            samples[k].append(time.perf_counter() - t0)
    help_ms, base_ms = median_ms(samples["help"]), median_ms(samples["base"])
    print(f"start-up: `train --help` {help_ms:.0f} ms, `python -c \"import numpy, click\"` "
          f"{base_ms:.0f} ms; ratio {help_ms / base_ms:.2f}")
    return [("5. start-up train --help over import numpy, click (at most)", help_ms / base_ms,
             STARTUP_TARGET)]


# ---------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch threads (default 1)")
    parser.add_argument("--seconds", type=float, default=2.0, help="time spent per size in the table")
    parser.add_argument("--repeats", type=int, default=20, help="at most 50x this many repeats per size")
    parser.add_argument("--loop-repeats", type=int, default=11)
    parser.add_argument("--startup-repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="a quarter of the repeats")
    parser.add_argument("--only", choices=("rnn", "loop", "startup"), action="append",
                        help="run only these parts (repeatable)")
    parser.add_argument("--reference", metavar="TRAIN",
                        help="another `train` executable (e.g. an older checkout's) whose default "
                             "run is timed right after ours in the loop part")
    parser.add_argument("--bare-loop", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_loop:
        print(f"{bare_loop():.3f}")
        return
    if args.quick:
        args.seconds /= 4
        args.loop_repeats, args.startup_repeats = 3, 7
    parts = set(args.only or ("rnn", "loop", "startup"))
    limits = limit_threads(args.threads)
    if limits is None and any(os.environ.get(v) != str(args.threads) for v in THREAD_VARS):
        # no threadpoolctl: run again with the thread count in the child's environment only
        sys.exit(subprocess.call([sys.executable, __file__, *sys.argv[1:]], env=child_env(args.threads)))
    print(f"numpy {np.__version__}, python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"{args.threads} thread{'s' * (args.threads > 1)}; medians over repeats")
    print(f"BLAS: {blas_info()}\n")  # the kernel decides the last bits and the speed
    checks = []
    if "rnn" in parts:
        checks += rnn_table(args, args.threads)
    if "loop" in parts:
        checks += loop_overhead(args, args.threads)
    if "startup" in parts:
        checks += startup(args)
    print("\ntargets:")
    for what, value, want in checks:
        at_most = "(at most)" in what
        ok = value <= want if at_most else value >= want
        print(f"  {'met ' if ok else 'MISS'}  {what}: {value:.2f} (target {want:g})")


if __name__ == "__main__":
    main()
