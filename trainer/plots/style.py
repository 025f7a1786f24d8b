"""The look shared by every figure: colours, the matplotlib setup, and how a figure is saved."""

COLORS = {"train": "#4C72B0", "val": "#DD8452", "base": "#7F7F7F", "truth": "#222222",
          "pred": "#4C72B0", "gen": "#C44E52"}


def pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"axes.spines.top": False, "axes.spines.right": False,
                         "axes.grid": True, "grid.alpha": 0.3, "legend.frameon": False,
                         "figure.dpi": 110, "font.size": 10})
    return plt


def save(fig, path):
    """Lay out, write and close a figure (closed, so long sweeps do not pile figures up)."""
    import matplotlib.pyplot as plt
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
