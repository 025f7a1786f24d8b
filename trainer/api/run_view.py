"""A run as a notebook shows it: its status, final figures against the baseline, steps and
time, and its figures small and inline. Reads the run's files only (as untrusted input: never
through a link, every string escaped for HTML); draws nothing."""
import base64
import html
import math
from pathlib import Path

from trainer.plots.run import LOSS_PNG, REACH_PNG, TASK_PNG
from trainer.rundir.safe_io import read_nofollow

FIGURES = (LOSS_PNG, TASK_PNG, REACH_PNG)
MAX_PNG = 8 << 20            # a run's own figure is tens of KiB; larger is not shown
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def figure_paths(run_path):
    """The run's figures that exist as regular files (links are not followed)."""
    return [Path(run_path) / n for n in FIGURES
            if (Path(run_path) / n).is_file() and not (Path(run_path) / n).is_symlink()]


def _png(path):
    """The figure's bytes as a data URI, or None when it is unreadable or not a PNG."""
    try:
        data = read_nofollow(path, MAX_PNG + 1)
    except OSError:
        return None
    if len(data) > MAX_PNG or not data.startswith(PNG_MAGIC):
        return None
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def images_html(paths, width=320):
    """The figures side by side, each `width` pixels wide, named under it."""
    cells = []
    for p in paths:
        uri = _png(p)
        if uri is not None:
            name = html.escape(Path(p).name)
            cells.append(f'<figure style="margin:0 8px 0 0"><img src="{uri}" width="{width}" '
                         f'alt="{name}"><figcaption style="font-size:smaller">{name}'
                         '</figcaption></figure>')
    return f'<div style="display:flex;flex-wrap:wrap">{"".join(cells)}</div>' if cells else ""


class Figures(list):
    """A run's figure paths that a notebook shows as images."""

    def _repr_html_(self):
        return images_html(self, width=480)


def _num(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "–"
    return f"{value:.4g}"


def run_html(run_path, summary):
    """The HTML of a run for a notebook: name and status, steps and time, a table of the final
    figures beside the baseline's, and the figures inline."""
    summary = summary if isinstance(summary, dict) else {}
    final = summary.get("final") if isinstance(summary.get("final"), dict) else {}
    baseline = summary.get("baseline") if isinstance(summary.get("baseline"), dict) else {}
    status = summary.get("status", "running?")
    name = Path(run_path).name
    head = (f"<b>{html.escape(name)}</b>: {html.escape(str(status))}, "
            f"{_num(summary.get('steps'))} steps in {_num(summary.get('wall_s'))} s")
    beats = summary.get("beats_baseline")
    if isinstance(beats, bool):
        head += f"; {'beats' if beats else 'does not beat'} the baseline"
        base_name = summary.get("baseline_name")
        if isinstance(base_name, str):
            head += f" ({html.escape(base_name)})"
    rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{_num(v)}</td>"
                   f"<td>{_num(baseline.get(k))}</td></tr>" for k, v in final.items())
    table = ("<table><tr><th>final</th><th>run</th><th>baseline</th></tr>" + rows + "</table>"
             if rows else "")
    where = f'<div style="font-size:smaller">{html.escape(str(run_path))}</div>'
    return f"<div>{head}{where}{table}{images_html(figure_paths(run_path))}</div>"
