"""How long a sweep will take, for `train sweep --dry-run`: each distinct config (its seeds
aside) timed from past runs of the same config under the runs folder when there are some,
else from a short measured stretch of its training (a few steps and one validation), then
spread over the workers. Past runs are read as untrusted files: a run that cannot be read is
not used."""
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

MEASURE_S = 0.3          # training measured per config without past runs
MAX_MEASURED = 6         # configs measured at most; the others are taken as their mean
MAX_PAST = 2000          # run directories read at most, so a huge runs folder stays quick


@dataclass
class Estimate:
    """Seconds of training for each point, how each was found, and the wall time on workers."""

    seconds: dict        # point name -> estimated seconds of its run
    past: int            # configs timed from past runs
    measured: int        # configs timed by a measured stretch
    runs_used: int       # past runs read for the estimate
    guessed: int = 0     # configs neither ran before nor measured: the measured ones' mean

    def wall(self, workers):
        """The sweep's wall time on `workers` processes: each runs its share one after another
        (the longest-first greedy schedule)."""
        loads = [0.0] * max(1, workers)
        for s in sorted(self.seconds.values(), reverse=True):
            loads[loads.index(min(loads))] += s
        return max(loads)


def _key(flat):
    """A run's config without its seed: runs that differ only in seed take about as long."""
    return json.dumps({k: v for k, v in flat.items() if k != "train.seed"}, sort_keys=True,
                      default=str)


def past_runs(runs_dir):
    """{config key: [wall_s, ...]} of the completed runs under runs_dir (its runs and its
    sweeps' runs)."""
    from trainer.rundir.layout import CONFIG, RunDir
    out = {}
    root = Path(runs_dir)
    if not root.is_dir():
        return out
    candidates = [p for d in root.iterdir() if d.is_dir() and not d.is_symlink()
                  for p in ([d] + ([s for s in d.iterdir() if s.is_dir() and not s.is_symlink()]
                                   if not (d / CONFIG).is_file() else []))]
    for path in candidates[:MAX_PAST]:
        if not (path / CONFIG).is_file():
            continue
        run_dir = RunDir(path)
        flat, problem = run_dir.read_flat_config()
        summary = run_dir.read_summary() or {}
        wall = summary.get("wall_s")
        if problem or summary.get("status") != "completed" or isinstance(wall, bool) or \
                not isinstance(wall, (int, float)) or not math.isfinite(wall) or wall < 0:
            continue
        out.setdefault(_key(flat), []).append(float(wall))
    return out


def measure(cfg, seconds=MEASURE_S):
    """The seconds a run of cfg would train: a few steps timed (after one to warm up), times its
    steps, plus one validation timed, times its epochs."""
    from trainer.model.evaluate import evaluate
    from trainer.training.loop import Step
    from trainer.training.run import RunParts
    setup = RunParts(cfg)
    trainer = setup.trainer
    events = trainer.run()
    steps, start = 0, None
    for event in events:
        if not isinstance(event, Step):
            continue
        if start is None:
            start = time.perf_counter()
            continue
        steps += 1
        if time.perf_counter() - start >= seconds or event.step >= trainer.total_steps - 1:
            break
    per_step = (time.perf_counter() - start) / max(steps, 1) if start else 0.0
    events.close()
    t = time.perf_counter()
    evaluate(setup.model, setup.task)
    per_eval = time.perf_counter() - t
    return trainer.total_steps * per_step + trainer.epochs * per_eval


def estimate(points, runs_dir):
    """The Estimate of a sweep's points."""
    past = past_runs(runs_dir)
    keys = {}
    for p in points:
        flat = {f"{s}.{k}": v for s, t in p.cfg.to_dict().items() if s != "plugins"
                for k, v in t.items()}
        keys.setdefault(_key(flat), []).append(p)
    by_key, used = {}, 0
    for key, group in keys.items():
        if past.get(key):
            walls = sorted(past[key])
            by_key[key], used = walls[len(walls) // 2], used + len(walls)
    fresh = [k for k in keys if k not in by_key]
    step = max(1, len(fresh) // MAX_MEASURED)   # spread over the sweep, first to last
    measured = fresh[::step][:MAX_MEASURED]
    for key in measured:
        by_key[key] = measure(keys[key][0].cfg)
    mean = sum(by_key[k] for k in measured) / len(measured) if measured else 0.0
    for key in fresh:
        by_key.setdefault(key, mean)
    seconds = {p.name: by_key[k] for k, group in keys.items() for p in group}
    return Estimate(seconds, len(keys) - len(fresh), len(measured), used,
                    len(fresh) - len(measured))


def describe(seconds):
    """'<1 s', '45 s', '3.2 min', '1.5 h'."""
    if seconds < 1:
        return "<1 s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
