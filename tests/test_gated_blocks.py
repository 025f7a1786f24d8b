"""TimeLSTM's and TimeGRU's backward take the weight and input gradients one product per block
of steps, ceil(lstm.DW_BLOCK_COLUMNS / N) steps a block (chosen by size): one step a block,
blocks with a shorter last one, and the whole window as one block are each checked in float64
against finite differences, and against each other."""
import numpy as np
import pytest

import trainer.layers.gru as gru
import trainer.layers.lstm as lstm
from test_cells import test_gradients_of_params_inputs_and_state as check_gradients

# at the gradient check's N = 2, T = 5: blocks of 1, of 2 (2 + 2 + 1), of 3 (3 + 2), all 5
COLUMNS = {1: 1, 4: 2, 6: 3, 1 << 20: 5}


@pytest.mark.parametrize("columns", list(COLUMNS))
@pytest.mark.parametrize("stateful", [False, True])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_every_block_size_against_finite_differences(rng, monkeypatch, cell, columns, stateful):
    monkeypatch.setattr(lstm, "DW_BLOCK_COLUMNS", columns)
    assert lstm.block_steps(2, 5) == COLUMNS[columns]
    check_gradients(rng, cell, stateful)


def test_block_steps_by_size():
    assert lstm.block_steps(20, 120) == -(-lstm.DW_BLOCK_COLUMNS // 20)
    assert lstm.block_steps(50, 3) == 3            # never more than the window
    assert lstm.block_steps(10 ** 6, 7) == 1       # at least one step
    buf = lstm._Buffers(2, 7, 1, 3, np.float64)
    assert buf.eb.shape == (12, buf.B * 2) and buf.zb.shape == (5, buf.B * 2)
    buf = gru._Buffers(2, 7, 1, 3, np.float64)
    assert buf.eb.shape == (9, buf.B * 2) and buf.zb.shape == buf.yb.shape == (5, buf.B * 2)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_block_sizes_agree_over_windows_and_a_new_batch_size(rng, monkeypatch, cell):
    D, H = 3, 5
    layer_class, k = (lstm.TimeLSTM, 4) if cell == "lstm" else (gru.TimeGRU, 3)
    Wx, Wh = rng.standard_normal((D, k * H)), rng.standard_normal((H, k * H)) * 0.6
    b = rng.standard_normal(k * H) * 0.5
    names = ("h", "c", "dh", "dc") if cell == "lstm" else ("h", "dh")
    layers = []
    for columns in (1, 8, 16, 1 << 20):   # at N = 4, T = 6: blocks of 1, 2, 4 (4 + 2), 6
        monkeypatch.setattr(lstm, "DW_BLOCK_COLUMNS", columns)
        layer = layer_class(Wx.copy(), Wh.copy(), b.copy(), stateful=True)
        layer.forward(np.zeros((4, 6, D)))
        layers.append((columns, layer))
    assert [layer._fwd.B for _, layer in layers] == [1, 2, 4, 6]
    for N in (4, 4, 2):
        xs, dhs = rng.standard_normal((N, 6, D)), rng.standard_normal((N, 6, H))
        results = []
        for columns, layer in layers:
            monkeypatch.setattr(lstm, "DW_BLOCK_COLUMNS", columns)
            hs = layer.forward(xs).copy()
            dxs = layer.backward(dhs)
            results.append((hs, dxs, [getattr(layer, name).copy() for name in names],
                            [g.copy() for g in layer.grads]))
        (hs0, dxs0, state0, grads0), rest = results[0], results[1:]
        for hs, dxs, state, grads in rest:
            np.testing.assert_allclose(hs, hs0, rtol=1e-12, atol=1e-13)
            np.testing.assert_allclose(dxs, dxs0, rtol=1e-11, atol=1e-12)
            for s, s0 in zip(state, state0):
                np.testing.assert_allclose(s, s0, rtol=1e-11, atol=1e-12)
            for g, g0 in zip(grads, grads0):
                np.testing.assert_allclose(g, g0, rtol=1e-11, atol=1e-12)


def test_row_blocks_cover_the_rows_in_order_each_within_the_small_product_bound(monkeypatch):
    import trainer.layers.recurrent as recurrent
    from trainer.layers.recurrent import MAX_BLOCKS, ROW_ALIGN, SMALL_PRODUCT, row_blocks
    monkeypatch.setattr(recurrent, "small_kernels", lambda: False)
    assert row_blocks(512, 20, 145) == [slice(0, 512)]     # no small-matrix kernel: whole
    monkeypatch.setattr(recurrent, "small_kernels", lambda: True)
    for M, N, K in [(512, 20, 145), (128, 20, 512), (1024, 32, 289), (512, 32, 145), (100, 3, 7)]:
        blocks = row_blocks(M, N, K)
        assert blocks[0].start == 0 and blocks[-1].stop == M
        assert all(a.stop == b.start for a, b in zip(blocks, blocks[1:]))
        if len(blocks) > 1:
            assert all((s.stop - s.start) * N * K <= SMALL_PRODUCT for s in blocks)
            assert all((s.stop - s.start) % ROW_ALIGN == 0 for s in blocks[:-1])
    assert row_blocks(512, 20, 145) == [slice(0, 336), slice(336, 512)]   # the copy row's step
    assert row_blocks(100, 3, 7) == [slice(0, 100)]         # small: whole
    assert row_blocks(128, 256, 35) == [slice(0, 128)]      # an evaluation batch: whole
    assert row_blocks(4096, 64, 1024) == [slice(0, 4096)]   # 16 rows too many: whole
    assert len(row_blocks(256, 32, 1024)) == 1              # 16 blocks of 16: over MAX_BLOCKS
    assert 1 < len(row_blocks(1024, 32, 289)) <= MAX_BLOCKS


def uneven_blocks(calls):
    """A row_blocks that cuts every product of over 3 rows into blocks of 1, 2 and the rest."""
    def blocks(M, N, K):
        calls.append((M, N, K))
        return [slice(0, 1), slice(1, 3), slice(3, M)] if M > 3 else [slice(0, M)]
    return blocks


@pytest.mark.parametrize("stateful", [False, True])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_products_in_row_blocks_against_finite_differences(rng, monkeypatch, cell, stateful):
    calls = []
    monkeypatch.setattr(lstm if cell == "lstm" else gru, "row_blocks", uneven_blocks(calls))
    check_gradients(rng, cell, stateful)
    assert calls and all(M > 3 for M, _, _ in calls)      # every product was cut in three


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_products_in_row_blocks_equal_whole_products(rng, monkeypatch, cell):
    N, T, D, H = 4, 6, 3, 8
    module = lstm if cell == "lstm" else gru
    layer_class, k = (lstm.TimeLSTM, 4) if cell == "lstm" else (gru.TimeGRU, 3)
    Wx, Wh = rng.standard_normal((D, k * H)), rng.standard_normal((H, k * H)) * 0.4
    b = rng.standard_normal(k * H) * 0.5
    xs, dhs = rng.standard_normal((N, T, D)), rng.standard_normal((N, T, H))
    results = []
    for blocks in (lambda M, N, K: [slice(0, M)], uneven_blocks([])):
        monkeypatch.setattr(module, "row_blocks", blocks)
        layer = layer_class(Wx.copy(), Wh.copy(), b.copy(), stateful=True)
        out = []
        for _ in range(2):   # the second window starts from the carried state
            out += [layer.forward(xs).copy(), layer.backward(dhs), layer.dh.copy()]
            out += [g.copy() for g in layer.grads]
        results.append(out)
    for split, whole in zip(results[1], results[0]):
        np.testing.assert_allclose(split, whole, rtol=1e-12, atol=1e-13)


class FakeBLAS:
    def __init__(self, architecture, threads, filepath="/x/numpy.libs/libscipy_openblas.so"):
        self.internal_api, self.architecture, self.filepath = "openblas", architecture, filepath
        self._threads = threads

    @property
    def num_threads(self):
        if self._threads is None:
            raise OSError("gone")
        return self._threads


@pytest.fixture
def fresh_blas_lookup():
    import trainer.layers.recurrent as recurrent
    lookup = recurrent._numpy_openblas      # the cached function, even if a test replaces it
    lookup.cache_clear()
    yield recurrent
    lookup.cache_clear()


def test_small_kernels_needs_one_thread_of_a_small_matrix_kernel(monkeypatch, fresh_blas_lookup):
    recurrent = fresh_blas_lookup
    for blas, expected in ((FakeBLAS("SkylakeX", 1), True), (FakeBLAS("SkylakeX", 2), False),
                           (FakeBLAS("Haswell", 1), False), (FakeBLAS("SkylakeX", None), False),
                           (None, False)):
        monkeypatch.setattr(recurrent, "_numpy_openblas", lambda blas=blas: blas)
        assert recurrent.small_kernels() is expected


def test_numpys_openblas_is_picked_among_several_and_a_failing_lookup_is_none(monkeypatch,
                                                                               fresh_blas_lookup):
    import threadpoolctl
    recurrent = fresh_blas_lookup
    other = FakeBLAS("Haswell", 1, "/x/scipy/libopenblas.so")
    numpys = FakeBLAS("SkylakeX", 1)

    class Controller:
        lib_controllers = [other, numpys]

    monkeypatch.setattr(threadpoolctl, "ThreadpoolController", Controller)
    assert recurrent._numpy_openblas() is numpys
    recurrent._numpy_openblas.cache_clear()
    Controller.lib_controllers = [other]                  # no numpy.libs (a conda numpy): the first
    assert recurrent._numpy_openblas() is other
    recurrent._numpy_openblas.cache_clear()

    def broken():
        raise RuntimeError("cannot read the loaded libraries")

    monkeypatch.setattr(threadpoolctl, "ThreadpoolController", broken)
    assert recurrent._numpy_openblas() is None and recurrent.small_kernels() is False
