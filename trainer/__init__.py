"""A numpy trainer for recurrent networks on synthetic sequence tasks."""
__version__ = "0.1.0"
