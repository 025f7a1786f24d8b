"""What each file of a run directory holds, and each key of its summary.json.

The single description of a run directory: docs/run-directory.md's tables are made from it
(scripts/run_files_table.py) and tests/test_docs.py checks that a real run writes no file and
no summary key that is not described here."""

from trainer.rundir.layout import BEST, CHECKPOINT, CONFIG, GRADIENT_REACH, METRICS, PLUGINS
from trainer.rundir.safe_io import LOCK
from trainer.rundir.layout import SUMMARY as SUMMARY_FILE

# (file names, what they hold): in the order a reader meets them
FILES = [
    ((CONFIG,),
     'the fully resolved config; `train --config runs/<id>/config.toml` reproduces the run number for number'),
    ((METRICS,),
     "one header, then a row per logged point, flushed as written: `step, epoch, split` (train/val), `loss`, the task's metric (`mse`, `accuracy` or anbn's `string_accuracy`), `lr` (the rate the row's steps used), `grad_norm` (before clipping), `elapsed_s`; train rows every `train.log_every` steps (means over those steps), a val row after each epoch"),
    ((SUMMARY_FILE,),
     'the outcome and the figures of the run, strict JSON: its keys are in the next table'),
    ((CHECKPOINT,),
     "arrays named by layer and parameter (`embed.W`, `rnn.Wx`, `rnn.Wh`, `rnn.b`, `head.W`, `head.b`, in their dtype; a plug-in cell's under the names its `param_names` declares, else `Wx`, `Wh`, `b` for three and `p0`...`pk` otherwise), the optimizer state under its parameter's name (`optim.m.rnn.Wx`, `optim.t`), every random stream's state (`stream.data`, `stream.init`, `stream.batches`, `stream.sample`), the carried state (`carried.h`, and `carried.c` for the LSTM) and `state` (the position in the data, the schedule's counters, the best figure and the early-stop count); written atomically after each epoch and every `train.checkpoint_every` steps, read with `allow_pickle=False`. A checkpoint of the first, unnamed format (`param_0`, ...) still loads for `eval`, `plot` and `load_run`; `resume` refuses it in one line"),
    ((BEST,),
     'the checkpoint of the best epoch by `train.monitor`, same format, written atomically whenever that figure improves'),
    (('loss_curves.png',),
     'train and val loss (log scale) with the baseline; where the metric is not the loss (accuracy), the val metric beside it'),
    (('task_view.png',),
     'drawn from the best model (its title says so); sine: truth vs one-step prediction vs free-running generation; counting: true vs predicted tokens; adding: predicted vs true sums; copy and parity: true vs predicted tokens on the scored steps; anbn: which strings are right, by length'),
    ((GRADIENT_REACH, 'gradient_reach.png'),
     '‖dL/dh_t‖ over a validation window, before and after training'),
    (('generated.csv', 'generated.png', 'generated.txt'),
     'written by `train generate` (values, or tokens), when asked'),
    ((PLUGINS,),
     "a folder, for a run of plug-ins: a copy of each plug-in's source as the run trained with it, `<kind>-<name>-<first 12 hex digits of its sha256>.py` (a source accepted by `train resume --accept-changed-plugin` adds its own); a record, never imported"),
    ((LOCK,),
     'held (flock) by the one process writing the directory; holds its pid'),
]

# (summary.json key, what it holds)
SUMMARY = [
    ("status", "running, completed, diverged, interrupted, pruned (stopped by `train tune`'s pruner at the end of an epoch; resumable), or failed (with `error` and `traceback`)"),
    ("error", "when failed: the error, on one line"),
    ("traceback", "when failed: the Python traceback"),
    ("task", "the task's name as `task.name` gave it (a plug-in's spec as written)"),
    ("metric", "the task's metric: `mse`, `accuracy`, `string_accuracy` or a plug-in's"),
    ("steps", "optimizer steps done"),
    ("total_steps", "the steps the run was asked for"),
    ("epochs_done", "epochs completed"),
    ("wall_s", "the epochs' time in seconds: steps, logging, validation, checkpoints (not start-up or plots)"),
    ("final", "`train_loss`, `val_loss`, `val_<metric>` at the end, and extra validation sets such as anbn's "
              "`val_long_*`"),
    ("monitor", "`train.monitor`: the figure the best epoch is chosen by"),
    ("best", "`epoch`, `step` and the validation figures of the best epoch by `monitor`"),
    ("stopped_early", "true when `train.early_stop` or `train.stop_at_target` ended the run"),
    ("diverged_at_step", "when diverged: the step whose loss or gradient was not finite"),
    ("diverged_what", "when diverged: what was not finite (the loss, a gradient, a parameter)"),
    ("baseline", "the same figures for the task's trivial predictor"),
    ("baseline_name", "what the trivial predictor is (persistence, the current token, ...)"),
    ("beats_baseline", "true when the final `val_<metric>` is better than the baseline's (a tie or a "
                       "non-finite figure is not), null when the run never validated"),
    ("target", "when `train.target` is set: `epoch`, `step`, `sequences` (episode tasks: steps times "
               "`train.batch_size`) and `value` of the first validation that reached `goal`; null when "
               "none did"),
    ("plugins", "for a plug-in task or cell: its spec, where it was found (file or module, class) and the "
                "sha256 of its source; a cell also says whether its gradients were `checked`; "
                "`previous_sha256`: the sources it trained with before `train resume "
                "--accept-changed-plugin` took a changed one"),
    ("nonfinite", "when a figure was not finite: `{\"final.val_loss\": \"inf\"}` for each figure written as "
                  "null (summary.json is strict JSON)"),
    ("plot_error", "when the figures could not be drawn (`train plot` draws them)"),
    ("env", "where the run ran: versions, git commit, BLAS kernel and threads, platform, CPU, command line "
            "(see [Reproducibility](reproducibility.md))"),
]


def files_table():
    lines = ["| file | what it holds |", "| --- | --- |"]
    for names, what in FILES:
        lines.append(f"| {', '.join(f'`{n}`' for n in names)} | {what} |")
    return "\n".join(lines)


def summary_table():
    lines = ["| key | what it holds |", "| --- | --- |"]
    lines += [f"| `{key}` | {what} |" for key, what in SUMMARY]
    return "\n".join(lines)
