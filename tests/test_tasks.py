"""The task generators: what they emit is what their docstrings and the papers say."""
import numpy as np
import pytest

from rnn_trainer_datasets import TASKS, make_task
from trainer.config.load import ConfigError, from_dict


def task(name, **keys):
    cfg = from_dict({"task": {"name": name, **keys}, "train": {"batch_size": 4, "bptt": 5}})
    return make_task(cfg["task"], np.random.default_rng(0))


def test_every_task_is_a_pure_function_of_config_and_generator():
    for name in TASKS:
        a, b = task(name), task(name)
        for field in ("train_x", "val_x", "val"):
            if hasattr(a, field):
                x, y = getattr(a, field), getattr(b, field)
                for u, v in zip(x if isinstance(x, tuple) else [x], y if isinstance(y, tuple) else [y]):
                    np.testing.assert_array_equal(u, v)
        if a.episodes:
            s1, s2 = a.sample(np.random.default_rng(5), 3), b.sample(np.random.default_rng(5), 3)
            for u, v in zip(s1, s2):
                np.testing.assert_array_equal(u, v)


def test_sine_targets_are_the_next_value():
    t = task("sine", length=100, val_length=20)
    np.testing.assert_array_equal(t.train_y[:-1], t.train_x[1:])
    np.testing.assert_array_equal(t.val_x[0], t.train_y[-1])       # validation continues the stream
    persistence = np.mean((t.val_x - t.val_y) ** 2)
    assert t.baseline["val_mse"] == pytest.approx(persistence)


def test_counting_holds_each_token_repeat_steps():
    t = task("counting", vocab=5, repeat=3, length=60, val_length=30)
    x = np.concatenate([t.train_x, t.val_x])
    changes = np.flatnonzero(np.diff(x))
    assert set(np.diff(changes)) == {3}
    assert set(np.diff(x)[changes] % 5) == {1}
    assert t.baseline["val_accuracy"] == pytest.approx(2 / 3, abs=0.04)


def test_adding_marks_one_value_in_each_half_and_sums_them():
    t = task("adding", length=20, val_size=200)
    b = t.sample(np.random.default_rng(1), 64)
    assert b.x.shape == (64, 20, 2) and b.y.shape == (64, 20, 1)
    marker = b.x[..., 1]
    assert np.all(marker[:, :10].sum(1) == 1) and np.all(marker[:, 10:].sum(1) == 1)
    np.testing.assert_allclose(b.y[:, -1, 0], (b.x[..., 0] * marker).sum(1))
    assert np.all(b.mask[:, :-1] == 0) and np.all(b.mask[:, -1] == 1)
    assert t.baseline["val_mse"] == pytest.approx(1 / 6, abs=0.03)   # always predicting 1


def test_copy_replays_the_first_ten_symbols_after_the_delimiter():
    delay = 7
    t = task("copy", delay=delay)
    b = t.sample(np.random.default_rng(2), 16)
    assert b.x.shape == (16, delay + 20)
    assert np.all((1 <= b.x[:, :10]) & (b.x[:, :10] <= 8))
    assert np.all(b.x[:, 10 + delay - 1] == 9) and np.sum(b.x == 9) == 16   # one delimiter each
    assert np.all(b.x[:, 10:10 + delay - 1] == 0) and np.all(b.x[:, -10:] == 0)
    np.testing.assert_array_equal(b.y[:, -10:], b.x[:, :10])
    assert np.all(b.y[:, :-10] == 0)
    assert np.all(b.mask == 1) and np.all(b.score_mask[:, -10:] == 1) and b.score_mask.sum() == 160
    assert t.baseline["val_loss"] == pytest.approx(10 * np.log(8) / (delay + 20))


def test_parity_target_is_the_xor_at_the_last_step():
    b = task("parity", length=9).sample(np.random.default_rng(3), 50)
    np.testing.assert_array_equal(b.y[:, -1], b.x[:, :, 0].sum(1) % 2)
    assert b.mask[:, -1].all() and not b.mask[:, :-1].any()


def test_anbn_legal_next_symbols():
    t = task("anbn", n_min=2, n_max=3, n_test_max=5)
    v = t.val
    assert len(v.x) == 2 and len(t.extra_val["long"].x) == 2
    # n = 2: S a a b b; after S: a; after a1: a only (n_min = 2); after a2: a or b; after b1: b; after b2: T
    x, y, m = v.x[0], v.y[0], v.mask[0]
    assert list(x[:5]) == [0, 1, 1, 2, 2] and m.sum() == 5
    np.testing.assert_array_equal(y[:5], [[1, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1]])
    assert t.baseline["val_string_accuracy"] == 0.0


def test_episode_task_configs_are_checked():
    with pytest.raises(ConfigError, match="n_min <= n_max <= n_test_max"):
        from_dict({"task": {"name": "anbn", "n_min": 5, "n_max": 3}})
    with pytest.raises(ConfigError, match="train_size"):
        from_dict({"task": {"name": "adding", "train_size": 10}, "train": {"batch_size": 20}})


def test_a_string_is_right_only_if_every_scored_step_has_every_label_right():
    import numpy as np
    from rnn_trainer_datasets.base import sequences_right
    from trainer.layers.losses import TimeSigmoidWithLoss
    from trainer.model.network import SequenceModel
    y = np.zeros((3, 2, 2))
    y[:, :, 0] = 1
    logits = np.where(y > 0.5, 2.0, -2.0)
    logits[1, 1, 1] = 3.0                 # string 1: a wrong label on a scored step
    logits[2, 1, 0] = -1.0                # string 2: wrong only on a step the mask leaves out
    mask = np.array([[1, 1], [1, 1], [1, 0]], dtype=float)
    assert sequences_right(logits > 0, y, mask).tolist() == [True, False, True]
    assert sequences_right(logits > 0, y).tolist() == [True, False, False]
    model = SequenceModel([], TimeSigmoidWithLoss(), "multilabel", rnn=None)
    model.ys = logits
    assert model.score(y, mask) == (2.0, 3.0)


def test_temporal_order_6a_classes_the_order_of_x_and_y_read_at_e():
    t = task("temporal_order", variant="6a", length=100, spread=10, val_size=50)
    b = t.sample(np.random.default_rng(4), 300)
    assert b.x.shape == (300, 110) and t.output_dim == 4
    ends = b.mask.argmax(axis=1)
    assert b.mask.sum() == 300 and ends.min() >= 99 and ends.max() <= 109
    rows = np.arange(300)
    assert np.all(b.x[:, 0] == 6) and np.all(b.x[rows, ends] == 7)
    assert all(np.all(row[e + 1:] == 8) for row, e in zip(b.x, ends))
    # X or Y only in the paper's windows [10, 20] and [50, 60]
    marked = (b.x == 4) | (b.x == 5)
    assert np.all(marked.sum(axis=1) == 2)
    assert np.all(marked[:, 10:21].sum(1) == 1) and np.all(marked[:, 50:61].sum(1) == 1)
    order = [tuple(row[m]) for row, m in zip(b.x, marked)]
    expect = {(4, 4): 0, (4, 5): 1, (5, 4): 2, (5, 5): 3}       # XX, XY, YX, YY
    np.testing.assert_array_equal(b.y[rows, ends], [expect[o] for o in order])
    assert t.baseline["val_accuracy"] == 0.25 and t.baseline["val_loss"] == pytest.approx(np.log(4))


def test_temporal_order_6b_has_three_points_and_eight_classes():
    t = task("temporal_order", variant="6b", length=100, spread=0, val_size=20)
    b = t.sample(np.random.default_rng(5), 200)
    marked = (b.x == 4) | (b.x == 5)
    assert np.all(b.mask[:, 99] == 1) and t.output_dim == 8
    for first, last in ((10, 20), (33, 43), (66, 76)):
        assert np.all(marked[:, first:last + 1].sum(1) == 1)
    assert np.all(marked.sum(1) == 3)
    bits = [(row[m] - 4) for row, m in zip(b.x, marked)]
    np.testing.assert_array_equal(b.y[:, 99], [4 * u + 2 * v + w for u, v, w in bits])


def test_reber_next_symbol_sets_of_a_hand_worked_string():
    from rnn_trainer_datasets import reber
    # B T | B P V V E | T E: the inner string BPVVE, embedded in T
    tokens = [0, 1, 0, 2, 5, 5, 6, 1, 6]
    sets = reber.legal_next(tokens)
    as_letters = ["".join(reber.SYMBOLS[i] for i in np.flatnonzero(row)) for row in sets]
    assert as_letters == ["TP", "B", "TP", "TV", "PV", "E", "T", "E"]


def test_reber_strings_follow_the_grammar_and_repeat_the_outer_letter():
    from rnn_trainer_datasets import reber
    t = task("reber", max_length=20, val_size=40)
    b = t.sample(np.random.default_rng(6), 200)
    lengths = b.mask.sum(axis=1).astype(int) + 1
    assert b.x.shape == (200, 20) and lengths.min() >= 9 and lengths.max() <= 20
    for row, n, labels in zip(b.x, lengths, b.y):
        tokens = list(row[:n])
        assert tokens[0] == 0 and tokens[-1] == 6 and tokens[1] == tokens[-2] in (1, 2)
        assert np.all(row[n:] == 7)
        for k in range(1, n):              # every symbol is one the previous step allowed
            assert labels[k - 1, tokens[k]] == 1
    # the baseline without memory cannot know the repeated letter: no string right
    assert t.baseline["val_string_accuracy"] == 0.0 and t.baseline["val_loss"] > 0


def test_multiplication_multiplies_the_marked_values():
    t = task("multiplication", length=30, val_size=5000)
    b = t.sample(np.random.default_rng(7), 64)
    marker = b.x[..., 1]
    assert np.all(marker[:, :15].sum(1) == 1) and np.all(marker[:, 15:].sum(1) == 1)
    marked = np.where(marker > 0, b.x[..., 0], 1.0)
    np.testing.assert_allclose(b.y[:, -1, 0], marked.prod(axis=1))
    assert t.baseline["val_mse"] == pytest.approx(7 / 144, abs=0.01)   # always 1/4: Var(XY)
