"""Issue 23: a sweep's report answers a two-key question (a line per value of the other key,
interaction shares) and draws a random search on its own scale (no categories, no trivial
100% share: a rank correlation instead)."""
import numpy as np
import pytest

from trainer.reports import sweep_figures


def record(i, y, **config):
    return {"label": f"r{i}", "config": config, "summary": {"final": {"val_accuracy": y}}}


def grid(pattern):
    """cell x bptt x 3 seeds, final accuracy pattern(cell, bptt) plus a little seed noise."""
    rng = np.random.default_rng(0)
    out = []
    for cell in ("rnn", "lstm"):
        for bptt in (2, 4, 8, 16):
            for seed in range(3):
                out.append(record(len(out), pattern(cell, bptt) + 1e-3 * rng.standard_normal(),
                                  **{"model.cell": cell, "train.bptt": bptt, "train.seed": seed}))
    return out


def test_a_pure_interaction_is_all_in_the_two_way_share():
    # the LSTM gains from a long truncation, the RNN loses: no key matters alone
    records = grid(lambda cell, bptt: (1 if cell == "lstm" else -1) * (1 if bptt >= 8 else -1) * 0.1 + 0.5)
    matter, n, log = sweep_figures.which_keys_matter(records, ["model.cell", "train.bptt"], "val_accuracy", set())
    assert n == 24 and not log
    assert matter["one-way"]["model.cell"] == pytest.approx(0, abs=1e-3)
    assert matter["one-way"]["train.bptt"] == pytest.approx(0, abs=1e-3)
    assert matter["two-way"]["model.cell × train.bptt"] == pytest.approx(1, abs=1e-3)


def test_additive_keys_have_no_interaction_share():
    records = grid(lambda cell, bptt: 0.5 + (0.1 if cell == "lstm" else 0) + 0.01 * bptt)
    matter, _, _ = sweep_figures.which_keys_matter(records, ["model.cell", "train.bptt"], "val_accuracy", set())
    assert matter["two-way"]["model.cell × train.bptt"] == pytest.approx(0, abs=1e-3)
    assert matter["one-way"]["model.cell"] + matter["one-way"]["train.bptt"] == pytest.approx(1, abs=1e-3)


def test_final_vs_a_key_draws_a_line_per_value_of_the_other_key_in_order():
    records = grid(lambda cell, bptt: 0.9 + 0.005 * bptt)
    spec = sweep_figures.final_vs(records, "model.cell", "val_accuracy", ["train.bptt"], set())
    lines = [t["name"] for t in spec["data"] if t.get("mode") == "lines+markers"]
    assert lines == ["bptt=2", "bptt=4", "bptt=8", "bptt=16"]
    assert "a line per train.bptt" in spec["layout"]["title"]["text"]
    one = sweep_figures.final_vs(records, "train.bptt", "val_accuracy", [], set())
    assert [t["name"] for t in one["data"] if t.get("mode") == "lines+markers"] == ["mean over seeds"]


def test_a_random_search_key_is_continuous_drawn_on_its_log_scale_with_a_rank_correlation():
    rng = np.random.default_rng(1)
    lrs = 10 ** rng.uniform(-4, 0, 40)
    records = [record(i, 0.5 + 0.1 * np.log10(lr), **{"optim.lr": float(lr), "model.hidden": h})
               for i, (lr, h) in enumerate(zip(lrs, [16, 32] * 20))]
    params = {"optim.lr": {"min": 1e-4, "max": 1.0, "log": True}, "model.hidden": [16, 32]}
    continuous = sweep_figures.continuous_keys(records, ["optim.lr", "model.hidden"], "random", params)
    assert continuous == {"optim.lr"}
    matter, _, _ = sweep_figures.which_keys_matter(records, ["optim.lr", "model.hidden"], "val_accuracy",
                                                   continuous)
    assert "optim.lr" not in matter["one-way"] and matter["rank"]["optim.lr"] == pytest.approx(1.0)
    spec = sweep_figures.final_vs(records, "optim.lr", "val_accuracy", ["model.hidden"], continuous,
                                  log_drawn=True)
    assert spec["layout"]["xaxis"]["type"] == "log"
    assert "tickvals" not in spec["layout"]["xaxis"]                     # no label per sampled value
    points, trend = spec["data"][:2]
    assert points["mode"] == "markers" and trend["mode"] == "lines"
    assert trend["x"] == sorted(trend["x"])                              # a trend, not a zigzag
    chart = sweep_figures.matter_chart(matter, "val_accuracy", False)
    assert any("rank correlation" in y for t in chart["data"] for y in t["y"])


def test_epochs_to_target_against_a_key_counts_the_runs_that_missed_it():
    records = [{"label": f"r{i}", "config": {"train.bptt": b}, "summary": {"target": t}}
               for i, (b, t) in enumerate([(2, None), (2, {"epoch": 9}), (8, {"epoch": 3}), (8, {"epoch": 5})])]
    spec = sweep_figures.target_vs(records, "train.bptt")
    points, median = spec["data"]
    assert points["y"] == [9, 3, 5] and median["x"] == [2, 8] and median["y"] == [9.0, 4.0]
    assert "3 of 4 runs reached it; 1 did not" in spec["layout"]["title"]["text"]
