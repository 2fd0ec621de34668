"""`nbtui attach` as an agent client runs it: bytes in on stdin, answers out on stdout, and a
clean end whichever side goes first."""

from __future__ import annotations

import json
import socket
import subprocess

from tests.conftest import NBTUI
from tests.test_cli import serving

HELLO = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "one-shot", "version": "0"}}}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def lines(*messages: dict) -> bytes:
    """JSON-RPC messages in MCP's stdio framing."""
    return b"".join(json.dumps(m).encode() + b"\n" for m in messages)


def run_request(request_id: int, code: str) -> dict:
    """A tools/call of run_code."""
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call",
            "params": {"name": "run_code", "arguments": {"code": code}}}


def test_a_client_that_closes_stdin_at_once_still_gets_its_answers(tmp_path):
    """`echo REQUESTS | nbtui attach`: a run sent just before stdin closes is answered with its
    result (not "Connection closed"), then attach exits 0 without a word on stderr."""
    requests = lines(HELLO, INITIALIZED,
                     run_request(2, "import time; time.sleep(0.3); 6 * 7"))
    with serving(tmp_path / "oneshot.ipynb") as (_, socket_path):
        attach = subprocess.run([NBTUI, "attach", socket_path], input=requests,
                                capture_output=True, timeout=60)
    answers = {m.get("id"): m for m in map(json.loads, attach.stdout.splitlines())}
    assert attach.returncode == 0, attach.stderr
    assert attach.stderr == b""
    assert answers[1]["result"]["serverInfo"]["name"] == "nbtui"
    assert answers[2]["result"]["structuredContent"]["outputs"][0]["text"] == "42"


def test_a_cancelled_request_does_not_hold_the_connection_open(tmp_path):
    """A client that cancels its run and stops sending is disconnected once the rest is
    answered: the session does not wait for an answer that a cancelled request never gets."""
    cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled",
              "params": {"requestId": 2, "reason": "changed my mind"}}
    with serving(tmp_path / "cancel.ipynb") as (_, socket_path):
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(60)
            sock.connect(socket_path)
            sock.sendall(lines(HELLO, INITIALIZED, run_request(2, "import time; time.sleep(30)"),
                               cancel))
            sock.shutdown(socket.SHUT_WR)
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
    answers = {m.get("id"): m for m in map(json.loads, received.splitlines())}
    assert answers[1]["result"]["serverInfo"]["name"] == "nbtui"
    assert 2 not in answers


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
