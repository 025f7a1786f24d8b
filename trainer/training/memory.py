"""Will a run's arrays fit in this machine's memory? Checked before anything is created, so a
config asking for terabytes is refused in one line (exit 2) instead of failing in a half-made
run directory.

The estimate counts the task's arrays (its `footprint`), the parameters with their gradients,
optimizer state and checkpoint copies, and the activations a training window and an evaluation
chunk keep for the backward pass. It is rough (within a small factor): it is there to catch
sizes that cannot work, not to plan a tight fit.
"""
from trainer.errors import ConfigError
from trainer.model.evaluate import EVAL_BATCH, EVAL_CHUNK
OPTIMIZER_SLOTS = {"sgd": 0, "momentum": 1, "rmsprop": 1, "adam": 2}
COPIES = 4  # of the parameters: themselves, gradients, the checkpoint being written, best.npz


def estimate_bytes(cfg, footprint=None):
    """About how many bytes of arrays a run of cfg holds at once; `footprint` (floats, steps,
    width) stands in for the task's own footprint() (a plug-in without one: measured)."""
    floats, steps, width = footprint or _footprint(cfg)
    m, t = cfg["model"], cfg["train"]
    hidden, gates = m["hidden"], cfg.cell.gates
    item = 4 if m["dtype"] == "float32" else 8
    inputs = max(m["embed"], width)
    params = gates * hidden * (inputs + hidden + 1) + (hidden + 1) * width + width * m["embed"]
    per_step = 3 * gates * hidden + 2 * hidden + 3 * width  # kept for the backward pass
    window = t["batch_size"] * (steps or t["bptt"])
    evaluation = EVAL_BATCH * steps if steps else EVAL_CHUNK
    state = params * (COPIES + OPTIMIZER_SLOTS[cfg["optim"]["name"]])
    return 8 * floats + item * (state + (window + evaluation) * per_step)


def _footprint(cfg):
    """The task's footprint(task_cfg), held to its form: (floats >= 0, steps >= 1 or None,
    width >= 1), numbers all; a plug-in's other answer is refused in one line."""
    got = cfg.task.call("footprint", cfg["task"])

    def number(v, low, whole):
        ok = (int,) if whole else (int, float)
        import numpy as np
        return (not isinstance(v, bool) and isinstance(v, ok + (np.integer,) + (() if whole else
                (np.floating,))) and v >= low and v < 1e30)
    if not (isinstance(got, tuple) and len(got) == 3 and number(got[0], 0, False) and
            (got[1] is None or number(got[1], 1, True)) and number(got[2], 1, True)):
        raise ConfigError(f"{cfg.source}: task plug-in {cfg.task.spec}: footprint(task_cfg) "
                          f"returned {got!r:.80}, expected (floats its arrays hold, steps per "
                          "episode or None for a stream, widest input or output)")
    return float(got[0]), None if got[1] is None else int(got[1]), int(got[2])


def available_bytes():
    """Memory a new run may use here: the least of MemAvailable (Linux; physical memory
    elsewhere), the process's address-space limit (`ulimit -v`) and its cgroup's limit."""
    import os
    limits = []
    try:
        with open("/proc/meminfo") as f:
            limits += [int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:")]
    except OSError:
        try:
            limits.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
        except (AttributeError, ValueError, OSError):
            pass
    try:
        import resource
        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            limits.append(soft)
    except (ImportError, OSError, ValueError):
        pass
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            cap = f.read().strip()
        with open("/sys/fs/cgroup/memory.current") as f:
            used = int(f.read().strip())
        if cap != "max":
            limits.append(max(int(cap) - used, 0))
    except (OSError, ValueError):
        pass
    return min(limits) if limits else None


def check_fits(cfg, available=None, footprint=None):
    """ConfigError when cfg's arrays would not fit in the memory available."""
    need = estimate_bytes(cfg, footprint)
    have = available if available is not None else available_bytes()
    if have is not None and need > have:
        raise ConfigError(f"{cfg.source}: the run would need about {_size(need)} of memory for "
                          f"its arrays, more than the {_size(have)} available here; lower "
                          "model.hidden, train.batch_size or the task's sizes")


def _size(n):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"
