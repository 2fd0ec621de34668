"""Where kernels live and how nbtui talks to them.

:mod:`nbtui.core.kernel` runs code (the one queue, outputs routed by message id); the modules
here are the kinds of kernel it runs code on, each behind :class:`~.backend.KernelBackend`:
a local process started from a kernelspec (:mod:`.local`), a kernel a Jupyter server runs
(:mod:`.remote`), and a kernel already running on this machine (:mod:`.existing`).
"""
