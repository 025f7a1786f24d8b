"""How the results table reads: aligned text or Markdown for `train table`, display strings
for the report page, and the sentences under it (which group is best, which are not
distinguishable from it). The numbers come from trainer/analysis/results_table.py.
"""
from trainer.analysis.results_table import rows, show


def as_data(table):
    """The table for the report page: header texts, rows of display strings, the sentences."""
    table_rows = rows(table)
    cols = columns(table, table_rows)
    return {"metric": table.metric, "columns": [h for _, h in cols], "keys": len(table.keys),
            "rows": [[c[k] for k, _ in cols] for c in cells(table, table_rows)],
            "sentences": sentences(table, table_rows)}


def sentences(table, table_rows):
    """Plain sentences: which group is best and which are not distinguishable from it (with
    `within`, in each block of the within keys' values)."""
    if table.best is None:
        return ["no group has a finished run yet"]
    if not table.within:
        return _sentences(table, table_rows, range(len(table.groups)), table.best, "")
    out = []
    for block, best in table.block_best.items():
        members = [i for i in range(len(table.groups)) if table.block(i) == block]
        label = ", ".join(f"{k.split('.', 1)[-1]}={show(table.groups[best].values[k])}"
                          for k in table.within)
        out += _sentences(table, table_rows, members, best, f"within {label}: ")
    if any(len(table.groups[best].finals) < 2 for best in table.block_best.values()):
        out.append("one run per group: the intervals are points; add seeds to measure the spread")
    return out


def _sentences(table, table_rows, members, best_index, prefix):
    """The sentences of the groups `members`, compared with the group at best_index."""
    best, br = table.groups[best_index], table_rows[best_index]
    n = len(best.finals)
    fig = _figure_format(table)
    way = "lowest" if table.lower else "highest"
    out = [f"{prefix}best by mean {table.metric} ({way}): {best.label}, {fig(br['mean'])} "
           f"(95% CI {fig(br['ci_low'])} to {fig(br['ci_high'])}, {n} run{'s' * (n != 1)})"]
    close = [(table.groups[i], table_rows[i]) for i in members
             if i != best_index and table_rows[i]["mean"] is not None
             and table_rows[i]["ci_low"] <= br["ci_high"] and br["ci_low"] <= table_rows[i]["ci_high"]]
    for g, r in close:
        seeds = min(len(g.finals), n)
        out.append(f"{prefix}{g.label} is not distinguishable from {best.label} with {seeds} seeds: "
                   f"the 95% intervals overlap (probability of improvement "
                   f"{r['p_improvement_vs_best']:.2f})")
    if n < 2 and not prefix:
        out.append("one run per group: the intervals are points; add seeds to measure the spread")
    return out


def columns(table, table_rows):
    """(column names in order, header text for each)."""
    m = table.metric
    cols = [(k, k) for k in table.keys] + [
        ("runs", "runs"), ("mean", f"{m} mean"), ("range", "min-max"), ("ci", "95% CI of mean"),
        ("beats", "beat baseline"), ("best_epoch_mean", f"best-epoch {m}"),
        ("p_improvement_vs_best", "P(better than best)")]
    if any("target_set" in r for r in table_rows):
        cols += [("target", "reached target"), ("target_median_epochs", "median epochs to target"),
                 (f"target_median_{table.unit}", f"median {table.unit} to target")]
    return cols


def cells(table, table_rows):
    """Each row as the display strings of `columns`."""
    out = []
    fig = _figure_format(table)
    for r in table_rows:
        done = r["mean"] is not None
        c = {k: show(r[k]) for k in table.keys}
        c["runs"] = str(r["runs"]) if r["runs"] == r["finished"] else f"{r['finished']} of {r['runs']}"
        c["mean"] = fig(r["mean"]) if done else "-"
        c["range"] = f"{fig(r['min'])} to {fig(r['max'])}" if done else "-"
        c["ci"] = f"{fig(r['ci_low'])} to {fig(r['ci_high'])}" if done else "-"
        c["beats"] = f"{r['beat_baseline']} of {r['finished']}"
        c["best_epoch_mean"] = fig(r["best_epoch_mean"])
        p = r["p_improvement_vs_best"]
        c["p_improvement_vs_best"] = "best" if done and p is None else _num(p, 2)
        if "target_set" in r:
            c["target"] = f"{r['target_reached']} of {r['target_set']}"
            c["target_median_epochs"] = _num(r["target_median_epochs"])
            c[f"target_median_{table.unit}"] = _num(r[f"target_median_{table.unit}"])
        else:
            c.update(target="-", target_median_epochs="-", **{f"target_median_{table.unit}": "-"})
        out.append(c)
    return out


def as_text(table, markdown=False):
    """The table (aligned text, or a Markdown table) and its sentences."""
    table_rows = rows(table)
    cols = columns(table, table_rows)
    body = cells(table, table_rows)
    heads = [h for _, h in cols]
    grid = [[c[k] for k, _ in cols] for c in body]
    if markdown:
        lines = ["| " + " | ".join(heads) + " |", "|" + "|".join(
            " --- " if i < len(table.keys) else " ---: " for i in range(len(heads))) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in grid]
    else:
        widths = [max(len(h), *(len(r[i]) for r in grid)) if grid else len(h) for i, h in enumerate(heads)]
        fmt = lambda row: "  ".join(  # noqa: E731
            v.ljust(w) if i < len(table.keys) else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths)))
        lines = [fmt(heads).rstrip()] + [fmt(r).rstrip() for r in grid]
    return "\n".join(lines), sentences(table, table_rows)


def _figure_format(table):
    """How the metric's values are shown: accuracies to three decimals (1.000), losses as _num."""
    return (lambda v: "-" if v is None else f"{v:.3f}") if not table.lower else _num


def _num(v, digits=3):
    if v is None:
        return "-"
    if v == 0:
        return "0"
    if abs(v) >= 1e-3 and abs(v) < 1e5:
        return f"{v:.{digits}g}" if abs(v) < 1 else f"{v:.{max(digits, len(str(int(abs(v)))))}g}"
    return f"{v:.{digits - 1}e}"
