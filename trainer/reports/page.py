"""report.html and its plotly.js, written into one folder that works offline from file://.

The page holds its data as JSON (built by trainer/reports/page_data.py) and draws it with
plotly.js, which is written once beside it (never fetched from the network); each run's task
view PNG is copied into img/ while the images stay within IMAGE_BUDGET. `Report` keeps what it read, so a sweep can rewrite its
report after every finished run by reading only the runs that changed.
"""
import base64
import hashlib
import html
import json
import os
import re
import shutil
from pathlib import Path

from trainer.reports import page_data
from trainer.reports.template import SCRIPT, STYLE, TEMPLATE
from trainer.rundir import collect
from trainer.rundir.collect import TASK_PNG
from trainer.rundir.layout import METRICS, SUMMARY, safe_prefix
from trainer.rundir.safe_io import atomic_write

PAGE, PLOTLY_JS, IMAGES = "report.html", "plotly.min.js", "img"
# the page runs its own script (by hash) and plotly.min.js from its folder, nothing else: no
# inline script a run name could plant, no network; plotly styles its charts inline
CSP = ("default-src 'none'; script-src 'self' 'sha256-"
       + base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
       + "'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
       "connect-src 'none'; base-uri 'none'; form-action 'none'; object-src 'none'")
IMAGE_BUDGET = 3_000_000   # bytes of task-view PNGs copied into a report; the rest are named


def plotly_js_path():
    """The plotly.min.js shipped inside the plotly package (found without importing plotly)."""
    import importlib.util
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("plotly is not installed (pip install plotly)")
    return Path(list(spec.submodule_search_locations)[0]) / "package_data" / "plotly.min.js"


class Report:
    """The report of some paths into `out`; write() (re)reads the runs that changed and
    rewrites the page."""

    def __init__(self, paths, out, title=None):
        self.paths, self.out, self.title = [Path(p) for p in paths], Path(out), title
        self.cache = {}   # run path -> (its files' mtimes and sizes, record)

    def write(self, live=False):
        """Write the folder; returns (path of report.html, notes on skipped paths)."""
        runs, notes, sweeps = collect.find_runs(self.paths)
        records = self._records(runs)
        _own_folder(self.out, parents=True)
        _copy_if_changed(plotly_js_path(), self.out / PLOTLY_JS)
        images = _copy_images(records, self.out / IMAGES)
        data = page_data.build(records, sweeps, self.title or _title(self.paths), live,
                               notes, images)
        from trainer.reports import study   # a `train tune` directory: its study view
        found, said = study.charts(self.paths)
        data["charts"] += found
        data["notes"] += said
        text = _page(data)
        # a temporary of its own, never one planted there (a symlink is replaced, not followed):
        # a person watching never sees half a page
        atomic_write(self.out / PAGE, lambda f: f.write(text.encode("utf-8")), durable=False)
        return self.out / PAGE, notes

    def _records(self, runs):
        """The record of each run outside the report folder, read again only when its files
        changed since the last write."""
        out_resolved = self.out.resolve()
        runs = [r for r in runs if not r.resolve().is_relative_to(out_resolved)]
        records = []
        for run, label in zip(runs, collect.labels(runs)):
            key = str(run)
            stamp = _stamp(run)
            if key not in self.cache or self.cache[key][0] != stamp:
                self.cache[key] = (stamp, collect.record(run, label))
            records.append(self.cache[key][1])
        return records


def _page(data):
    """report.html's text: the template with its policy, title, data, script and style."""
    parts = {"CSP": CSP, "TITLE": html.escape(data["title"]), "DATA": _json(data),
             "SCRIPT": SCRIPT, "STYLE": STYLE}
    # one pass: a run named __SCRIPT__ (or a value holding __STYLE__) stays text in the data
    return re.sub(r"__(CSP|TITLE|DATA|SCRIPT|STYLE)__", lambda m: parts[m[1]], TEMPLATE)


def _own_folder(folder, parents=False):
    """Make `folder` (or keep it), refusing one that is a symbolic link: the report writes only
    into folders it owns, never through a link planted in their place (to a run, say)."""
    import errno
    if folder.is_symlink():
        raise OSError(errno.ELOOP, "a symbolic link; a report is never written through one",
                      str(folder))
    folder.mkdir(parents=parents, exist_ok=True)


def _stamp(run):
    out = []
    for name in (SUMMARY, METRICS, TASK_PNG):
        try:
            st = os.stat(run / name)
            out.append((st.st_mtime_ns, st.st_size))
        except OSError:
            out.append(None)
    return tuple(out)


def _title(paths):
    if len(paths) == 1:
        return f"report: {paths[0].resolve().name}"
    return f"report: {len(paths)} paths"


# characters that could end or change a <script> element, escaped inside the JSON strings
# (they never occur outside strings in JSON); json.dumps already escapes controls and U+2028/9
_SCRIPT_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def _json(data):
    """The page's data as strict JSON that is inert inside <script>: a non-finite figure is
    null, and no run name or value can close the element or start markup."""
    from trainer.rundir.summary_check import strict
    clean, _ = strict(json.loads(json.dumps(data, default=_plain)))
    return json.dumps(clean, separators=(",", ":"), allow_nan=False,
                      ensure_ascii=True).translate(_SCRIPT_SAFE)


def _plain(v):
    if hasattr(v, "tolist"):
        return v.tolist()
    return str(v)


def _copy_if_changed(src, dst, mtime=False):
    """Copy src to dst unless a plain file of its size (and, with mtime, no older) is there;
    written to a temporary and renamed, so a symlink planted at dst is replaced, never followed."""
    import stat
    try:
        st = os.lstat(dst)
        same = stat.S_ISREG(st.st_mode) and st.st_size == os.stat(src).st_size and \
            (not mtime or st.st_mtime >= os.stat(src).st_mtime)
    except FileNotFoundError:
        same = False
    if not same:
        _room_for(os.stat(src).st_size, dst)
        with open(src, "rb") as f:
            atomic_write(dst, lambda out: shutil.copyfileobj(f, out), durable=False)


SPARE = 1 << 20   # bytes a copy leaves free: the runs of a sweep write beside its live report


def _room_for(size, dst):
    """Refuse (ENOSPC, before writing a byte) a copy that would fill the disk: half a copy of
    plotly.js filling it, even for a moment, would make the runs of a sweep beside it fail."""
    import errno
    try:
        st = os.statvfs(dst.parent)
    except (OSError, AttributeError):
        return
    free = st.f_bavail * st.f_frsize
    if free < size + SPARE:
        raise OSError(errno.ENOSPC, f"No space left on device ({dst.name} needs {size} bytes, "
                      f"{free} are free)", str(dst))


def _copy_images(records, folder):
    """{run path: relative image path, or None when the budget was used up}."""
    used, out = 0, {}
    for i, r in enumerate(records):
        src = r["task_png"]
        if not src:
            continue
        size = os.stat(src).st_size
        if used + size > IMAGE_BUDGET:
            out[r["path"]] = None
            continue
        used += size
        _own_folder(folder)
        name = f"{i:04d}-{safe_prefix(Path(r['path']).name)[:80]}.png"   # a plain file name
        _copy_if_changed(src, folder / name, mtime=True)
        out[r["path"]] = f"{IMAGES}/{name}"
    return out
