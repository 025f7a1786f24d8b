"""Optimizers follow their textbook formulas, update in place, and resume from their state."""
import numpy as np
import pytest

from trainer.optim.optimizers import SGD, Adam, Momentum, RMSProp, clip_grads


def reference(name, p, grads, lr):
    """The update rules written out step by step, in float64."""
    p = p.copy()
    m = v = np.zeros_like(p)
    for t, g in enumerate(grads, 1):
        if name == "sgd":
            p = p - lr * g
        elif name == "momentum":
            v = 0.9 * v - lr * g
            p = p + v
        elif name == "rmsprop":
            v = 0.9 * v + 0.1 * g * g
            p = p - lr * g / (np.sqrt(v) + 1e-8)
        else:
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            p = p - lr * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    return p


OPTIMIZERS = {"sgd": lambda: SGD(0.1), "momentum": lambda: Momentum(0.1, 0.9),
              "rmsprop": lambda: RMSProp(0.01, 0.9, 1e-8), "adam": lambda: Adam(0.01)}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_update_follows_the_formula_in_place(rng, name):
    p0 = rng.standard_normal((3, 4))
    grads = [rng.standard_normal((3, 4)) for _ in range(5)]
    p = p0.copy()
    ident = id(p)
    opt = OPTIMIZERS[name]()
    for g in grads:
        opt.update([p], [g])
    assert id(p) == ident
    lr = opt.lr
    # Adam folds the bias corrections into the step size; equal up to float64 rounding
    np.testing.assert_allclose(p, reference(name, p0, grads, lr), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_state_round_trip_continues_bit_for_bit(rng, name):
    grads = [rng.standard_normal(5).astype(np.float32) for _ in range(6)]
    a, b = rng.standard_normal(5).astype(np.float32), None
    opt = OPTIMIZERS[name]()
    for g in grads[:3]:
        opt.update([a], [g])
    b = a.copy()
    other = OPTIMIZERS[name]()
    other.load_state({k: np.array(v) for k, v in opt.state().items()})
    for g in grads[3:]:
        opt.update([a], [g])
        other.update([b], [g])
    assert a.dtype == np.float32 and np.array_equal(a, b)


def test_clip_grads_scales_to_the_global_norm():
    g = [np.full(4, 3.0), np.full(9, 4.0 / 3)]  # norm sqrt(36 + 16) = sqrt(52)
    norm = clip_grads(g, 1.0)
    assert norm == pytest.approx(np.sqrt(52))
    assert np.sqrt(sum((x ** 2).sum() for x in g)) == pytest.approx(1.0, rel=1e-5)
    assert clip_grads(g, 0) == pytest.approx(1.0, rel=1e-5)  # 0: no clipping, just the norm


def test_clip_grads_of_a_huge_finite_float32_gradient_clips_instead_of_overflowing():
    # norm 4e20 > 1.8e19: its square overflows float32; summed in float64 it is finite and clips
    g = [np.full(4, 2e20, np.float32), np.zeros((2, 3), np.float32)]
    norm = clip_grads(g, 1.0)
    assert np.isfinite(norm) and norm == pytest.approx(4e20, rel=1e-6)  # the loop: not 'diverged'
    assert g[0].dtype == np.float32 and np.all(np.isfinite(g[0]))
    assert np.sqrt(sum(float((x.astype(np.float64) ** 2).sum()) for x in g)) == pytest.approx(1.0, rel=1e-5)


def test_sgd_is_bit_for_bit_p_minus_lr_g_across_dtypes_and_rates(rng):
    """SGD converts lr to each parameter's dtype once per dtype run (a 0-d array); the result
    is what `p -= lr * g` gives, for mixed float32/float64 parameters and a changed lr."""
    shapes_dtypes = [((3, 4), np.float32), ((4,), np.float64), ((2, 2), np.float32)]
    params = [rng.standard_normal(s).astype(d) for s, d in shapes_dtypes]
    opt = SGD(0.1)
    for lr in (0.1, 0.0371, 1e-3):
        opt.lr = lr  # as a schedule sets it
        grads = [rng.standard_normal(p.shape).astype(p.dtype) for p in params]
        expected = [p.copy() for p in params]
        for e, g in zip(expected, grads):
            e -= lr * g
        opt.update(params, grads)
        for p, e in zip(params, expected):
            assert p.dtype == e.dtype and np.array_equal(p, e)
