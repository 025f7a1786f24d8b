"""The look shared by every figure: colours, a new styled figure, and how a figure is saved.

Figures are made with matplotlib's object API (`Figure` on an Agg canvas), never pyplot:
no backend is switched and no rcParams are changed in the caller's process, so figures
can be drawn from several threads at once. The style is set on each figure and axes.
A run's own figures have fixed margins (`margins`, in inches): constrained layout
costs more than drawing them; other figures use constrained layout (never
tight_layout, which warns). PNGs are written with light compression (zlib level 1):
twice as fast to write, a little larger.
"""
from pathlib import Path

from trainer.rundir.safe_io import atomic_write

COLORS = {"train": "#4C72B0", "val": "#DD8452", "base": "#7F7F7F", "truth": "#222222",
          "pred": "#4C72B0", "gen": "#C44E52", "right": "#55A868", "wrong": "#C44E52"}
DPI = 110


def figure(figsize, nrows=1, ncols=1, margins=None, **subplot_kw):
    """A new figure on the Agg canvas and its axes (an array when squeeze=False or several).

    margins: (left, right, bottom, top, between) in inches for a fixed layout; None for
    constrained layout."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=figsize, dpi=DPI, layout=None if margins else "constrained")
    FigureCanvasAgg(fig)
    if margins:
        (width, height), (left, right, bottom, top, between) = figsize, margins
        axes_width = (width - left - right - (ncols - 1) * between) / ncols
        fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height,
                            top=1 - top / height, wspace=between / axes_width)  # a share of one axes
    axes = fig.subplots(nrows, ncols, **subplot_kw)
    for ax in fig.axes:
        style(ax)
    return fig, axes


def style(ax, grid=True):
    """The house style on one axes: no top or right frame, a light grid behind the data."""
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.set_axisbelow(True)
    if grid:
        ax.grid(True, alpha=0.3)


SUPERSCRIPT = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")


SHORT_LOG_SPAN = 2.0   # decades: a log axis spanning fewer is also labelled at 2 and 5 times each


def log_y(ax):
    """A log-scale y axis labelled at its decades (and at 2 and 5 times each when it spans
    under SHORT_LOG_SPAN decades, where decades alone leave one label or none): no minor ticks,
    whose many tick objects make up a fifth of a run's figure time, and labels as plain text
    (10\u207b\u2075), which matplotlib's default mathtext labels parse anew for every label
    drawn (a fifth of the loss figure's time)."""
    import math

    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    def short(vmin, vmax):
        return 0 < vmin < vmax and math.log10(vmax / vmin) < SHORT_LOG_SPAN

    class DecadesOrSteps(LogLocator):
        def tick_values(self, vmin, vmax):
            self.set_params(subs=(1.0, 2.0, 5.0) if short(*sorted((vmin, vmax))) else (1.0,))
            return super().tick_values(vmin, vmax)

    def label(value, pos=None):   # on a short axis, 0.2 0.5 1 (as wide as 10\u207b\u00b9) where it can
        if short(*sorted(ax.yaxis.get_view_interval())) and 1e-3 <= value < 1e4:
            return f"{value:g}"
        return power_label(value)

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(DecadesOrSteps())
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(label))


def power_label(value, _pos=None):
    """10\u207b\u2075 for 1e-5, 2\u00d710\u00b3 for 2000: a log axis's tick label without mathtext."""
    import math
    if not (value > 0 and math.isfinite(value)):
        return ""
    exponent = math.floor(math.log10(value) + 1e-9)
    mantissa = value / 10.0 ** exponent
    power = "10" + str(exponent).translate(SUPERSCRIPT)
    return power if abs(mantissa - 1) < 1e-6 else f"{mantissa:.3g}\u00d7{power}"


def save(fig, path):
    """Write a figure (legends without an edge, on a light backing: a line under a frameless
    legend ran through its labels). The figure is not kept anywhere: no pyplot registry holds
    it, so it is freed when dropped."""
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + list(fig.legends)
    for legend in legends:
        legend.set_frame_on(True)
        legend.get_frame().set(edgecolor="none", facecolor="white", alpha=0.85)
    # savefig given a path would follow a symlink there: it writes into atomic_write's file
    path = Path(path)
    atomic_write(path, lambda f: fig.savefig(f, format=path.suffix[1:] or "png",
                                             pil_kwargs={"compress_level": 1}), durable=False)
