"""Which way a figure improves: losses, squared errors and errors fall; accuracies rise.

The one rule the loop (best epoch, early stopping, targets), the outcome against the baseline,
the tables, the report and tuning all use."""


def lower_is_better(figure):
    """Losses, squared errors and errors fall as a model gets better; accuracies rise."""
    return figure.endswith(("_loss", "_mse", "_error"))
