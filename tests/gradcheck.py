"""Central finite differences in float64, for checking analytic gradients."""
import numpy as np


def numerical_grad(f, x, eps=1e-6):
    """d f() / d x by central differences, perturbing x in place one entry at a time."""
    g = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        fp = f()
        x[i] = old - eps
        fm = f()
        x[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return g


def assert_close(analytic, numeric, tol=1e-7):
    """Relative error max|a-n| / max(1, max|n|) below tol (float64 gradients agree to ~1e-9)."""
    analytic, numeric = np.asarray(analytic, dtype=np.float64), np.asarray(numeric)
    assert analytic.shape == numeric.shape
    scale = max(1.0, float(np.abs(numeric).max()))
    err = float(np.abs(analytic - numeric).max()) / scale
    assert err < tol, f"relative error {err:.3g} >= {tol:g}"
