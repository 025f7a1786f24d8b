"""A tiny sine config (a second of training) shared by the sweep tests."""

TINY_SINE = """\
[task]
name = "sine"
length = 200
val_length = 50
[model]
hidden = 8
[train]
epochs = 1
batch_size = 4
bptt = 10
"""
