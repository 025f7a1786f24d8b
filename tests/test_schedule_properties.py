"""Property-based: the invariants of the learning-rate schedules, for any rates, lengths and
settings. After warmup every rate lies in [min_lr, lr] (constant: lr); step and cosine never rise;
step is constant within an epoch; cosine starts at lr and reaches min_lr at the end; warmup scales
the plain schedule by (s + 1) / warmup and never exceeds it; the plateau rate only falls, by one
factor of decay per `patience` epochs without improvement, and its state restores it exactly."""
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainer.optim.schedules import KINDS, Schedule

rates = st.floats(1e-6, 10.0)
fractions = st.floats(0.0, 1.0)


@st.composite
def schedules(draw, kinds=KINDS):
    lr = draw(rates)
    per_epoch = draw(st.integers(1, 20))
    return dict(kind=draw(st.sampled_from(kinds)), lr=lr, total_steps=per_epoch * draw(st.integers(1, 30)),
                steps_per_epoch=per_epoch, warmup=draw(st.integers(0, 30)),
                min_lr=lr * draw(fractions), decay=draw(st.floats(0.01, 1.0)),
                decay_every=draw(st.integers(1, 5)), patience=draw(st.integers(1, 4)))


def _within(x, low, high):
    return low * (1 - 1e-12) <= x <= high * (1 + 1e-12)


@settings(max_examples=150, deadline=None)
@given(kw=schedules(("constant", "step", "cosine")))
def test_every_rate_after_warmup_lies_between_min_lr_and_lr_and_never_rises(kw):
    s = Schedule(**kw)
    after = [s.rate(k) for k in range(kw["warmup"], max(kw["total_steps"], kw["warmup"] + 1))]
    low = kw["lr"] if kw["kind"] == "constant" else kw["min_lr"]
    assert all(_within(r, low, kw["lr"]) for r in after)
    assert all(b <= a * (1 + 1e-12) for a, b in zip(after, after[1:]))     # non-increasing
    if kw["kind"] == "step":                                              # one rate per epoch
        per, plain = kw["steps_per_epoch"], Schedule(**{**kw, "warmup": 0})
        for k in range(kw["total_steps"]):
            assert plain.rate(k) == plain.rate(k - k % per)
    if kw["kind"] == "cosine":
        plain = Schedule(**{**kw, "warmup": 0})
        assert plain.rate(0) == pytest.approx(kw["lr"], rel=1e-12)   # min_lr + (lr - min_lr): an ulp
        assert plain.rate(kw["total_steps"]) == pytest.approx(kw["min_lr"], rel=1e-9, abs=1e-15)


@settings(max_examples=150, deadline=None)
@given(kw=schedules())
def test_warmup_scales_the_plain_schedule_linearly_and_only_during_warmup(kw):
    s, plain = Schedule(**kw), Schedule(**{**kw, "warmup": 0})
    for k in range(kw["total_steps"] + 2):
        if k < kw["warmup"]:
            assert s.rate(k) == pytest.approx(plain.rate(k) * (k + 1) / kw["warmup"], rel=1e-12)
            assert 0 <= s.rate(k) <= plain.rate(k) and (s.rate(k) > 0) == (plain.rate(k) > 0)
        else:
            assert s.rate(k) == plain.rate(k)


@settings(max_examples=150, deadline=None)
@given(kw=schedules(("plateau",)), improved=st.lists(st.booleans(), max_size=30),
       step=st.integers(0, 10**6))
def test_the_plateau_rate_falls_one_decay_per_patience_epochs_without_improvement(kw, improved, step):
    kw["warmup"] = 0
    s = Schedule(**kw)
    cuts, waited, last = 0, 0, s.rate(step)
    assert last == kw["lr"]
    for better in improved:
        s.epoch_end(better)
        waited = 0 if better else waited + 1
        if waited == kw["patience"]:
            cuts, waited = cuts + 1, 0
        rate = s.rate(step)
        assert rate == max(kw["min_lr"], kw["lr"] * kw["decay"] ** cuts)
        assert _within(rate, kw["min_lr"], last)                            # only falls
        last = rate
        # its state restores it: the same rate now and after the same next epochs
        t = Schedule(**kw)
        t.load_state(s.state())
        assert t.state() == s.state() and t.rate(step) == rate
    assert s.state() == {"reductions": cuts, "waited": waited}


@settings(max_examples=50, deadline=None)
@given(kw=schedules(("constant", "step", "cosine")), improved=st.lists(st.booleans(), max_size=10))
def test_only_the_plateau_schedule_listens_to_validation(kw, improved):
    s, untouched = Schedule(**kw), Schedule(**kw)
    for better in improved:
        s.epoch_end(better)
    assert all(s.rate(k) == untouched.rate(k) for k in range(kw["total_steps"]))
    assert math.isfinite(s.rate(0))
