"""What the recurrent layers unrolled over time share: their parameters and in-place gradients,
the state carried between calls (and, for any layer, the names of that state), and work buffers
kept per shape."""
import functools

import numpy as np

KEEP_SHAPES = 3  # work buffers kept per layer: a training window, a last window, evaluation

# A step's products, (M, K) x (K, N) with N the batch, are taken in blocks of rows of at most
# SMALL_PRODUCT / (N K) rows (a multiple of 16) where numpy's OpenBLAS runs one thread of a
# kernel with small-matrix paths (SkylakeX, Cooperlake, SapphireRapids): it multiplies a product
# of M N K <= 1e6 there without first packing the weights into a buffer, which at a training
# batch (N = 20-50) took a quarter of the product's time (alone, the blocks ran 1.16-1.35x
# faster; in a step, 1.00-1.12x). Elsewhere a product stays whole: on other kernels, where
# blocks only added calls (0.93-0.99x with Haswell's; others were not measured); on more than
# one BLAS thread, as the small-matrix path runs on one; for batches over SMALL_BATCH
# (evaluation's 256), where packing is shared by enough columns; when 16 rows are already over
# the bound; and when it would take over MAX_BLOCKS blocks (16 blocks of 16 rows, the H256
# backward product, ran slower than the whole one in a step).
SMALL_PRODUCT = 1_000_000
SMALL_BATCH = 64
ROW_ALIGN = 16
MAX_BLOCKS = 12
SMALL_KERNELS = {"skylakex", "cooperlake", "sapphirerapids"}


@functools.cache
def _numpy_openblas():
    """threadpoolctl's handle on numpy's OpenBLAS (the one under numpy.libs when several are
    loaded, else the first), or None; looked up once, and never fails a run."""
    try:
        from threadpoolctl import ThreadpoolController
        found = [c for c in ThreadpoolController().lib_controllers if c.internal_api == "openblas"]
    except Exception:
        return None
    mine = [c for c in found if "numpy.libs" in str(getattr(c, "filepath", ""))]
    return (mine or found or [None])[0]


def small_kernels():
    """Whether numpy's BLAS is OpenBLAS running one thread of a kernel with small-matrix paths."""
    blas = _numpy_openblas()
    try:
        return (blas is not None and str(blas.architecture).lower() in SMALL_KERNELS
                and blas.num_threads == 1)
    except Exception:
        return False


def row_blocks(M, N, K):
    """Slices of the M rows of an (M, K) x (K, N) product: blocks of rows each within
    SMALL_PRODUCT where small_kernels() and N <= SMALL_BATCH, unless that would take blocks of
    under ROW_ALIGN rows or over MAX_BLOCKS of them; one slice (the whole product) otherwise."""
    rows = 0
    if N <= SMALL_BATCH and small_kernels():
        rows = SMALL_PRODUCT // (N * K) // ROW_ALIGN * ROW_ALIGN
    if rows >= M or rows < ROW_ALIGN or -(-M // rows) > MAX_BLOCKS:
        return [slice(0, M)]
    return [slice(r, min(r + rows, M)) for r in range(0, M, rows)]


def blocks_of(array, slices):
    """The row blocks of array (views)."""
    return [array[s] for s in slices]


def state_names(layer):
    """The names of what a recurrent layer (or its class) carries between calls, in the order
    set_state takes them: its `state_names` as declared, ("h",) when it declares none."""
    return getattr(layer, "state_names", ("h",))


def carried_state(layer):
    """What a recurrent layer carries between calls, in the order of its state_names, None
    where it has none: the arrays a checkpoint keeps and set_state(*...) takes back."""
    return tuple(getattr(layer, name, None) for name in state_names(layer))


class Recurrent:
    """Base of TimeRNN, TimeLSTM and TimeGRU: params [Wx, Wh, b] with grads written in place;
    `h`, the state after the last forward, carried into the next one when stateful; `dh`, after
    backward, the gradient into the state the last forward started from.

    `state_names` names every array the layer carries between calls (the LSTM adds its cell
    state `c`); `state()` returns them as a tuple, in the order `set_state` takes them."""

    state_names = ("h",)

    # Whether backward computes and returns dxs, the gradient into the layer's inputs. A model
    # whose inputs are values (nothing below the layer learns) sets it False: backward then skips
    # that product and returns None, as torch and JAX skip an input gradient nobody asked for.
    input_grad = True

    def __init__(self, Wx, Wh, b, stateful=False):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.stateful = stateful
        self.h = None      # (N, H)
        self.dh = None     # (N, H)
        self._cache = {}   # shape key -> work buffers, the most recently used last
        self._fwd = None   # what the last forward leaves for backward
        self._shape = None  # (N, T, D, H) of the last forward

    def state(self):
        """The carried state as a tuple in the order of state_names (None where there is none)."""
        return carried_state(self)

    def set_state(self, h):
        self.h = np.array(h, dtype=self.params[0].dtype)

    def reset_state(self):
        for name in self.state_names:
            setattr(self, name, None)

    def _begin(self, xs, make_buffers):
        """What every forward starts with: the shapes (N, T, D, H) of xs (N, T, D) and the
        weights, kept for backward, and the work buffers for them (make_buffers(N, T, D, H,
        dtype) when this shape is new)."""
        N, T, D = xs.shape
        H = self.params[1].shape[0]
        dtype = self.params[0].dtype
        self._shape = (N, T, D, H)
        return N, T, D, H, self._buffers((N, T, D, H, dtype),
                                         lambda: make_buffers(N, T, D, H, dtype))

    def _carried(self, N, H):
        """Whether the next forward starts from the carried state (else from zeros): it must be
        stateful and have a state of this batch size (a new batch size starts fresh)."""
        return self.stateful and self.h is not None and self.h.shape == (N, H)

    def _buffers(self, key, make):
        """The work buffers for `key` (shapes and dtype), made if missing; the last few are kept."""
        buf = self._cache.pop(key, None)
        if buf is None:
            buf = make()
            if len(self._cache) >= KEEP_SHAPES:
                del self._cache[next(iter(self._cache))]  # the least recently used
        self._cache[key] = buf
        return buf
