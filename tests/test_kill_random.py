"""The randomized kill test, a few kills of it (scripts/kill_test.py runs hundreds): SIGKILL at
moments spread over a whole run, its first milliseconds and its finishing steps included, each
run resumed (and killed again at random) until completed, identical to the uninterrupted run."""
import os
import random
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import kill_test  # noqa: E402

KILLS = 6


@pytest.mark.slow
def test_random_kills_over_a_whole_run_resume_to_the_uninterrupted_run(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ref, wall = kill_test.reference(tmp_path, env)
    assert ref["status"] == "completed" and len(ref["figures"]) == 3
    rng = random.Random(1)
    landed = []
    for i, delay in enumerate(kill_test.delays(KILLS, wall, rng)):
        first, kills, snap = kill_test.trial(tmp_path, f"r{i}", delay, rng, wall, env)
        assert kill_test.same(snap, ref) is None, (i, delay, first, kill_test.same(snap, ref))
        landed.append(first)
    # one kill in each sixth of the process's life: at least one lands while training goes on
    assert sum(p is not None for p in landed) >= KILLS // 2, landed


def test_where_a_kill_landed_is_read_from_what_it_left(tmp_path):
    assert kill_test.place(tmp_path / "nothing") == "at start"
    (tmp_path / "r").mkdir()
    assert kill_test.place(tmp_path / "r") == "before the first checkpoint"
