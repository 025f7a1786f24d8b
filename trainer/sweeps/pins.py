"""A sweep pins every plug-in it trains (the base config's and each swept value's) by the sha256
of its source: plugins.json in the sweep directory, and each run's own config.toml [plugins].
Running the sweep again with a plug-in whose source changed since is refused in one line naming
the plug-in, both sha256 and the runs it would mix: runs of two codes under one sweep would be
pooled by `train table` as seeds of one setting. (Train the changed sweep under a new name:
--name, or name= in Python.)
"""
import json
from pathlib import Path

from trainer.config.load import ConfigError
from trainer.errors import one_line
from trainer.plugins.pinning import is_sha
from trainer.rundir.layout import PINS


def current_sources(points):
    """{(kind, spec): sha256} of the plug-ins the points train with, as their sources are now."""
    out = {}
    for p in points:
        for kind, record in p.cfg.plugins.items():
            if record.get("sha256"):
                out[(kind, record["spec"])] = record["sha256"]
    return out


def check(points, sweep_dir):
    """ConfigError (one line) when a plug-in the points train with has another source than the
    one this sweep's runs (or its pins) trained with."""
    sweep_dir = Path(sweep_dir)
    current = current_sources(points)
    if not current or not sweep_dir.is_dir():
        return
    earlier = {}   # (kind, spec) -> {sha256: [runs]}: the pins' and the runs' sources
    for (kind, spec), sha in _pinned(sweep_dir).items():
        earlier.setdefault((kind, spec), {}).setdefault(sha, [])
    for p in points:
        for kind, record in _trained_with(sweep_dir / p.name).items():
            earlier.setdefault((kind, record["spec"]), {}).setdefault(record["sha256"], []).append(p.name)
    for (kind, spec), sha in current.items():
        old = {s: runs for s, runs in earlier.get((kind, spec), {}).items() if s != sha}
        if not old:
            continue
        old_sha, runs = max(old.items(), key=lambda item: len(item[1]))
        uses = [p.name for p in points if p.cfg.plugins.get(kind, {}).get("spec") == spec]
        fresh = [n for n in uses if n not in {r for rs in old.values() for r in rs}]
        shown = ", ".join(runs[:3]) + (f" and {len(runs) - 3} more" if len(runs) > 3 else "")
        trained = (f"{len(runs)} run{'s' if len(runs) != 1 else ''} trained with the old source "
                   f"({shown})" if runs else "the sweep was pinned to the old source")
        raise ConfigError(one_line(
            f"{sweep_dir}: the {kind} plug-in {spec} has changed since this sweep trained with it "
            f"(sha256 {old_sha} -> {sha}): {trained}, {len(fresh)} to run would train with the "
            "new one, and a table would pool them as one setting; restore the plug-in, or train "
            "the changed sweep under a new name (--name, or name= in Python)"))


def write(points, sweep_dir):
    """Add the points' plug-ins to the sweep's pins (check() has refused any changed one)."""
    from trainer.sweeps.results import atomic_write_text
    pins = {**_pinned(Path(sweep_dir)), **current_sources(points)}
    data = {"pins": [{"kind": k, "spec": s, "sha256": sha} for (k, s), sha in sorted(pins.items())]}
    atomic_write_text(Path(sweep_dir) / PINS, json.dumps(data, indent=2) + "\n")


def _pinned(sweep_dir):
    """{(kind, spec): sha256} of the sweep's plugins.json, read as untrusted (never through a
    symbolic link; a malformed file is refused in one line, not taken as no pins)."""
    from trainer.rundir.safe_io import read_nofollow
    path = sweep_dir / PINS
    try:
        data = json.loads(read_nofollow(path, 10 ** 7).decode("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: unreadable ({one_line(str(e))}); it pins the sweep's plug-ins: "
                          "remove it only if the runs' plug-ins are as they were") from None
    pins = data.get("pins") if isinstance(data, dict) else None
    if not isinstance(pins, list) or not all(
            isinstance(p, dict) and isinstance(p.get("kind"), str) and isinstance(p.get("spec"), str)
            and is_sha(p.get("sha256")) for p in pins):
        raise ConfigError(f"{path}: expected {{\"pins\": [{{kind, spec, sha256}}, ...]}}")
    return {(p["kind"], p["spec"]): p["sha256"] for p in pins}


def _trained_with(run_path):
    """{kind: record} of a run's config.toml [plugins] with a spec and a sha256 (none when the
    run has no readable config: that is check_same_config's to say)."""
    from trainer.config import tomlio
    from trainer.rundir.layout import CONFIG
    path = Path(run_path) / CONFIG
    if not path.is_file() or path.is_symlink() or Path(run_path).is_symlink():
        return {}
    try:
        table = tomlio.read(path, "run config").get("plugins")
    except (OSError, ValueError):
        return {}
    if not isinstance(table, dict):
        return {}
    return {k: r for k, r in table.items() if isinstance(r, dict) and isinstance(r.get("spec"), str)
            and is_sha(r.get("sha256"))}
