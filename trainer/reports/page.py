"""report.html and its plotly.js, written into one folder that works offline from file://.

The page holds its data as JSON and draws it with plotly.js, which is written once beside
it (never fetched from the network); each run's task view PNG is copied into img/ while the
images stay within IMAGE_BUDGET. `Report` keeps what it read, so a sweep can rewrite its
report after every finished run by reading only the runs that changed.
"""
import base64
import hashlib
import html
import json
import math
import os
import re
import shutil
import time
from pathlib import Path

from trainer.rundir import collect
from trainer.reports import figures
from trainer.rundir.collect import TASK_PNG
from trainer.rundir.layout import METRICS, SUMMARY, safe_prefix
from trainer.rundir.safe_io import atomic_write
from trainer.reports.template import SCRIPT, STYLE, TEMPLATE
from trainer.rundir.layout import RESULTS

PAGE, PLOTLY_JS, IMAGES = "report.html", "plotly.min.js", "img"
# the page runs its own script (by hash) and plotly.min.js from its folder, nothing else: no
# inline script a run name could plant, no network; plotly styles its charts inline
CSP = ("default-src 'none'; script-src 'self' 'sha256-"
       + base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
       + "'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
       "connect-src 'none'; base-uri 'none'; form-action 'none'; object-src 'none'")
IMAGE_BUDGET = 3_000_000   # bytes of task-view PNGs copied into a report; the rest are named
FINAL_COLS = ("train_loss", "val_loss")


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
        self.cache = {}   # run path -> (mtime, record)

    def write(self, live=False):
        """Write the folder; returns (path of report.html, notes on skipped paths)."""
        runs, notes, sweeps = collect.find_runs(self.paths)
        out_resolved = self.out.resolve()
        runs = [r for r in runs if not r.resolve().is_relative_to(out_resolved)]
        records = []
        for run, label in zip(runs, collect.labels(runs)):
            key = str(run)
            stamp = _stamp(run)
            if key not in self.cache or self.cache[key][0] != stamp:
                self.cache[key] = (stamp, collect.record(run, label))
            records.append(self.cache[key][1])
        _own_folder(self.out, parents=True)
        _copy_if_changed(plotly_js_path(), self.out / PLOTLY_JS)
        images = _copy_images(records, self.out / IMAGES)
        data = build(records, sweeps, self.title or _title(self.paths, sweeps), live, notes, images)
        from trainer.reports import study   # a `train tune` directory: its study view
        found, said = study.charts(self.paths)
        data["charts"] += found
        data["notes"] += said
        parts = {"CSP": CSP, "TITLE": html.escape(data["title"]), "DATA": _json(data),
                 "SCRIPT": SCRIPT, "STYLE": STYLE}
        # one pass: a run named __SCRIPT__ (or a value holding __STYLE__) stays text in the data
        text = re.sub(r"__(CSP|TITLE|DATA|SCRIPT|STYLE)__", lambda m: parts[m[1]], TEMPLATE)
        # a temporary of its own, never one planted there (a symlink is replaced, not followed):
        # a person watching never sees half a page
        atomic_write(self.out / PAGE, lambda f: f.write(text.encode("utf-8")), durable=False)
        return self.out / PAGE, notes


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


def _title(paths, sweeps):
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
    plotly.js filling it, even for a moment, made a sweep's runs fail beside it."""
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


def _yes_no(v):
    return {True: "yes", False: "no"}.get(v)


def _clean(v):
    return v if not isinstance(v, float) or math.isfinite(v) else None


def state(records, sweeps, live):
    """What the page says about progress: finished, or still going."""
    counts = {}
    for r in records:
        s = r["summary"].get("status", "no summary")
        counts[s] = counts.get(s, 0) + 1
    planned = sum(_planned(s) for s in sweeps)
    parts = [", ".join(f"{n} {s}" for s, n in sorted(counts.items()))] if counts else []
    if planned > len(records):
        parts.append(f"{planned - len(records)} of the sweep's {planned} runs not started")
    text = "; ".join(parts) or "no runs yet"
    running = counts.get("running", 0)
    if live:
        return f"still going (the sweep is running): {text}", True
    if running:
        ages = [time.time() - r["mtime"] for r in records if r["summary"].get("status") == "running" and r["mtime"]]
        ago = f", last update {min(ages):.0f} s before this report" if ages else ""
        return f"still going ({running} running{ago}): {text}", True
    if not records:   # a sweep that has not finished a run yet: nothing to call finished
        return text, False
    return f"finished: {text}", False


def _planned(sweep_dir):
    try:
        with open(Path(sweep_dir) / RESULTS) as f:
            return max(sum(1 for _ in f) - 1, 0)
    except OSError:
        return 0


def build(records, sweeps, title, live, notes, images):
    """Everything the page shows, as JSON-ready data."""
    metric = figures.metric_of(records)
    mcol = f"val_{metric}"
    swept = list(dict.fromkeys(k for s in sweeps for k in collect.swept_keys(s)))
    differing = [k for k in dict.fromkeys(k for r in records for k in r["config"])
                 if k != "train.seed" and len({json.dumps(r["config"].get(k)) for r in records}) > 1]
    keys = swept or differing
    groups = figures.group(records, keys) if keys else [(r["label"], [i]) for i, r in enumerate(records)]
    by = ""
    if len(groups) > figures.MAX_GROUPS and keys:  # too many to read: group by the key that matters most
        few = [k for k in keys if len({json.dumps(r["config"].get(k)) for r in records}) <= figures.MAX_GROUPS]
        if few:
            shares = figures.variance_explained(records, few, mcol)[0]
            key = max(few, key=lambda k: shares[k])
            groups, by = figures.group(records, [key]), f" grouped by {key} (explains most of {mcol})"
    curved, mixed = figures.one_loss(records)
    if mixed:
        notes = [*notes, mixed]
        groups = figures.group(curved, keys) if keys else \
            [(r["label"], [i]) for i, r in enumerate(curved)]
    charts = [{"id": "curve-train", "spec": figures.curves(curved, groups, "train", by=by)},
              {"id": "curve-val", "spec": figures.curves(curved, groups, "val", by=by)}]
    if metric != "mse":
        charts.append({"id": "curve-metric", "spec": figures.curves(
            curved, groups, "val", column=metric, log=False, by=by)})
    sweep_info = None
    if swept and records:
        from trainer.reports import sweep_figures
        method, params = "grid", {}
        for sweep_dir in sweeps:
            m, p = collect.sweep_params(sweep_dir)
            method, params = (m if m == "random" else method), {**params, **p}
        continuous = sweep_figures.continuous_keys(records, swept, method, params)
        matter, n, used_log = sweep_figures.which_keys_matter(records, swept, mcol, continuous)
        for k in swept:
            spec = params.get(k)
            charts.append({"id": f"final-{k}", "spec": sweep_figures.final_vs(
                records, k, mcol, [o for o in swept if o != k and o != "train.seed"], continuous,
                log_drawn=isinstance(spec, dict) and bool(spec.get("log")), shares=matter["one-way"])})
        if any("target" in r["summary"] for r in records):   # train.target set: time to it
            for k in swept:
                charts.append({"id": f"target-{k}", "spec": sweep_figures.target_vs(records, k)})
        cols = ["val_loss", mcol] if mcol != "val_loss" and metric != "mse" else [mcol]
        charts.append({"id": "parallel", "spec": figures.parallel(records, swept, cols)})
        charts.append({"id": "variance", "spec": sweep_figures.matter_chart(matter, mcol, used_log)})
        sweep_info = {"keys": swept, "shares": matter["one-way"], "two_way": matter["two-way"],
                      "rank": matter["rank"], "continuous": sorted(continuous), "n": n, "log": used_log,
                      "metric": mcol}
    results = None
    if swept and records:   # the sweep's answer first: train table's rows, the same numbers
        from trainer.analysis import results_table
        readable = [(r["config"], r["summary"]) for r in records
                    if r["summary"].get("status") not in ("unreadable", None)]
        table = results_table.build(readable, [k for k in swept if k != "train.seed"])
        results = results_table.as_data(table) if table.groups else None
    finals = list(dict.fromkeys(c for c in (*FINAL_COLS, mcol) if c))
    extra = sorted({k for r in records for k in (r["summary"].get("final") or {})} - set(finals))
    shown_keys = [k for k in differing if k not in ("task.name", "model.cell")]  # columns of their own
    columns = (["run", "status", "task", "cell"] + shown_keys + [f"final {c}" for c in finals + extra]
               + [f"best {mcol}", "best epoch", "baseline val_loss", f"baseline {mcol}", "beats baseline",
                  "target epoch", "steps", "wall_s"])
    rows = []
    for r in records:
        s, cfg = r["summary"], r["config"]
        fin, best, base = s.get("final") or {}, s.get("best") or {}, s.get("baseline") or {}
        rows.append([r["label"], s.get("status", "no summary"), cfg.get("task.name"), cfg.get("model.cell")]
                    + [cfg.get(k) for k in shown_keys] + [_clean(fin.get(c)) for c in finals + extra]
                    + [_clean(best.get(mcol)), best.get("epoch"), _clean(base.get("val_loss")),
                       _clean(base.get(mcol)), _yes_no(s.get("beats_baseline")),
                       (s.get("target") or {}).get("epoch") if isinstance(s.get("target"), dict) else None,
                       s.get("steps"), s.get("wall_s")])
    text, going = state(records, sweeps, live)
    runs = []
    for r in records:
        m = r["metrics"]
        s = dict(r["summary"])
        runs.append({"label": r["label"], "path": r["path"], "config": r["config"],
                     "differs": differing, "summary": s, "env": s.pop("env", None),
                     "train": {k: m["train"].get(k, []) for k in ("step", "loss", "lr")},
                     "val": {k: m["val"].get(k, []) for k in ("step", "epoch", "loss")},
                     "reach": r["reach"], "image": images.get(r["path"]),
                     "image_missing": r["task_png"] if r["task_png"] and images.get(r["path"]) is None else None})
    return {"title": title, "made": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "state": text, "going": going,
            "notes": notes, "metric": mcol, "keys": keys, "swept": bool(swept), "sweep": sweep_info,
            "table": {"columns": columns, "rows": rows}, "charts": charts, "runs": runs,
            "results": results,
            "sources": [str(p) for p in sweeps]}
