"""Running a trained model over held-out data: scores, one-step predictions, free-running generation."""
import numpy as np

from rnn_trainer_datasets.base import sequences_right

EVAL_CHUNK = 500   # stream steps per forward call when reading a long stream (bounds memory)
EVAL_BATCH = 256   # episodes per forward call


def _batch(x):
    """One stream (L, ...) as a batch of one row: (1, L) ids or (1, L, D) values."""
    return np.asarray(x)[None]


def predict_stream(model, x):
    """Head outputs over a whole stream, read statefully from a zero state: (L, O)."""
    model.rnn.reset_state()
    out = [model.predict(_batch(x[i:i + EVAL_CHUNK]))[0].copy() for i in range(0, len(x), EVAL_CHUNK)]
    model.rnn.reset_state()
    return np.concatenate(out)


def evaluate(model, task):
    """The validation figures: {"val_loss", "val_<metric>"} and, for each extra validation
    set of an episode task, "val_<set>_loss" and "val_<set>_<metric>"."""
    if not task.episodes:
        loss, metric = _pooled(model, _stream_chunks(task.val_x, task.val_y))
        return {"val_loss": loss, f"val_{task.metric}": metric}
    loss, metric = _pooled(model, _episode_chunks(task.val))
    out = {"val_loss": loss, f"val_{task.metric}": metric}
    for name, batch in task.extra_val.items():
        loss, metric = _pooled(model, _episode_chunks(batch))
        out[f"val_{name}_loss"], out[f"val_{name}_{task.metric}"] = loss, metric
    return out


def _stream_chunks(x, y):
    """The stream read as one long sequence: the state is carried from chunk to chunk."""
    model_reset = True
    for i in range(0, len(x), EVAL_CHUNK):
        yield _batch(x[i:i + EVAL_CHUNK]), _batch(y[i:i + EVAL_CHUNK]), None, None, model_reset
        model_reset = False


def _episode_chunks(batch):
    for i in range(0, len(batch.x), EVAL_BATCH):
        s = slice(i, i + EVAL_BATCH)
        yield batch.x[s], batch.y[s], batch.mask[s], batch.score_mask[s], True


def _pooled(model, chunks):
    """(loss, metric) pooled over chunks, each weighted by what it scores."""
    loss_sum = loss_n = metric_sum = metric_n = 0.0
    for x, y, mask, score_mask, reset in chunks:
        if reset:
            model.rnn.reset_state()
        loss = model.forward(x, y, mask)
        n = float(mask.sum()) if mask is not None else float(np.prod(np.shape(x)[:2]))
        loss_sum += loss * n
        loss_n += n
        total, count = model.score(y, score_mask)
        metric_sum += total
        metric_n += count
    model.rnn.reset_state()
    return loss_sum / max(loss_n, 1.0), metric_sum / max(metric_n, 1.0)


def free_run(model, warm_x, steps):
    """Read warm_x (L, D) statefully, then feed each prediction back as the next input.

    Returns the `steps` generated values (steps, D); only for value streams.
    """
    model.rnn.reset_state()
    y = model.predict(_batch(warm_x))[:, -1:].copy()     # (1, 1, D)
    out = np.empty((steps, warm_x.shape[1]), dtype=y.dtype)
    for i in range(steps):
        out[i] = y[0, 0]
        y = model.predict(y).copy()
    model.rnn.reset_state()
    return out


def predict_episodes(model, batch):
    """Head outputs for every episode of a Batch, each from a zero state: (N, T, O)."""
    return predict_batch(model, batch.x)


def predict_batch(model, xs):
    """Head outputs for rows xs ((N, T) ids or (N, T, D) values), each from a zero state."""
    out = []
    for i in range(0, len(xs), EVAL_BATCH):
        model.rnn.reset_state()
        out.append(model.predict(xs[i:i + EVAL_BATCH]).copy())
    model.rnn.reset_state()
    return np.concatenate(out)


def generate(model, task, steps, temperature=0.0, rng=None, warm=None):
    """Continue the task's validation stream after reading its first `warm` steps, the model
    fed its own outputs: values (steps, D), or token ids (steps,) sampled from
    softmax(logits / temperature) with `rng` (argmax at temperature 0)."""
    from trainer.errors import BadInput
    if task.episodes:
        raise BadInput(f"generate continues a stream, and {task.name!r} is a task of independent "
                       "episodes; evaluate it with 'train eval'")
    if steps < 1:
        raise BadInput(f"steps: expected at least 1, got {steps}")
    warm = warm or min(100, len(task.val_x) // 2)
    if not task.input_tokens:
        return free_run(model, task.val_x[:warm], steps)
    if temperature > 0 and rng is None:
        raise ValueError("sampling at a temperature above 0 needs a generator")
    model.rnn.reset_state()
    logits = model.predict(_batch(task.val_x[:warm]))[0, -1]      # (V,)
    out = np.empty(steps, dtype=np.int64)
    for i in range(steps):
        out[i] = _pick(logits, temperature, rng)
        logits = model.predict(np.array([[out[i]]]))[0, -1]
    model.rnn.reset_state()
    return out


def _pick(logits, temperature, rng):
    """The next token: argmax at temperature 0, else a draw from softmax(logits / temperature)."""
    if temperature == 0:
        return int(np.argmax(logits))
    with np.errstate(over="ignore", invalid="ignore"):
        z = np.asarray(logits, np.float64) / temperature
    if not np.isfinite(z).all():   # a temperature so small (1e-310) the logits overflow:
        return int(np.argmax(logits))   # the limit of the distribution is the argmax
    p = np.exp(z - z.max())
    return int(rng.choice(len(p), p=p / p.sum()))


def task_view(model, task, steps=None, shown=8):
    """The arrays a task view draws (plotting never runs a model): a dict with "kind" and
    "task" (the task's name), "metric" and "baseline_name", and per kind:

    values (value stream): truth, one_step (L,), generated (steps + 1,), start (where
        generation starts; `steps` generated steps, default 200);
    tokens (token stream): truth, predicted (L,) token ids over the first `steps` (120);
    answers (regression episodes): true, predicted (N,) answers at the scored steps;
    episode_tokens (classification episodes): inputs (shown, T) of the first `shown`
        episodes (token ids or the first input channel), cols (C,) the scored steps,
        true, predicted (shown, C) token ids there;
    strings (multilabel episodes, aⁿbⁿ): sets, a list of {name, beyond (past the training
        range), n (S,), right (S,) bool}; a string S aⁿbⁿ scores 2n + 1 steps.
    """
    head = {"task": task.name, "metric": task.metric, "baseline_name": task.baseline_name}
    if task.episodes:
        return {**head, **_episode_view(model, task, shown)}
    if task.input_tokens:
        span = min(steps or 120, len(task.val_x))
        return {**head, "kind": "tokens", "truth": np.asarray(task.val_y[:span]),
                "predicted": predict_stream(model, task.val_x[:span]).argmax(axis=1)}
    steps = steps or 200
    warm = min(100, len(task.val_x) // 2)
    span = min(warm + steps, len(task.val_x))
    # reading x[:warm] predicts y[warm - 1]; from there on the model reads its own outputs
    return {**head, "kind": "values", "truth": task.val_y[:span, 0],
            "one_step": predict_stream(model, task.val_x[:span])[:, 0],
            "generated": free_run(model, task.val_x[:warm], steps + 1)[:, 0],  # may run past the data
            "start": warm - 1}


def _episode_view(model, task, shown):
    val = task.val
    if task.kind == "regression":
        m = val.mask > 0
        return {"kind": "answers", "true": val.y[m][:, 0],
                "predicted": predict_episodes(model, val)[m][:, 0]}
    if task.kind == "classification":
        shown = min(shown, len(val.x))
        first = type(val)(*(a[:shown] for a in val))
        cols = np.flatnonzero(first.score_mask.any(axis=0))     # the scored steps
        x = np.asarray(first.x)
        inputs = x if x.ndim == 2 else x[..., 0]
        return {"kind": "episode_tokens", "inputs": inputs, "cols": cols,
                "scored": first.score_mask[:, cols] > 0, "true": first.y[:, cols],
                "predicted": predict_episodes(model, first).argmax(axis=2)[:, cols]}
    sets = []
    anbn = task.name == "anbn"   # its strings by n; any other task's by length
    for name, batch, beyond in [("training range", val, False)] + \
            [(f"{k} (beyond training)", b, True) for k, b in task.extra_val.items()]:
        right = sequences_right(predict_episodes(model, batch) > 0, batch.y, batch.mask)
        steps = batch.mask.sum(axis=1).astype(int)
        sets.append({"name": name, "beyond": beyond, "n": (steps - 1) // 2 if anbn else steps + 1,
                     "right": right})
    axis = "n (the string S aⁿbⁿ" if anbn else "string length (symbols"
    return {"kind": "strings", "sets": sets,
            "axis": axis + ("; shaded: longer than any training string)" if task.extra_val else ")")}
