"""nbtui's only reach into ipykernel's private API: its pipe for output of forked processes.

ipykernel's `IOPubThread` binds a PULL socket on a random 127.0.0.1 TCP port, even when the
kernel's channels use ipc, so that processes forked by the kernel (multiprocessing's fork start
method, `os.fork`) can send their output to the kernel, which publishes it. Every local user can
reach that port, and each message without the pipe's token writes a line to the kernel's log.

nbtui therefore launches an ipykernel kernelspec (`python [options] -m ipykernel_launcher ...`)
as `python [options] <this file> ENDPOINT ...`: run as a script in the kernel's Python, this
module replaces `IOPubThread._setup_pipe_in` and `_setup_pipe_out` with copies that bind and
connect the ipc endpoint ENDPOINT (a path in the kernel's private directory) instead, then
starts the kernel as `ipykernel_launcher` does. It patches only the ipykernel versions whose
code it was checked against (:data:`CHECKED_VERSIONS`); with any other it leaves ipykernel
alone and says why in the kernel log, the endpoint never appears, and nbtui reports that the
pipe listens on TCP.

The kernel's Python may be another environment (Python 3.8 or later, another ipykernel): at
module level this file uses the standard library only, and nothing of nbtui.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
from typing import Any

CHECKED_VERSIONS = ((6, 29), (7, 4))
"""The first and last ipykernel minor versions whose `IOPubThread` pipe code (`_setup_pipe_in`,
`_setup_pipe_out`, `_handle_pipe_msg`, the child branch of `_really_send`) was read and found
identical to what the replacements below assume."""

_LAUNCHER_MODULES = ("ipykernel_launcher", "ipykernel")
_OPTIONS_WITH_VALUE = ("-W", "-X", "--check-hash-based-pycs")


def launch_command(cmd: list[str], endpoint: str) -> list[str] | None:
    """The kernel command rewritten to launch ipykernel through this module.

    Args:
        cmd: the kernel's formatted command, e.g. `[python, "-m", "ipykernel_launcher", "-f",
            CONNECTION_FILE]`; interpreter options before `-m` are kept.
        endpoint: the path the pipe's ipc endpoint is to be bound at.

    Returns:
        `[python, options..., this file, endpoint, arguments...]`, or None when `cmd` does not
        run an ipykernel launcher module.
    """
    i = 1
    while i < len(cmd) - 1:
        arg = cmd[i]
        if arg == "-m":
            if cmd[i + 1] not in _LAUNCHER_MODULES:
                return None
            return [*cmd[:i], os.path.abspath(__file__), endpoint, *cmd[i + 2:]]
        if arg in _OPTIONS_WITH_VALUE:
            i += 2
            continue
        if arg == "-" or not arg.startswith("-") or arg.startswith(("-c", "-m")):
            return None
        i += 1
    return None


def patch_iopub_pipe(endpoint: str) -> str:
    """Make ipykernel's pipe for forked processes' output use the ipc endpoint `endpoint`.

    Call it in the kernel's process before the kernel app starts. A failure to bind the
    endpoint falls back to ipykernel's own TCP pipe.

    Returns:
        "" once patched, else one sentence saying why ipykernel was left alone.
    """
    # Imported here: only the kernel's side needs ipykernel, and only once sys.path is fixed.
    import ipykernel
    from ipykernel import iostream

    version = tuple(getattr(ipykernel, "version_info", ())[:2])
    if not CHECKED_VERSIONS[0] <= version <= CHECKED_VERSIONS[1]:
        return (f"ipykernel {getattr(ipykernel, '__version__', '?')} was not checked for the "
                f"private pipe, so its pipe for output of forked processes listens on TCP.")
    thread = getattr(iostream, "IOPubThread", None)
    missing = [name for name in ("_setup_pipe_in", "_setup_pipe_out", "_handle_pipe_msg")
               if not callable(getattr(thread, name, None))]
    if missing or not hasattr(iostream, "ZMQStream") or not hasattr(iostream, "zmq"):
        return (f"ipykernel {ipykernel.__version__} lacks what the private pipe replaces "
                f"({', '.join(missing) or 'zmq, ZMQStream'}), so its pipe listens on TCP.")
    if any(list(inspect.signature(getattr(thread, name)).parameters) != ["self"]
           for name in ("_setup_pipe_in", "_setup_pipe_out")):
        return (f"ipykernel {ipykernel.__version__}'s pipe methods take other arguments than "
                f"expected, so its pipe listens on TCP.")
    zmq, zmq_stream = iostream.zmq, iostream.ZMQStream
    tcp_setup_in, tcp_setup_out = thread._setup_pipe_in, thread._setup_pipe_out
    address = "ipc://" + endpoint

    def _setup_pipe_in(self: Any) -> None:
        # ipykernel's own method, with the ipc endpoint in place of a random TCP port.
        self._pipe_uuid = os.urandom(16)
        pipe_in = self.socket.context.socket(zmq.PULL)
        pipe_in.linger = 0
        try:
            pipe_in.bind(address)
        except zmq.ZMQError as exc:
            pipe_in.close()
            print(f"nbtui: could not bind {address} ({exc}); the pipe for output of forked "
                  f"processes listens on TCP", file=sys.stderr)
            tcp_setup_in(self)
            return
        self._nbtui_pipe = address
        self._pipe_in = zmq_stream(pipe_in, self.io_loop)
        self._pipe_in.on_recv(self._handle_pipe_msg)

    def _setup_pipe_out(self: Any) -> tuple[Any, Any]:
        # Runs in a forked child: a new context, as ipykernel's own method makes.
        if getattr(self, "_nbtui_pipe", None) is None:
            return tcp_setup_out(self)
        ctx = zmq.Context()
        pipe_out = ctx.socket(zmq.PUSH)
        pipe_out.linger = 3000
        pipe_out.connect(self._nbtui_pipe)
        return ctx, pipe_out

    thread._setup_pipe_in = _setup_pipe_in
    thread._setup_pipe_out = _setup_pipe_out
    return ""


def main() -> None:
    """Start ipykernel as `python -m ipykernel_launcher` would, with the private pipe.

    The command line is `python THIS_FILE ENDPOINT [kernel arguments...]`.
    """
    # Like ipykernel_launcher: keep the script's directory (nbtui's own modules) off sys.path
    # while the kernel loads; IPython adds the working directory itself.
    here = os.path.dirname(os.path.realpath(__file__))
    if sys.path and os.path.realpath(sys.path[0] or os.curdir) in (here, os.getcwd()):
        del sys.path[0]
    endpoint = sys.argv.pop(1)
    # Code that recognises a Jupyter kernel by its argv[0] sees what ipykernel_launcher gives.
    launcher = importlib.util.find_spec("ipykernel_launcher")
    if launcher is not None and launcher.origin:
        sys.argv[0] = launcher.origin
    reason = patch_iopub_pipe(endpoint)
    if reason:
        print(f"nbtui: {reason}", file=sys.stderr)
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
