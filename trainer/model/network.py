"""The network: token embedding (token inputs) -> recurrent layer -> TimeAffine head -> loss."""
import numpy as np

from rnn_trainer_datasets.base import sequences_right
from trainer.layers import TimeAffine, TimeEmbedding
from trainer.layers.losses import TimeMSE, TimeSigmoidWithLoss, TimeSoftmaxWithLoss
from trainer.layers.recurrent import Recurrent


class SequenceModel:
    """A recurrent model over (N, T) token ids or (N, T, D) values, with the task's loss.

    `params` and `grads` list every layer's arrays in a fixed order (the
    checkpoint's order); `forward` returns the loss, `backward` fills `grads`;
    `rnn` is the recurrent layer, whose carried state makes the model stateful.
    """

    def __init__(self, layers, loss, kind, rnn):
        self.layers = layers
        self.rnn = rnn     # the recurrent layer, one of `layers`
        self.loss_layer = loss
        self.kind = kind   # "regression", "classification" or "multilabel"
        self.params = [p for layer in layers for p in layer.params]
        self.grads = [g for layer in layers for g in layer.grads]
        self.ys = None     # head output of the last forward: (N, T, O)
        self.loss = None   # loss of the last forward
        self.scorer = None  # a task's own score(outputs, targets, mask) -> (total, count)

    def predict(self, xs):
        """Head output for inputs xs: logits for token tasks, values otherwise."""
        for layer in self.layers:
            xs = layer.forward(xs)
        self.ys = xs
        return xs

    def forward(self, xs, ts, mask=None):
        self.loss = self.loss_layer.forward(self.predict(xs), ts, mask)
        return self.loss

    def backward(self):
        d = self.loss_layer.backward()
        for layer in reversed(self.layers):
            d = layer.backward(d)

    def score(self, ts, mask=None):
        """The task's metric on the last forward as (sum, count), so batches can be pooled.

        regression: the loss (the MSE) per scored step; classification: argmax
        accuracy per scored step; multilabel: whole sequences whose every scored
        step has every label right (outputs thresholded at probability 0.5).
        """
        ys = self.ys
        if self.scorer is not None:   # the task defines its own figure
            return self.scorer(ys, ts, mask)
        N, T = ys.shape[:2]
        count = float(mask.sum()) if mask is not None else float(N * T)
        if self.kind == "regression":  # the MSE over the scored steps, not the loss's steps
            return TimeMSE().forward(ys, ts, mask) * count, count
        if self.kind == "classification":
            right = ys.argmax(axis=2) == ts
            return float(right.sum() if mask is None else (right * mask).sum()), count
        return float(sequences_right(ys > 0, ts, mask).sum()), float(N)


def initial_weights(k, D, H, init, rng, dtype):
    """Wx (D, kH), Wh (H, kH), b (kH,) for a cell of k gates: inputs N(0, 1/D), each gate's
    recurrent block by `init`, zero bias; drawn from rng in a fixed order."""
    Wx = (rng.standard_normal((D, k * H)) / np.sqrt(D)).astype(dtype)
    Wh = np.concatenate([_recurrent_block(init, H, rng) for _ in range(k)], axis=1).astype(dtype)
    return Wx, Wh, np.zeros(k * H, dtype)


def recurrent_layer(model_cfg, D, rng, dtype, cell, tmax=None):
    """The configured cell (`cell`: the config's resolved trainer.plugins.cells.Cell) built with
    the package's initialisation as cell.cls(Wx, Wh, b, stateful=True) and the options it
    declares (Cell.build); `tmax`: the steps chrono initialisation spans when
    model.chrono_tmax is 0."""
    H = model_cfg["hidden"]
    Wx, Wh, b = initial_weights(cell.gates, D, H, model_cfg["init"], rng, dtype)
    if "init_gates" in cell.options:   # an LSTM's gate biases, blocks f, g, i, o
        b[:] = lstm_gate_biases(model_cfg, H, rng, tmax)
    return cell.build(Wx, Wh, b, model_cfg)


def lstm_gate_biases(model_cfg, H, rng, tmax=None):
    """The LSTM's initial bias (4H,) in blocks f, g, i, o: the forget gate's model.forget_bias
    and the others 0; or chrono (Tallec & Ollivier 2018): b_f = log(u), u ~ U[1,
    T_max - 1], b_i = -b_f (T_max: model.chrono_tmax, or `tmax` when that is 0), drawn from a
    child of rng (rng.spawn), which leaves rng's own stream, and so every other weight, as the
    constant initialisation draws it."""
    b = np.zeros(4 * H)
    if model_cfg["init_gates"] == "chrono":
        t_max = model_cfg["chrono_tmax"] or tmax
        if not t_max or t_max < 2:
            raise ValueError(f"chrono initialisation needs model.chrono_tmax >= 2, got {t_max}")
        b[:H] = np.log(rng.spawn(1)[0].uniform(1.0, t_max - 1.0, H))
        b[2 * H:3 * H] = -b[:H]
    else:
        b[:H] = model_cfg["forget_bias"]
    return b


def _recurrent_block(init, H, rng):
    if init == "identity":
        return np.eye(H)
    if init == "orthogonal":
        q, r = np.linalg.qr(rng.standard_normal((H, H)))
        return q * np.sign(np.diag(r))  # uniform over orthogonal matrices
    return rng.standard_normal((H, H)) / np.sqrt(H)


def build_model(model_cfg, task, rng, cell=None, bptt=None):
    """A model sized for `task` around `cell` (the config's resolved cell; by default the
    built-in model_cfg["cell"] names), its weights drawn from rng in a fixed order; `bptt`,
    the training window of a stream task, is the span chrono initialisation expects when
    model.chrono_tmax is 0 (an episode task's is its length)."""
    if cell is None:
        from trainer.plugins import cells
        cell = cells.resolve(model_cfg["cell"])
    dtype = np.dtype(model_cfg["dtype"])
    layers = []
    if task.input_tokens:
        D = model_cfg["embed"]
        layers.append(TimeEmbedding(rng.standard_normal((task.input_dim, D)).astype(dtype)))
    else:
        D = task.input_dim
    rnn = recurrent_layer(model_cfg, D, rng, dtype, cell, getattr(task, "length", None) or bptt)
    if not layers and cell.found is None and isinstance(rnn, Recurrent):
        rnn.input_grad = False   # a built-in layer over the task's values: nothing to send down
    layers.append(rnn)
    H = model_cfg["hidden"]
    layers.append(TimeAffine((rng.standard_normal((H, task.output_dim)) / np.sqrt(H)).astype(dtype),
                             np.zeros(task.output_dim, dtype)))
    loss = {"regression": TimeMSE, "classification": TimeSoftmaxWithLoss,
            "multilabel": TimeSigmoidWithLoss}[task.kind]()
    return SequenceModel(layers, loss, task.kind, rnn)
