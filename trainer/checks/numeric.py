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


def relative_error(analytic, numeric):
    """max|a - n| / max(1, max|n|): float64 gradients that are right agree to about 1e-9."""
    analytic, numeric = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, np.float64)
    if analytic.shape != numeric.shape:
        return float("inf")
    if not numeric.size:
        return 0.0
    scale = max(1.0, float(np.abs(numeric).max()))
    return float(np.abs(analytic - numeric).max()) / scale


def assert_close(analytic, numeric, tol=1e-7):
    """Relative error max|a-n| / max(1, max|n|) below tol (float64 gradients agree to ~1e-9)."""
    analytic, numeric = np.asarray(analytic, dtype=np.float64), np.asarray(numeric)
    assert analytic.shape == numeric.shape
    err = relative_error(analytic, numeric)
    assert err < tol, f"relative error {err:.3g} >= {tol:g}"
