"""The task's metric as SequenceModel.score pools it: over the score mask, not the loss's steps."""
import numpy as np
import pytest

from trainer.layers import TimeAffine, TimeRNN
from trainer.layers.losses import TimeMSE
from trainer.model.network import SequenceModel


def regression_model(rng):
    rnn = TimeRNN(rng.standard_normal((3, 5)), rng.standard_normal((5, 5)) / 3, np.zeros(5))
    head = TimeAffine(rng.standard_normal((5, 2)), rng.standard_normal(2))
    return SequenceModel([rnn, head], TimeMSE(), "regression", rnn)


def test_regression_metric_is_the_mse_over_the_scored_steps_only(rng):
    model = regression_model(rng)
    xs, ts = rng.standard_normal((4, 6, 3)), rng.standard_normal((4, 6, 2))
    ts[:, -2:] += 5.0                       # the scored steps are the badly predicted ones
    score_mask = np.zeros((4, 6))
    score_mask[:, -2:] = 1                  # scores 8 steps; the loss counts all 24
    loss = model.forward(xs, ts)            # as the loop: the loss over every step ...
    total, count = model.score(ts, score_mask)  # ... the metric over the scored ones
    ys = model.ys
    want = ((ys - ts) ** 2)[:, -2:].mean()
    assert count == 8
    assert total / count == pytest.approx(want, rel=1e-12)
    assert abs(total / count - loss) > 1.0  # not the loss over all steps (what it reported before)


def test_regression_metric_without_a_score_mask_is_the_loss_exactly(rng):
    model = regression_model(rng)
    xs, ts = rng.standard_normal((4, 6, 3)), rng.standard_normal((4, 6, 2))
    loss = model.forward(xs, ts)
    total, count = model.score(ts)
    assert count == 24 and total / count == loss
