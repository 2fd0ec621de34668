"""The errors every kind of kernel raises."""

from __future__ import annotations


class KernelError(Exception):
    """The kernel cannot do what was asked; `str(exc)` is one sentence saying why and what to do."""


class NoSuchKernel(KernelError):
    """The requested kernelspec is not installed; the message lists the installed ones."""


class KernelExited(KernelError):
    """The kernel process ended before it answered."""
