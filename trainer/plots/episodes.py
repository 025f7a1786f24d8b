"""Task views for episode tasks: what the model answers on validation episodes."""
import numpy as np

from trainer.plots.style import COLORS, pyplot, save


def plot_episodes(model, task, path, shown=8, note=""):
    """regression: predicted vs true answers; classification: true vs predicted tokens on the
    scored steps of a few episodes; multilabel: share of sequences right against their length.
    `note` is appended to the title (which model is shown)."""
    from trainer.evaluate import predict_episodes
    plt = pyplot()
    shown = min(shown, len(task.val.x))
    if task.kind == "regression":
        fig = _answers(plt, task, predict_episodes(model, task.val))
    elif task.kind == "classification":
        first = type(task.val)(*(a[:shown] for a in task.val))
        fig = _tokens(plt, task, predict_episodes(model, first), shown)
    else:
        fig = _strings(plt, task, model)
    fig.axes[0].set_title(fig.axes[0].get_title() + note)
    save(fig, path)


def _answers(plt, task, ys):
    m = task.val.mask > 0
    true, pred = task.val.y[m][:, 0], ys[m][:, 0]
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    lo, hi = min(true.min(), pred.min()), max(true.max(), pred.max())
    ax.plot([lo, hi], [lo, hi], color=COLORS["truth"], lw=1, alpha=0.5, label="perfect")
    ax.axhline(1.0, color=COLORS["base"], ls="--", lw=1, label=task.baseline_name)
    ax.plot(true, pred, ".", color=COLORS["pred"], ms=3, alpha=0.6, label="validation episodes")
    mse = float(np.mean((true - pred) ** 2))
    ax.set(xlabel="true answer", ylabel="predicted", title=f"{task.name}: answers (MSE {mse:.4g})")
    ax.legend(loc="upper left")
    return fig


def _tokens(plt, task, batch_ys, shown):
    val = task.val
    cols = np.flatnonzero(val.score_mask[:shown].any(axis=0))     # the scored steps
    true, pred = val.y[:shown][:, cols], batch_ys.argmax(axis=2)[:, cols]
    fig, ax = plt.subplots(figsize=(max(5.0, 0.45 * len(cols) + 2.5), 0.5 * shown + 1.6))
    grid = np.full((2 * shown, len(cols)), np.nan)
    grid[0::2], grid[1::2] = true, pred
    ax.imshow(grid, cmap="tab10", vmin=-0.5, vmax=9.5, aspect="auto", interpolation="nearest")
    for r in range(2 * shown):
        for c in range(len(cols)):
            wrong = r % 2 and pred[r // 2, c] != true[r // 2, c]
            ax.text(c, r, int(grid[r, c]), ha="center", va="center", fontsize=8,
                    color="white", fontweight="bold" if wrong else "normal")
            if wrong:
                ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, ec="black", lw=2))
    ax.set_yticks(range(2 * shown), [f"{'true' if r % 2 == 0 else 'pred'} {r // 2}"
                                     for r in range(2 * shown)], fontsize=8)
    ax.set_xticks(range(len(cols)), cols, fontsize=8)
    ax.grid(False)
    ax.set(xlabel="scored step", title=f"{task.name}: true vs predicted tokens (wrong ones boxed)")
    return fig


def _strings(plt, task, model):
    from datasets.base import sequences_right
    from trainer.evaluate import predict_episodes
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for name, batch, color in [("training range", task.val, COLORS["pred"])] + \
            [(f"{k} (beyond training)", b, COLORS["gen"]) for k, b in task.extra_val.items()]:
        ys = predict_episodes(model, batch)
        wrong = ~sequences_right(ys > 0, batch.y, batch.mask)
        lengths = batch.mask.sum(axis=1)
        ax.bar(lengths, (~wrong).astype(float), width=1.6, color=color, label=name)
    ax.set_ylim(0, 1.15)
    ax.set_yticks([0, 1], ["wrong", "right"])
    ax.set(xlabel="scored steps in the sequence", title=f"{task.name}: whole sequences right")
    ax.legend(loc="upper right")
    return fig
