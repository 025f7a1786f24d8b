"""What a record pins: the sha256 of each plug-in's source a run (or a sweep) trained with, and
which of those sources have changed since. Only reads and hashes the files the records name,
never imports them: `ls`, `report` and `table` use it on run files, which are untrusted (a
record naming a device, a fifo or a huge file is passed over, not read)."""
import hashlib
import os
import stat

MAX_SOURCE = 10 ** 7          # bytes: a plug-in's source larger than this is not hashed
_HEX = set("0123456789abcdef")


def current_sha(record):
    """The sha256 of the source file a plug-in record names, as it is now; None when there is
    none to hash (a Python object, a missing, special or huge file, a malformed record)."""
    if not isinstance(record, dict) or record.get("origin") not in ("file", "module", "entry point"):
        return None
    path = record.get("file")
    if not isinstance(path, str) or not path or "\0" in path:
        return None
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_SOURCE:
            return None
        with open(path, "rb") as f:
            return hashlib.sha256(f.read(MAX_SOURCE + 1)).hexdigest()
    except (OSError, ValueError):
        return None


def is_sha(value):
    return isinstance(value, str) and len(value) == 64 and set(value) <= _HEX


def changed(records):
    """[(kind, spec, sha256 recorded, sha256 now)] of the plug-ins in `records` (a summary's or
    config's `plugins`: {kind: record}) whose source file has changed since."""
    out = []
    for kind, record in (records.items() if isinstance(records, dict) else ()):
        if not isinstance(record, dict) or not is_sha(record.get("sha256")):
            continue
        now = current_sha(record)
        if now is not None and now != record["sha256"]:
            spec = record.get("spec") if isinstance(record.get("spec"), str) else "?"
            out.append((str(kind), spec, record["sha256"], now))
    return out


def warnings(changes, what="was trained"):
    """One line per changed plug-in, from {(kind, spec, old, new): [run names]}: naming both
    sha256 and the runs (the first three, then how many more)."""
    lines = []
    for (kind, spec, old, new), runs in changes.items():
        shown = ", ".join(map(str, runs[:3])) + (f" and {len(runs) - 3} more" if len(runs) > 3 else "")
        lines.append(f"warning: the {kind} plug-in {spec} has changed since {shown} {what} (sha256 "
                     f"{old} -> {new}); shown as recorded, from the old source")
    return lines
