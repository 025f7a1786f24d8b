"""Task views for episode tasks, drawn from evaluate.task_view's arrays (never a model)."""
import numpy as np

from trainer.plots.style import COLORS, figure, save


def plot_episodes(view, note, path):
    """answers: predicted vs true answers; episode_tokens: the input of a few episodes and
    true vs predicted tokens on their scored steps; strings: which strings are right, by n.
    `note` is appended to the title (which model is shown)."""
    draw = {"answers": _answers, "episode_tokens": _tokens, "strings": _strings}[view["kind"]]
    fig, title = draw(view)
    fig.suptitle(title + note)
    save(fig, path)


def _answers(view):
    true, pred = view["true"], view["predicted"]
    fig, ax = figure((5.2, 4.6))
    lo, hi = min(true.min(), pred.min()), max(true.max(), pred.max())
    ax.plot([lo, hi], [lo, hi], color=COLORS["truth"], lw=1, alpha=0.5, label="perfect")
    ax.axhline(1.0, color=COLORS["base"], ls="--", lw=1, label=view["baseline_name"])
    ax.plot(true, pred, ".", color=COLORS["pred"], ms=3, alpha=0.6, label="validation episodes")
    mse = float(np.mean((true - pred) ** 2))
    ax.set(xlabel="true answer", ylabel="predicted")
    ax.legend(loc="upper left")
    return fig, f"{view['task']}: answers (MSE {mse:.4g})"


def _grid(ax, rows, labels, boxed=None):
    """Token ids as coloured cells with their value written in; `boxed` cells framed."""
    from matplotlib.patches import Rectangle
    ax.imshow(rows, cmap="tab10", vmin=-0.5, vmax=9.5, aspect="auto", interpolation="nearest")
    for r in range(rows.shape[0]):
        for c in range(rows.shape[1]):
            if np.isnan(rows[r, c]):                     # a step not scored: left blank
                continue
            wrong = boxed is not None and boxed[r, c]
            ax.text(c, r, int(rows[r, c]), ha="center", va="center", fontsize=7,
                    color="white", fontweight="bold" if wrong else "normal")
            if wrong:
                ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, ec="black", lw=2))
    ax.set_yticks(range(rows.shape[0]), labels, fontsize=7)
    ax.grid(False)


def _tokens(view):
    inputs, cols, true, pred = view["inputs"], view["cols"], view["true"], view["predicted"]
    shown, steps = inputs.shape
    width = max(6.0, 0.22 * steps + 2.5, 0.45 * len(cols) + 2.5)
    fig, (top, bottom) = figure((width, 0.3 * shown + 0.5 * shown + 2.6), 2, 1,
                                height_ratios=[0.6 * shown + 1, shown + 1])
    _grid(top, np.rint(inputs).astype(int), [f"episode {i}" for i in range(shown)])
    ticks = range(0, steps, max(1, steps // 20))
    top.set_xticks(ticks, ticks, fontsize=7)
    top.set(xlabel="step", title="input")
    scored = view.get("scored", np.ones(true.shape, bool))   # rows may score different steps
    both = np.empty((2 * shown, len(cols)))
    both[0::2], both[1::2] = np.where(scored, true, np.nan), np.where(scored, pred, np.nan)
    wrong = np.zeros(both.shape, bool)
    wrong[1::2] = (pred != true) & scored
    _grid(bottom, both, [f"{'true' if r % 2 == 0 else 'pred'} {r // 2}" for r in range(2 * shown)],
          wrong)
    bottom.set_xticks(range(len(cols)), cols, fontsize=7)
    right = int(((pred == true) & scored).sum())
    bottom.set(xlabel="scored step", title=f"answers: true vs predicted ({right} of "
                                           f"{int(scored.sum())} right, wrong ones boxed)")
    return fig, f"{view['task']}: input and answers of {shown} validation episodes"


def _strings(view):
    fig, ax = figure((7.5, 3.6))
    all_n = np.concatenate([s["n"] for s in view["sets"]]) if view["sets"] else np.array([1])
    for s in view["sets"]:
        n, right = s["n"], s["right"]
        color = COLORS["gen"] if s["beyond"] else COLORS["pred"]
        if s["beyond"]:
            ax.axvspan(n.min() - 0.5, n.max() + 0.5, color=COLORS["base"], alpha=0.08, lw=0)
        label = f"{s['name']}: {int(right.sum())} of {len(n)} right"
        ax.plot(n[right], np.ones(right.sum()), "o", color=COLORS["right"], ms=8,
                mec=color, mew=1.5, label=label + " (dots)")
        ax.plot(n[~right], np.zeros((~right).sum()), "X", color=COLORS["wrong"], ms=9,
                mec=color, mew=1.0, label=None if right.all() else f"{s['name']}: wrong (crosses)")
    ax.set_ylim(-0.6, 1.6)
    ax.set_yticks([0, 1], ["wrong", "right"])
    every = max(1, int(np.ceil((all_n.max() - all_n.min() + 1) / 25)))   # at most ~25 ticks
    ax.set_xticks(np.arange(all_n.min(), all_n.max() + 1, every))
    ax.set_xlabel(view.get("axis", "n (the string S aⁿbⁿ; shaded: longer than any training string)"))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=2, fontsize=8)
    return fig, f"{view['task']}: whole strings right, by {'n' if view.get('axis', 'n').startswith('n') else 'length'}"
