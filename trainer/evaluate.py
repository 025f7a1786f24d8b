"""Running a trained model over a stream: scores, one-step predictions, free-running generation."""
import numpy as np

EVAL_CHUNK = 500  # steps per forward call when reading a long stream (bounds memory)


def _batch(x):
    """One stream (L, ...) as a batch of one row: (1, L) ids or (1, L, D) values."""
    return np.asarray(x)[None]


def predict_stream(model, x):
    """Head outputs over a whole stream, read statefully from a zero state: (L, O)."""
    model.rnn.reset_state()
    out = [model.predict(_batch(x[i:i + EVAL_CHUNK]))[0] for i in range(0, len(x), EVAL_CHUNK)]
    return np.concatenate(out)


def evaluate(model, x, y):
    """(loss, metric) over a stream, read statefully from a zero state, as one long sequence."""
    model.rnn.reset_state()
    loss_sum, metric_sum = 0.0, 0.0
    for i in range(0, len(x), EVAL_CHUNK):
        xs, ts = _batch(x[i:i + EVAL_CHUNK]), _batch(y[i:i + EVAL_CHUNK])
        n = xs.shape[1]
        loss_sum += model.forward(xs, ts) * n
        metric_sum += model.metric(ts) * n
    model.rnn.reset_state()
    return loss_sum / len(x), metric_sum / len(x)


def free_run(model, warm_x, steps):
    """Read warm_x (L, D) statefully, then feed each prediction back as the next input.

    Returns the `steps` generated values (steps, D); only for value tasks.
    """
    model.rnn.reset_state()
    y = model.predict(_batch(warm_x))[:, -1:]     # (1, 1, D)
    out = np.empty((steps, warm_x.shape[1]), dtype=y.dtype)
    for i in range(steps):
        out[i] = y[0, 0]
        y = model.predict(y)
    model.rnn.reset_state()
    return out
