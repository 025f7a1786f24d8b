"""The network: token embedding (token tasks) -> TimeRNN -> TimeAffine head -> loss."""
import numpy as np

from trainer.layers import TimeAffine, TimeEmbedding, TimeRNN
from trainer.losses import TimeMSE, TimeSoftmaxWithLoss


class SequenceModel:
    """A stateful recurrent model over (N, T) token ids or (N, T, D) values.

    `params` and `grads` list every layer's arrays in a fixed order (the
    checkpoint's order); `forward` returns the loss, `backward` fills `grads`.
    """

    def __init__(self, layers, loss, tokens):
        self.layers = layers
        self.rnn = next(layer for layer in layers if isinstance(layer, TimeRNN))
        self.loss_layer = loss
        self.tokens = tokens
        self.params = [p for layer in layers for p in layer.params]
        self.grads = [g for layer in layers for g in layer.grads]
        self.ys = None   # head output of the last forward: (N, T, O)
        self.loss = None  # loss of the last forward

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

    def metric(self, ts):
        """The task's metric on the last forward: accuracy for tokens; for values the
        loss itself, which is the MSE."""
        if self.tokens:
            return float(np.mean(self.ys.argmax(axis=2) == ts))
        return self.loss


def build_model(model_cfg, task, rng):
    """A model sized for `task`, its weights drawn from rng in a fixed order."""
    dtype = np.dtype(model_cfg["dtype"])
    H = model_cfg["hidden"]

    def normal(*shape, scale):
        return (rng.standard_normal(shape) * scale).astype(dtype)

    layers = []
    if task.tokens:
        D = model_cfg["embed"]
        layers.append(TimeEmbedding(normal(task.input_dim, D, scale=1.0)))
    else:
        D = task.input_dim
    layers.append(TimeRNN(normal(D, H, scale=1 / np.sqrt(D)), normal(H, H, scale=1 / np.sqrt(H)),
                          np.zeros(H, dtype), stateful=True))
    layers.append(TimeAffine(normal(H, task.output_dim, scale=1 / np.sqrt(H)),
                             np.zeros(task.output_dim, dtype)))
    loss = TimeSoftmaxWithLoss() if task.tokens else TimeMSE()
    return SequenceModel(layers, loss, task.tokens)
