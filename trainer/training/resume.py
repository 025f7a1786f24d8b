"""Resuming a run from its checkpoint: what can be resumed, and going on as if it had never
stopped (metrics.csv cut back to the rows the checkpoint counted, the same numbers after)."""
from trainer.config.load import load as load_config
from trainer.errors import RunDirError
from trainer.plugins.source import PluginError
from trainer.rundir.layout import CHECKPOINT, CONFIG, METRICS
from trainer.rundir.writers import check_metrics_rows, keep_metrics_rows
from trainer.training import checkpoint
from trainer.training.run import Hooks, RunParts, run_and_record


class NothingToResume(Exception):
    """The run already finished all its epochs."""


def prepare_resume(run_dir, epochs=None, objects=None, accept_changed_plugin=False):
    """Check a run can be resumed and restore its state, changing nothing on disk.

    Returns the run's RunParts, restored to the checkpoint's position and metrics.csv row
    count (a run stopped before its first checkpoint: a fresh start). With `epochs`, the run is
    extended (or a shorter plan cut) to that many epochs, not fewer than it has
    done. Raises RunDirError or CheckpointError for what cannot be resumed, and
    NothingToResume for a completed run with nothing to add. objects: the Python objects
    a run was made from (see config.load). A plug-in whose source changed since the run was
    made is refused (the weights belong to the code that trained them), unless
    `accept_changed_plugin`: then the run goes on with the source as it is now, and its
    config.toml and summary record the new sha256 (the summary the old ones too).
    """
    changed = []
    cfg = load_config(run_dir.file(CONFIG), objects=objects, changed_plugins=changed)
    if changed and not accept_changed_plugin:
        raise PluginError(f"{run_dir.path}: " + "; ".join(
            f"the {kind} plug-in {spec} has changed since the run was made (sha256 {old} -> "
            f"{new})" for kind, spec, old, new in changed)
            + "; restore it, or resume with the changed code anyway: train resume "
            f"{run_dir.path} --accept-changed-plugin (recorded in the run)")
    run_dir.check_plugins_folder()   # where resume keeps the sources' copies
    if epochs is not None:
        cfg = cfg.with_changes({"train.epochs": epochs})
    parts = RunParts(cfg)
    parts.changed_plugins = changed
    parts.plugin_history = _plugin_history(run_dir.read_summary() or {}, changed)
    where = str(run_dir.file(CHECKPOINT))
    if run_dir.file(CHECKPOINT).exists():
        arrays = checkpoint.read(run_dir.file(CHECKPOINT), parts, resuming=True,
                                 accept_plugins=bool(changed))
        parts.position, parts.metrics_rows = checkpoint.unpack(arrays, parts.model,
                                                               parts.optimizer, parts.streams, where)
    elif (run_dir.read_summary() or {}).get("status") == "completed":
        # done, and its checkpoint gone (deleted by hand): retraining would rewrite the record
        raise NothingToResume(f"{run_dir.path}: completed, but its {CHECKPOINT} is missing; nothing "
                              f"to resume (train --config {run_dir.file(CONFIG)} trains it again "
                              "into a new run)")
    # else: stopped before its first checkpoint, it starts over
    pos, rows = parts.position, parts.metrics_rows
    if epochs is not None and epochs < pos.epoch:
        raise RunDirError(f"--epochs {epochs}: the run has already done {pos.epoch} epochs")
    # a run killed in its finishing steps (probe, plots, summary) has all its epochs but is
    # not `completed`, and one whose figures failed says so: resuming redoes those steps
    # from the last checkpoint
    before = run_dir.read_summary() or {}
    finished = before.get("status") == "completed" and not before.get("plot_error")
    # a run that met its target at its last epoch is done as one that met it earlier: with
    # stop_at_target, no --epochs trains it further
    met = cfg["train"]["stop_at_target"] and pos.target is not None
    if not finished and (pos.stopped_early or met or pos.epoch >= cfg["train"]["epochs"]):
        if met and pos.epoch < cfg["train"]["epochs"]:   # finish it, train no further
            pos.stopped_early = True
        check_metrics_rows(run_dir.file(METRICS), rows)
        return parts
    if pos.stopped_early or met:
        why = (f"it met train.target {cfg['train']['target']:g}" if met else
               f"{cfg['train']['monitor']} did not improve for {cfg['train']['early_stop']} epochs")
        raise NothingToResume(f"{run_dir.path}: stopped early at epoch {pos.epoch} ({why}); "
                              "nothing to resume")
    if pos.epoch >= cfg["train"]["epochs"]:
        raise NothingToResume(f"{run_dir.path}: already completed {pos.epoch} epochs; "
                              "use --epochs N to train longer")
    check_metrics_rows(run_dir.file(METRICS), rows)
    return parts


def _plugin_history(summary, changed):
    """{kind: [sha256 the run trained with before, oldest first]}: what the summary recorded,
    and the sources a resume now accepts in place of theirs."""
    out = {}
    records = summary.get("plugins") if isinstance(summary.get("plugins"), dict) else {}
    for kind, record in records.items():
        before = record.get("previous_sha256") if isinstance(record, dict) else None
        if isinstance(before, list) and all(isinstance(s, str) for s in before):
            out[kind] = list(before)
    for kind, _spec, old, _new in changed:
        out.setdefault(kind, []).append(old)
    return out


def resume(run_dir, parts, **hooks):
    """Continue a run from what prepare_resume restored, as if it had never stopped; returns
    its summary. hooks: see run.Hooks."""
    run_dir.remove_temporaries()
    keep_metrics_rows(run_dir.file(METRICS), parts.metrics_rows)
    run_dir.write_config(parts.cfg)
    run_dir.write_plugin_sources(parts.cfg)   # a changed source accepted: kept beside the first
    return run_and_record(run_dir, lambda: parts, Hooks(**hooks))
