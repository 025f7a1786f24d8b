"""scripts/bench_step.py's arithmetic: the flops it credits a step's products with are those
the layers' np.dot calls do (its 'at the matmul rate' figures rest on them)."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "bench_step.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_step_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("N,T,D,H", [(5, 7, 3, 4), (20, 30, 16, 48)])
def test_product_flops_are_what_one_step_multiplies(bench, monkeypatch, cell, N, T, D, H):
    rng = np.random.default_rng(0)
    step = bench.Ours(cell, bench.weights(cell, D, H, rng))
    xs = rng.standard_normal((N, T, D)).astype(np.float32)
    ts = rng.standard_normal((N, T, 1)).astype(np.float32)
    counted, real = [], np.dot

    def dot(a, b, *args, **kwargs):
        counted.append(2 * a.size * (b.shape[1] if b.ndim == 2 else 1))   # 2 M K N
        return real(a, b, *args, **kwargs)

    monkeypatch.setattr(np, "dot", dot)
    step(xs, ts)
    head = 3 * 2 * N * T * H    # the head's forward, weight and input products (one output)
    assert sum(counted) == bench.product_flops(cell, N, T, D, H) + head
