"""`nbtui attach` as an agent client runs it: bytes in on stdin, answers out on stdout, and a
clean end when the session goes first."""

from __future__ import annotations

import json
import subprocess

from tests.conftest import NBTUI
from tests.test_cli import serving

HELLO = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "one-shot", "version": "0"}}}


def test_attach_ends_with_one_line_when_the_session_closes(tmp_path):
    """When the session stops under a connected agent, attach exits and says the session
    closed, in one line on stderr."""
    with serving(tmp_path / "closing.ipynb") as (session, socket_path):
        attach = subprocess.Popen([NBTUI, "attach", socket_path], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            attach.stdin.write(json.dumps(HELLO).encode() + b"\n")
            attach.stdin.flush()
            assert json.loads(attach.stdout.readline())["result"]["serverInfo"]["name"] == "nbtui"
            session.terminate()
            attach.wait(timeout=60)  # stdin stays open: only the session ended
            stderr = attach.stderr.read()
        finally:
            if attach.poll() is None:
                attach.kill()
                attach.wait()
            for stream in (attach.stdin, attach.stdout, attach.stderr):
                stream.close()
    assert attach.returncode == 0
    assert stderr.decode().strip() == "nbtui: the session closed."
