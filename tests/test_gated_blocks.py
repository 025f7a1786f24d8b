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
    assert row_blocks(4096, 64, 1024) == [slice(0, 4096)]   # 16 rows too many: whole
    assert len(row_blocks(256, 32, 1024)) == 1              # 16 blocks of 16: over MAX_BLOCKS
    assert len(row_blocks(1024, 32, 289)) <= MAX_BLOCKS


@pytest.mark.parametrize("stateful", [False, True])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_products_in_row_blocks_against_finite_differences(rng, monkeypatch, cell, stateful):
    import trainer.layers.recurrent as recurrent
    monkeypatch.setattr(recurrent, "small_kernels", lambda: True)
    monkeypatch.setattr(recurrent, "ROW_ALIGN", 1)
    monkeypatch.setattr(recurrent, "SMALL_PRODUCT", 12)   # at the check's sizes: blocks of 1-2 rows
    buf = (lstm._Buffers if cell == "lstm" else gru._Buffers)(2, 5, 2, 3, np.float64)
    assert len(buf.fwd_rows if cell == "lstm" else buf.rz_rows) > 1
    check_gradients(rng, cell, stateful)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_products_in_row_blocks_equal_whole_products(rng, monkeypatch, cell):
    import trainer.layers.recurrent as recurrent
    N, T, D, H = 4, 6, 3, 8
    layer_class, k = (lstm.TimeLSTM, 4) if cell == "lstm" else (gru.TimeGRU, 3)
    Wx, Wh = rng.standard_normal((D, k * H)), rng.standard_normal((H, k * H)) * 0.4
    b = rng.standard_normal(k * H) * 0.5
    xs, dhs = rng.standard_normal((N, T, D)), rng.standard_normal((N, T, H))
    monkeypatch.setattr(recurrent, "small_kernels", lambda: True)
    results = []
    for bound, align in ((recurrent.SMALL_PRODUCT, recurrent.ROW_ALIGN), (200, 1)):
        monkeypatch.setattr(recurrent, "SMALL_PRODUCT", bound)
        monkeypatch.setattr(recurrent, "ROW_ALIGN", align)
        layer = layer_class(Wx.copy(), Wh.copy(), b.copy())
        results.append([layer.forward(xs).copy(), layer.backward(dhs), layer.dh.copy()]
                       + [g.copy() for g in layer.grads])
        blocks = layer._fwd.fwd_rows if cell == "lstm" else layer._fwd.rz_rows
        assert (len(blocks) > 1) == (bound == 200)
    for split, whole in zip(results[1], results[0]):
        np.testing.assert_allclose(split, whole, rtol=1e-12, atol=1e-13)


def test_small_kernels_is_read_from_numpys_openblas(monkeypatch):
    import threadpoolctl

    import trainer.layers.recurrent as recurrent
    infos = [{"internal_api": "openblas", "architecture": "Haswell", "filepath": "/x/scipy/libopenblas.so"},
             {"internal_api": "openblas", "architecture": "SkylakeX", "filepath": "/x/numpy.libs/libopenblas.so"}]
    for listed, expected in ((infos, True), (infos[:1], False), (infos[::-1][:1], True),
                             ([{"internal_api": "mkl", "architecture": None}], False)):
        monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda listed=listed: listed)
        recurrent.small_kernels.cache_clear()
        assert recurrent.small_kernels() is expected
    recurrent.small_kernels.cache_clear()
