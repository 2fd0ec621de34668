"""nbtui: a terminal Jupyter notebook that a human and an AI agent work in together."""

__version__ = "0.1.0"
