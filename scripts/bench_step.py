"""A whole training step, ours against JAX (jit) and torch (eager): issue 37, "Performance".

    python scripts/bench_step.py                          # every size, medians over ~2 s each
    python scripts/bench_step.py --quick                  # a quarter of the time
    python scripts/bench_step.py --reference ../old       # also an older checkout's layers
    python scripts/bench_step.py --only lstm,gru          # some cells only
    python scripts/bench_step.py --clock cpu              # CPU time, for a machine shared with others
    python scripts/bench_step.py --all-cores              # jax's and torch's threads on every CPU

The step is what training does per window: recurrent layer -> affine head -> MSE
-> backward -> global-norm clip -> SGD update, the hidden state carried to the
next window. Sizes: the tanh RNN at N16 T25 H32 and N32 T50 H64 (D=1, as sine);
the LSTM and the GRU at the corners of N 32-50, T 50-100 for H 64, 128 and 256;
the LSTM at the literature table's copy row (N20 T120 D16 H128).

The comparison columns are written as a careful user of each library would
write them. JAX: `jit` of the whole step, the input projection of all steps
as one product and a plain `lax.scan` over the recurrent part, value_and_grad,
clip, update, the parameter and state buffers donated. torch: eager nn.LSTM /
nn.GRU, nn.Linear, mse_loss, clip_grad_norm_, optim.SGD (oneDNN's RNN kernels
where torch uses them). Both are optional columns: install them into the
benchmark's environment, never into the package's. `--reference DIR` adds the
layers of another checkout (its trainer/layers, imported under another name)
as a "before" column, with the same head, loss and optimizer as ours.
Everything runs on one thread (BLAS, torch, and XLA's own threads unless the
environment sets XLA_FLAGS) and, unless --all-cores, on one CPU: the main thread
is pinned to it before jax and torch start theirs, which inherit it, since XLA runs
part of a step on a second thread even when told to use one (one LSTM step at N50 T100
H256: 258 ms of CPU time, 145 ms of wall time, in two runs on an idle 2-core
machine); OpenBLAS's pool, started with
numpy, stays unpinned and idle at one thread. Timed interleaved in a shuffled
order, medians.
Before timing, all columns must give the same first-step loss (torch's GRU is
a different cell, the reset gate applied after the product: same cost, its
loss is not compared).

The `dot` column is the time one of our steps spends inside np.dot (every matrix
product of the layer, head and loss: OpenBLAS's share of the step), on the same
clock, timed right after the interleaved repeats. A missed target whose time (torch or JAX over the
target ratio) is below it would need our whole step faster than its products
alone: it is marked so.
"""
import argparse
import importlib.util
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the package from this checkout when run as a script

SIZES = [("rnn", 16, 25, 1, 32), ("rnn", 32, 50, 1, 64)]
for _cell in ("lstm", "gru"):
    SIZES += [(_cell, 32, 50, 16, 64), (_cell, 50, 100, 2, 64),
              (_cell, 32, 50, 16, 128), (_cell, 50, 100, 16, 128),
              (_cell, 32, 50, 32, 256), (_cell, 50, 100, 32, 256)]
SIZES.append(("lstm", 20, 120, 16, 128))   # the literature table's copy row (copy-100.toml)
COPY_ROW = ("lstm", 20, 120, 16, 128)
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
LR, CLIP = 0.1, 1.0
TARGET_TORCH, TARGET_JAX = 1.2, 1.3        # LSTM and GRU; the RNN: at least 1 (keeps its lead)


def weights(cell, D, H, rng):
    k = GATES[cell]
    Wx = (rng.standard_normal((D, k * H)) / np.sqrt(D)).astype(np.float32)
    Wh = (rng.standard_normal((H, k * H)) / np.sqrt(H)).astype(np.float32)
    b = (0.1 * rng.standard_normal(k * H)).astype(np.float32)
    W = (rng.standard_normal((H, 1)) / np.sqrt(H)).astype(np.float32)
    return Wx, Wh, b, W, np.zeros(1, np.float32)


def reference_layers(checkout):
    """The recurrent layer classes of another checkout, imported under other names (its
    trainer/layers/recurrent.py stands in for ours while its lstm.py, gru.py, rnn.py load)."""
    layers = Path(checkout).resolve() / "trainer" / "layers"
    if not (layers / "lstm.py").is_file():
        raise SystemExit(f"--reference: no trainer/layers/lstm.py under {checkout}")

    def load(name):
        spec = importlib.util.spec_from_file_location(f"_reference_layers.{name}", layers / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    import trainer.layers.recurrent as ours
    key = "trainer.layers.recurrent"
    sys.modules[key] = load("recurrent")
    try:
        classes = {"rnn": load("rnn").TimeRNN, "lstm": load("lstm").TimeLSTM, "gru": load("gru").TimeGRU}
    finally:
        sys.modules[key] = ours
    return classes


class Ours:
    name = "ours"

    def __init__(self, cell, params, classes=None):
        from trainer.layers import TimeAffine, TimeGRU, TimeLSTM, TimeRNN
        from trainer.layers.losses import TimeMSE
        from trainer.optim.optimizers import SGD, clip_grads
        classes = classes or {"rnn": TimeRNN, "lstm": TimeLSTM, "gru": TimeGRU}
        Wx, Wh, b, W, c = (p.copy() for p in params)
        self.rnn = classes[cell](Wx, Wh, b, stateful=True)
        # inputs that are values, as the trainer's model over them: no gradient into them (torch
        # and JAX skip it too; a reference checkout's layers without the switch compute it)
        self.rnn.input_grad = False
        self.head, self.loss = TimeAffine(W, c), TimeMSE()
        self.params = self.rnn.params + self.head.params
        self.grads = self.rnn.grads + self.head.grads
        self.sgd, self.clip_grads = SGD(LR), clip_grads

    def __call__(self, xs, ts):
        loss = self.loss.forward(self.head.forward(self.rnn.forward(xs)), ts)
        self.rnn.backward(self.head.backward(self.loss.backward()))
        self.clip_grads(self.grads, CLIP)
        self.sgd.update(self.params, self.grads)
        return loss


class Reference(Ours):
    name = "ref"


class Jax:
    name = "jax"

    def __init__(self, cell, params, N, jax):
        jnp, lax = jax.numpy, jax.lax
        H = params[1].shape[0]
        sigmoid = jax.nn.sigmoid

        def rnn_cell(carry, ax, Wh):
            h = jnp.tanh(ax + carry[0] @ Wh)
            return (h,), h

        def lstm_cell(carry, ax, Wh):
            h, c = carry
            a = ax + h @ Wh
            f, i, o = sigmoid(a[:, :H]), sigmoid(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
            c = f * c + jnp.tanh(a[:, H:2 * H]) * i
            h = o * jnp.tanh(c)
            return (h, c), h

        def gru_cell(carry, ax, Wh):   # ours (the textbook's): r applied before the product
            h, = carry
            zr = sigmoid(ax[:, :2 * H] + h @ Wh[:, :2 * H])
            z, r = zr[:, :H], zr[:, H:]
            ht = jnp.tanh(ax[:, 2 * H:] + (r * h) @ Wh[:, 2 * H:])
            h = h + z * (ht - h)
            return (h,), h

        step_cell = {"rnn": rnn_cell, "lstm": lstm_cell, "gru": gru_cell}[cell]

        def loss_fn(p, carry, xs, ts):
            Wx, Wh, b, W, c = p
            axs = jnp.swapaxes(xs, 0, 1) @ Wx + b                             # (T, N, kH)
            carry, hs = lax.scan(lambda s, ax: step_cell(s, ax, Wh), carry, axs)  # (T, N, H)
            ys = hs @ W + c                                                   # (T, N, 1)
            return jnp.mean((ys - jnp.swapaxes(ts, 0, 1)) ** 2), carry

        def step(p, carry, xs, ts):
            (loss, carry), g = jax.value_and_grad(loss_fn, has_aux=True)(p, carry, xs, ts)
            norm = jnp.sqrt(sum(jnp.vdot(x, x) for x in g))
            scale = jnp.where(norm > CLIP, CLIP / (norm + 1e-6), 1.0)
            return [q - LR * scale * d for q, d in zip(p, g)], carry, loss

        self.step = jax.jit(step, donate_argnums=(0, 1))
        self.p = [jnp.asarray(x) for x in params]
        self.carry = tuple(jnp.zeros((N, H), jnp.float32) for _ in range(2 if cell == "lstm" else 1))
        self.device_put = jax.device_put
        self.data = None

    def __call__(self, xs, ts):
        if self.data is None or self.data[0] is not xs:   # the batch on the device once
            self.data = (xs, self.device_put(xs), self.device_put(ts))
        self.p, self.carry, loss = self.step(self.p, self.carry, *self.data[1:])
        return loss.block_until_ready()


class Torch:
    name = "torch"

    def __init__(self, cell, params, torch):
        Wx, Wh, b, W, c = params
        H, D = Wh.shape[0], Wx.shape[0]
        self.torch = torch
        if cell == "lstm":    # torch's gate order is i, f, g, o; ours f, g, i, o
            order = [2, 0, 1, 3]
            self.rnn = torch.nn.LSTM(D, H, batch_first=True)
        elif cell == "gru":   # torch's r, z, n; ours z, r, h~ (and torch's z is our 1 - z)
            order = [1, 0, 2]
            self.rnn = torch.nn.GRU(D, H, batch_first=True)
        else:
            order = [0]
            self.rnn = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True)
        Wx, Wh, b = (np.concatenate([m[..., k * H:(k + 1) * H] for k in order], axis=-1)
                     for m in (Wx, Wh, b))
        self.head = torch.nn.Linear(H, 1)
        with torch.no_grad():
            self.rnn.weight_ih_l0.copy_(torch.from_numpy(Wx.T.copy()))
            self.rnn.weight_hh_l0.copy_(torch.from_numpy(Wh.T.copy()))
            self.rnn.bias_ih_l0.copy_(torch.from_numpy(b))
            self.rnn.bias_hh_l0.zero_()
            self.head.weight.copy_(torch.from_numpy(W.T.copy()))
            self.head.bias.zero_()
        self.params = list(self.rnn.parameters()) + list(self.head.parameters())
        self.opt = torch.optim.SGD(self.params, lr=LR)
        self.state = None

    def __call__(self, xs, ts):
        torch = self.torch
        self.opt.zero_grad()
        hs, state = self.rnn(torch.from_numpy(xs), self.state)
        loss = torch.nn.functional.mse_loss(self.head(hs), torch.from_numpy(ts))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, CLIP)
        self.opt.step()
        self.state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        return float(loss.detach())


def optional(name):
    try:
        return __import__(name)
    except ImportError:
        return None


def blas_info():
    from threadpoolctl import threadpool_info
    return "; ".join(f"{i.get('internal_api')} {i.get('version') or ''} kernel={i.get('architecture', '-')} "
                     f"threads={i.get('num_threads')}" for i in threadpool_info())


def product_flops(cell, N, T, D, H):
    """Floating-point operations of the recurrent layer's matrix products in one training step
    over inputs that are values: forward ([x; 1; h] times the gates' weights), backward into
    h_{t-1}, and the weight gradients (the head's products, H x 1, are left out)."""
    k = GATES[cell]
    return 2 * k * H * N * T * (2 * (D + 1 + H) + H)


def time_in_products(runner, xs, ts, clock, steps=25):
    """Milliseconds one of our steps spends inside np.dot (every matrix product of the layers,
    head and loss), on `clock`, median over `steps` steps: the part of our step that is
    OpenBLAS's, and a floor for any change to the rest."""
    real, spent, per_step = np.dot, [0.0], []

    def timed(*args, **kwargs):
        t0 = clock()
        try:
            return real(*args, **kwargs)
        finally:
            spent[0] += clock() - t0

    np.dot = timed
    try:
        for _ in range(steps):
            spent[0] = 0.0
            runner(xs, ts)
            per_step.append(spent[0])
    finally:
        np.dot = real
    return float(np.median(per_step)) * 1e3


def time_size(cell, N, T, D, H, seconds, jax, torch, reference, clock=time.perf_counter):
    rng = np.random.default_rng(0)
    params = weights(cell, D, H, rng)
    xs = rng.standard_normal((N, T, D)).astype(np.float32)
    ts = rng.standard_normal((N, T, 1)).astype(np.float32)
    ours = Ours(cell, params)
    runners = [ours]
    if reference is not None:
        runners.append(Reference(cell, params, reference))
    if jax is not None:
        runners.append(Jax(cell, params, N, jax))
    if torch is not None:
        runners.append(Torch(cell, params, torch))
    first = {r.name: float(r(xs, ts)) for r in runners}  # compiles JAX; first losses must agree
    for r in runners:
        for _ in range(3):
            r(xs, ts)
    samples = {r.name: [] for r in runners}
    order, end = random.Random(0), time.perf_counter() + seconds * len(runners)
    while time.perf_counter() < end or min(len(s) for s in samples.values()) < 15:
        order.shuffle(runners)
        for r in runners:
            t0 = clock()
            r(xs, ts)
            samples[r.name].append(clock() - t0)
    ms = {k: float(np.median(v)) * 1e3 for k, v in samples.items()}
    ms["dot"] = time_in_products(ours, xs, ts, clock)
    return ms, first


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per size and runner")
    parser.add_argument("--quick", action="store_true", help="a quarter of the time")
    parser.add_argument("--reference", metavar="DIR", help="another checkout: its layers as a column")
    parser.add_argument("--only", help="cells to time, comma-separated (rnn,lstm,gru)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall time, or the process's CPU time (all its threads): on a machine "
                             "shared with other work, cpu leaves out the time others held the cores")
    parser.add_argument("--all-cores", action="store_true",
                        help="let the columns' threads run on every CPU (by default the process is pinned "
                             "to one CPU before jax and torch start their threads: XLA runs part of a step "
                             "on a second thread even when told to use one)")
    args = parser.parse_args()
    seconds = args.seconds / 4 if args.quick else args.seconds
    cores = "every CPU"
    if not args.all_cores and hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})   # this thread; threads started from here on inherit it
        cores = f"pinned to CPU {cpu} (every thread but OpenBLAS's idle pool)"
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)
    reference = reference_layers(args.reference) if args.reference else None
    sys.path.insert(0, str(ROOT / "scripts"))
    from bench import matmul_rate
    rate = matmul_rate()   # GFLOP/s of a large product: what a step's products could reach at best
    # one thread for JAX too, unless the environment says otherwise (XLA reads this at import)
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    jax, torch = optional("jax"), optional("torch")
    if jax is not None:
        jax.config.update("jax_platforms", "cpu")
    if torch is not None:
        torch.set_num_threads(1)
    print(f"numpy {np.__version__}, python {sys.version.split()[0]}, {os.cpu_count()} CPUs, 1 thread")
    print(f"BLAS: {blas_info()}")
    print(f"float32 matmul rate (1536^3, 1 thread): {rate:.1f} GFLOP/s")
    print("OPENBLAS_CORETYPE:", os.environ.get("OPENBLAS_CORETYPE", "(unset: OpenBLAS picks the kernel)"))
    print(f"jax {jax.__version__} (jit, lax.scan)" if jax else "jax not installed: column skipped")
    print(f"torch {torch.__version__} (eager; oneDNN {'on' if torch.backends.mkldnn.is_available() else 'off'})"
          if torch else "torch not installed: column skipped")
    print("XLA_FLAGS for jax's own threads:", os.environ.get("XLA_FLAGS", "(unset)"))
    print(f"clock: {'process CPU time (all threads)' if args.clock == 'cpu' else 'wall time'}; cores: {cores}")
    if reference:
        print(f"ref: the layers of {args.reference} (same head, loss, optimizer)")
    names = ["ours"] + (["ref"] if reference else []) + ["jax", "torch"]
    head = (f"\n{'cell':<5}{'N':>4}{'T':>5}{'D':>3}{'H':>5} | "
            + "".join(f"{n + (' ms' if n == 'ours' else ''):>9}" for n in names[:1] + ["dot"] + names[1:])
            + " | "
            + "".join(f"{'x ' + n:>8}" for n in names[1:]))
    print(head)
    print("-" * (len(head) - 1))
    only = set(args.only.split(",")) if args.only else None
    checks = []
    for size in SIZES:
        cell, N, T, D, H = size
        if only and cell not in only:
            continue
        ms, first = time_size(cell, N, T, D, H, seconds, jax, torch, reference,
                              time.process_time if args.clock == "cpu" else time.perf_counter)
        compared = [v for k, v in first.items() if not (cell == "gru" and k == "torch")]
        if not np.allclose(compared, first["ours"], rtol=1e-4):
            raise SystemExit(f"first-step losses disagree at {cell} {N}x{T}: {first}")
        cols = "".join(f"{ms[k]:9.3f}" if k in ms else f"{'-':>9}" for k in names[:1] + ["dot"] + names[1:])
        ratios = "".join(f"{ms[k] / ms['ours']:8.2f}" if k in ms else f"{'-':>8}" for k in names[1:])
        note = "  (literature copy row)" if size == COPY_ROW else ""
        print(f"{cell:<5}{N:>4}{T:>5}{D:>3}{H:>5} | {cols} | {ratios}{note}", flush=True)
        for k, target in (("torch", TARGET_TORCH), ("jax", TARGET_JAX)):
            if k in ms:
                target = 1.0 if cell == "rnn" else target
                # the target's time for ours; our products'; theirs at the matmul rate
                need = (ms[k] / target, ms["dot"], product_flops(*size) / rate / 1e6, ms["ours"])
                checks.append((f"{cell} step N{N} T{T} D{D} H{H}: {k} ms / ours ms", ms[k] / ms["ours"], target,
                               need))
        if "ref" in ms:
            checks.append((f"{cell} step N{N} T{T} D{D} H{H}: before (ref) ms / ours ms", ms["ref"] / ms["ours"], None,
                           None))
    print(f"\ntargets (LSTM and GRU: x torch >= {TARGET_TORCH}, x jax >= {TARGET_JAX}; RNN: >= 1;"
          " same first-step loss checked):")
    for what, ratio, target, need in checks:
        if target is None:
            print(f"  {'':4}  {what}: {ratio:.2f}")
        else:
            print(f"  {'met ' if ratio >= target else 'MISS'}  {what}: {ratio:.2f} (target {target})"
                  + (f"; needs ours <= {need[0]:.2f} ms, its products alone take {need[1]:.2f}"
                     f" ({need[2]:.2f} at the matmul rate), the rest {need[3] - need[1]:.2f}"
                     if ratio < target else ""))
    targets = [(what, ratio >= target) for what, ratio, target, _ in checks if target is not None]
    under_floor = [what for what, ratio, target, need in checks
                   if target is not None and ratio < target and need[0] < need[1]]
    beyond_rate = [what for what, ratio, target, need in checks
                   if target is not None and ratio < target and need[2] + need[3] - need[1] > need[0]]
    missed = [what.split(":")[0] + ": " + what.split(": ")[1].split(" ")[0] for what, ok in targets if not ok]
    print(f"\n{len(targets) - len(missed)} of {len(targets)} targets met"
          + (f"; missed: {', '.join(missed)}" if missed else ""))
    if under_floor:
        print(f"{len(under_floor)} of the {len(missed)} missed would need our whole step in less time than"
              " its matrix products alone take (the dot column: time inside np.dot, OpenBLAS)")
    if beyond_rate:
        print(f"{len(beyond_rate)} of the {len(missed)} missed would still miss with every product at the"
              f" matmul rate ({rate:.1f} GFLOP/s) and the rest of the step (the elementwise passes) as it is")
    if reference:   # before and after, from this one run: the geometric mean of ref / ours per cell
        means = {}
        for what, ratio, target, _ in checks:
            if target is None:
                means.setdefault(what.split()[0], []).append(ratio)
        print("before (ref) / after (ours), geometric mean per cell: "
              + ", ".join(f"{cell} {np.exp(np.mean(np.log(r))):.2f} ({min(r):.2f}-{max(r):.2f})"
                          for cell, r in means.items()))


if __name__ == "__main__":
    main()
