"""A whole training step, ours against JAX (jit) and torch: issue "Performance", target 3.

    python scripts/bench_step.py            # every size, medians over ~2 s each
    python scripts/bench_step.py --quick

The step is what training does per window: recurrent layer -> affine head -> MSE
-> backward -> global-norm clip -> SGD update, the hidden state carried to the
next window. Sizes: the tanh RNN at N16 T25 H32 and N32 T50 H64 (D=1, as sine),
and the LSTM at the memory table's size N50 T100 D2 H64 (as adding). JAX jit-
compiles the whole step (lax.scan over time, value_and_grad, clip, update);
torch runs eagerly (nn.RNN/nn.LSTM, nn.Linear, clip_grad_norm_, SGD). Both are
optional columns: install them into the benchmark's environment, never into the
package's. Everything runs on one thread, timed interleaved in a shuffled order.
"""
import argparse
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the package from this checkout when run as a script

SIZES = [("rnn", 16, 25, 1, 32), ("rnn", 32, 50, 1, 64), ("lstm", 50, 100, 2, 64)]
LR, CLIP = 0.1, 1.0


def weights(cell, D, H, rng):
    k = 4 if cell == "lstm" else 1
    Wx = (rng.standard_normal((D, k * H)) / np.sqrt(D)).astype(np.float32)
    Wh = (rng.standard_normal((H, k * H)) / np.sqrt(H)).astype(np.float32)
    b = np.zeros(k * H, np.float32)
    W = (rng.standard_normal((H, 1)) / np.sqrt(H)).astype(np.float32)
    return Wx, Wh, b, W, np.zeros(1, np.float32)


class Ours:
    name = "ours"

    def __init__(self, cell, params):
        from trainer.layers import TimeAffine, TimeLSTM, TimeRNN
        from trainer.losses import TimeMSE
        from trainer.optimizers import SGD, clip_grads
        Wx, Wh, b, W, c = (p.copy() for p in params)
        self.rnn = (TimeLSTM if cell == "lstm" else TimeRNN)(Wx, Wh, b, stateful=True)
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


class Jax:
    name = "jax"

    def __init__(self, cell, params, N, jax):
        jnp, lax = jax.numpy, jax.lax
        H = params[1].shape[0]

        def rnn_cell(carry, x, Wx, Wh, b):
            h = jnp.tanh(x @ Wx + carry[0] @ Wh + b)
            return (h,), h

        def lstm_cell(carry, x, Wx, Wh, b):
            h, c = carry
            a = x @ Wx + h @ Wh + b
            f, g, i, o = (a[:, k * H:(k + 1) * H] for k in range(4))
            c = jax.nn.sigmoid(f) * c + jnp.tanh(g) * jax.nn.sigmoid(i)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), h

        step_cell = lstm_cell if cell == "lstm" else rnn_cell

        def loss_fn(p, carry, xs, ts):
            Wx, Wh, b, W, c = p
            carry, hs = lax.scan(lambda s, x: step_cell(s, x, Wx, Wh, b), carry,
                                 jnp.swapaxes(xs, 0, 1))                     # (T, N, H)
            ys = hs @ W + c                                                  # (T, N, 1)
            return jnp.mean((ys - jnp.swapaxes(ts, 0, 1)) ** 2), carry

        def step(p, carry, xs, ts):
            (loss, carry), g = jax.value_and_grad(loss_fn, has_aux=True)(p, carry, xs, ts)
            norm = jnp.sqrt(sum(jnp.vdot(x, x) for x in g))
            scale = jnp.where(norm > CLIP, CLIP / (norm + 1e-6), 1.0)
            return [q - LR * scale * d for q, d in zip(p, g)], carry, loss

        self.step = jax.jit(step)
        self.p = [jnp.asarray(x) for x in params]
        zeros = jnp.zeros((N, H), jnp.float32)
        self.carry = (zeros, zeros) if cell == "lstm" else (zeros,)

    def __call__(self, xs, ts):
        self.p, self.carry, loss = self.step(self.p, self.carry, xs, ts)
        return loss.block_until_ready()


class Torch:
    name = "torch"

    def __init__(self, cell, params, torch):
        Wx, Wh, b, W, c = params
        H = Wh.shape[0]
        D = Wx.shape[0]
        self.torch = torch
        if cell == "lstm":  # torch's gate order is i, f, g, o; ours f, g, i, o
            order = [2, 0, 1, 3]
            Wx = np.concatenate([Wx[:, k * H:(k + 1) * H] for k in order], axis=1)
            Wh = np.concatenate([Wh[:, k * H:(k + 1) * H] for k in order], axis=1)
            self.rnn = torch.nn.LSTM(D, H, batch_first=True)
        else:
            self.rnn = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True)
        self.head = torch.nn.Linear(H, 1)
        with torch.no_grad():
            self.rnn.weight_ih_l0.copy_(torch.from_numpy(Wx.T.copy()))
            self.rnn.weight_hh_l0.copy_(torch.from_numpy(Wh.T.copy()))
            self.rnn.bias_ih_l0.zero_()
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


def time_size(cell, N, T, D, H, seconds, jax, torch):
    rng = np.random.default_rng(0)
    params = weights(cell, D, H, rng)
    xs = rng.standard_normal((N, T, D)).astype(np.float32)
    ts = rng.standard_normal((N, T, 1)).astype(np.float32)
    runners = [Ours(cell, params)]
    if jax is not None:
        runners.append(Jax(cell, params, N, jax))
    if torch is not None:
        runners.append(Torch(cell, params, torch))
    first = {r.name: r(xs, ts) for r in runners}  # compiles JAX; the first losses must agree
    for r in runners:
        for _ in range(5):
            r(xs, ts)
    samples = {r.name: [] for r in runners}
    order, end = random.Random(0), time.perf_counter() + seconds * len(runners)
    while time.perf_counter() < end or min(len(s) for s in samples.values()) < 21:
        order.shuffle(runners)
        for r in runners:
            t0 = time.perf_counter()
            r(xs, ts)
            samples[r.name].append(time.perf_counter() - t0)
    return {k: float(np.median(v)) * 1e3 for k, v in samples.items()}, first


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per size and runner")
    parser.add_argument("--quick", action="store_true", help="a quarter of the time")
    args = parser.parse_args()
    seconds = args.seconds / 4 if args.quick else args.seconds
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)
    jax, torch = optional("jax"), optional("torch")
    if jax is not None:
        jax.config.update("jax_platforms", "cpu")
    if torch is not None:
        torch.set_num_threads(1)
    print(f"numpy {np.__version__}, python {sys.version.split()[0]}, {os.cpu_count()} CPUs, 1 thread")
    print(f"BLAS: {blas_info()}")
    print(f"jax {jax.__version__} (jit, lax.scan)" if jax else "jax not installed: column skipped")
    print(f"torch {torch.__version__} (eager)" if torch else "torch not installed: column skipped")
    print("XLA_FLAGS for jax's own threads:", os.environ.get("XLA_FLAGS", "(unset)"))
    head = f"\n{'cell':<5}{'N':>4}{'T':>5}{'D':>3}{'H':>5} | {'ours ms':>8}{'jax':>8}{'torch':>8} | {'x jax':>6}{'x torch':>8}"
    print(head)
    print("-" * (len(head) - 1))
    checks = []
    for cell, N, T, D, H in SIZES:
        ms, first = time_size(cell, N, T, D, H, seconds, jax, torch)
        if not np.allclose(list(map(float, first.values())), float(first["ours"]), rtol=1e-4):
            raise SystemExit(f"first-step losses disagree at {cell} {N}x{T}: {first}")
        cols = [f"{ms[k]:8.3f}" if k in ms else f"{'-':>8}" for k in ("ours", "jax", "torch")]
        ratios = [f"{ms[k] / ms['ours']:{w}.2f}" if k in ms else f"{'-':>{w}}"
                  for k, w in (("jax", 6), ("torch", 8))]
        print(f"{cell:<5}{N:>4}{T:>5}{D:>3}{H:>5} | {''.join(cols)} | {''.join(ratios)}")
        for k in ("jax", "torch"):
            if k in ms and (cell == "lstm" or k == "jax"):
                checks.append((f"{cell} step N{N} T{T} D{D} H{H}: {k} ms / ours ms", ms[k] / ms["ours"]))
    print("\ntargets (at least 1: ours at least as fast; same first-step loss checked for all):")
    for what, ratio in checks:
        print(f"  {'met ' if ratio >= 1 else 'MISS'}  {what}: {ratio:.2f}")


if __name__ == "__main__":
    main()
