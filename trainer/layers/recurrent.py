"""What the recurrent layers unrolled over time share: their parameters and in-place gradients,
the state carried between calls (and, for any layer, the names of that state), and work buffers
kept per shape."""
import functools

import numpy as np

KEEP_SHAPES = 3  # work buffers kept per layer: a training window, a last window, evaluation

# A step's products, (M, K) x (K, N) with N the batch, are taken in blocks of rows of at most
# SMALL_PRODUCT / (N K) rows (a multiple of 16) where numpy's OpenBLAS runs a kernel with
# small-matrix paths (SkylakeX, Cooperlake, SapphireRapids): it multiplies a product of M N K <=
# 1e6 there without first packing the weights into a buffer, which at these sizes took a quarter
# of the product's time (the blocks ran 1.15-1.35x faster alone, 1.04-1.18x in a step). Other
# kernels have no such path, and the blocks only add calls (0.93-0.99x with Haswell's), so
# there a product stays whole; so does one too large for 16 rows, or needing over MAX_BLOCKS.
SMALL_PRODUCT = 1_000_000
ROW_ALIGN = 16
MAX_BLOCKS = 12
SMALL_KERNELS = {"skylakex", "cooperlake", "sapphirerapids"}


@functools.cache
def small_kernels():
    """Whether numpy's BLAS is OpenBLAS running a kernel with small-matrix paths (asked once)."""
    from threadpoolctl import threadpool_info
    found = [i for i in threadpool_info() if i.get("internal_api") == "openblas"]
    mine = [i for i in found if "numpy" in str(i.get("filepath", ""))] or found
    return bool(mine) and str(mine[0].get("architecture", "")).lower() in SMALL_KERNELS


def row_blocks(M, N, K):
    """Slices of the M rows of an (M, K) x (K, N) product, each block within SMALL_PRODUCT where
    numpy's kernel has small-matrix paths; one slice (the whole product) otherwise."""
    rows = SMALL_PRODUCT // (N * K) // ROW_ALIGN * ROW_ALIGN if small_kernels() else 0
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
