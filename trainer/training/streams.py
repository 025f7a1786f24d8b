"""The run's random streams: one SeedSequence(train.seed) spawns an independent generator per
consumer, so a task key never changes the initial weights and a model key never changes the
data."""
import numpy as np

# the consumers of randomness, each with its own child of SeedSequence(train.seed); a new
# consumer goes at the end, so the streams before it stay the same
STREAMS = ("data", "init", "batches", "sample")


def streams(seed):
    """Independent generators, one per consumer: data, initial weights, batch order and
    fresh episodes, sampling in `generate`."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, children)}
