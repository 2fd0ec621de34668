"""Remote round trip: `x + 1` on a kernel behind a local Jupyter Kernel Gateway, and locally.

In one run, interleaving the clients so that machine noise hits them alike:

- remote bare: a websocket client of its own (tornado) on the gateway's kernel, sending
  execute_request and waiting for the reply and the kernel's return to idle, with the same
  socket options as nbtui (TCP_NODELAY, and TCP_QUICKACK re-armed after each read: without it
  the gateway's small frames wait ~40 ms for the client's delayed ACK);
- remote session: `KernelSession.run_code("x + 1")` on the same kernel (nbtui's backend,
  queue and output handling, no MCP);
- remote lean: `run_code("x + 1")` through `nbtui attach` (a subprocess) and the session's
  socket, from a client that writes and reads JSON-RPC lines and nothing more: what nbtui adds;
- remote agent: the same with the official MCP Python SDK client, whose own models and
  validation add to every call (any client costs something of its own);
- local bare / lean / agent: the same on a local kernel with a jupyter-client client.

Then the CPU an idle session uses (this process: the session and its idle clients), remote and
local, over `--idle` seconds. Prints medians and p95s and the ratios to bare (target: at most
1.2x for the remote kernel).

    python bench/remote_roundtrip.py [--runs 200] [--idle 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path

import mcp_types as types
from jupyter_client.jsonutil import json_default
from jupyter_client.session import Session
from mcp import Client, StdioServerParameters
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

sys.path.insert(0, str(Path(__file__).parent))
from agent_roundtrip import bare_execute, kernel_client, summary  # noqa: E402

from nbtui.agent.endpoint import AgentEndpoint  # noqa: E402
from nbtui.agent.sessions import SessionLock  # noqa: E402
from nbtui.core.session import NotebookSession  # noqa: E402

NBTUI = str(Path(sys.executable).with_name("nbtui"))
TOKEN = "bench-token"


def start_gateway(directory: Path) -> tuple[str, subprocess.Popen]:
    """A Kernel Gateway on a free 127.0.0.1 port with TOKEN; (url, process) once it answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gateway = str(Path(sys.executable).with_name("jupyter-kernelgateway"))
    log = open(directory / "gateway.log", "w")
    process = subprocess.Popen(
        [gateway, "--KernelGatewayApp.ip=127.0.0.1", f"--KernelGatewayApp.port={port}",
         f"--KernelGatewayApp.auth_token={TOKEN}"], stdout=log, stderr=log,
        stdin=subprocess.DEVNULL, start_new_session=True,
        env=dict(os.environ, JUPYTER_RUNTIME_DIR=str(directory)))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        request = urllib.request.Request(url + "/api/kernelspecs",
                                         headers={"Authorization": f"token {TOKEN}"})
        try:
            urllib.request.urlopen(request, timeout=5).close()
            return url, process
        except (urllib.error.URLError, ConnectionError):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the Kernel Gateway did not start") from None
            time.sleep(0.05)


class BareWebsocket:
    """The least a websocket client does to run code on a gateway's kernel."""

    def __init__(self, url: str, kernel_id: str) -> None:
        self.url = f"ws{url[4:]}/api/kernels/{kernel_id}/channels"
        self.session = Session(username="bench")
        self.conn = None

    async def open(self) -> None:
        request = HTTPRequest(f"{self.url}?session_id={self.session.session}",
                              headers={"Authorization": f"token {TOKEN}"})
        self.conn = await websocket_connect(request)
        self.conn.stream.set_nodelay(True)

    async def execute(self, code: str) -> None:
        """Execute and wait for the reply and for idle."""
        msg = self.session.msg("execute_request", {
            "code": code, "silent": False, "store_history": True, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": True})
        msg["channel"] = "shell"
        msg_id = msg["header"]["msg_id"]
        await self.conn.write_message(json.dumps(msg, default=json_default))
        got_reply = got_idle = False
        while not (got_reply and got_idle):
            frame = await self.conn.read_message()
            self.conn.stream.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            if not isinstance(frame, str):
                continue
            reply = json.loads(frame)
            if reply["parent_header"].get("msg_id") != msg_id:
                continue
            if reply["channel"] == "shell":
                got_reply = True
            elif (reply["msg_type"] == "status"
                  and reply["content"]["execution_state"] == "idle"):
                got_idle = True


async def serve(path: Path, **kernel_place: str) -> tuple[NotebookSession, AgentEndpoint,
                                                            SessionLock]:
    """A session serving MCP on its socket, kernel ready."""
    session = NotebookSession(path, autosave_seconds=0, **kernel_place)
    endpoint = AgentEndpoint(session)
    lock = SessionLock(session.path, endpoint.socket_path)
    await endpoint.start(lock)
    await session.start()
    await session.kernel.wait_ready(120)
    return session, endpoint, lock


async def interleaved(runs: int, ways: dict[str, Callable[[], Awaitable[None]]]
                      ) -> dict[str, list[float]]:
    """Time each way once per round, `runs` rounds after 10 of warm-up."""
    samples: dict[str, list[float]] = {name: [] for name in ways}
    for round_ in range(runs + 10):
        for name, way in ways.items():
            start = time.perf_counter()
            await way()
            if round_ >= 10:
                samples[name].append(time.perf_counter() - start)
    return samples


async def idle_cpu(seconds: float) -> float:
    """The CPU this process uses while idle, in percent of one core."""
    start_wall = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    start_cpu = usage.ru_utime + usage.ru_stime
    await asyncio.sleep(seconds)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return 100 * (usage.ru_utime + usage.ru_stime - start_cpu) / (
        time.perf_counter() - start_wall)


class LeanAgent:
    """The least an MCP client does: JSON-RPC lines to `nbtui attach` and back, no SDK (its
    models and validation cost the client, whichever client it is, not nbtui)."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self.process: asyncio.subprocess.Process | None = None
        self.next_id = 0

    async def request(self, method: str, params: dict) -> dict:
        """Send one request and wait for its answer."""
        assert self.process is not None and self.process.stdin and self.process.stdout
        self.next_id += 1
        line = json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method,
                           "params": params})
        self.process.stdin.write(line.encode() + b"\n")
        while True:
            answer = json.loads(await self.process.stdout.readline())
            if answer.get("id") == self.next_id:
                return answer

    async def __aenter__(self) -> LeanAgent:
        self.process = await asyncio.create_subprocess_exec(
            NBTUI, "attach", self.socket_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            limit=64 * 1024 * 1024)
        await self.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                          "clientInfo": {"name": "lean", "version": "1"}})
        assert self.process.stdin is not None
        self.process.stdin.write(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}\n')
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.close()
        await self.process.wait()

    async def run_code(self) -> None:
        """run_code("x + 1"), checked."""
        answer = await self.request("tools/call", {"name": "run_code",
                                                   "arguments": {"code": "x + 1"}})
        assert answer["result"]["structuredContent"]["status"] == "ok", answer


def agent_call(client: Client) -> Callable[[], Awaitable[None]]:
    async def call() -> None:
        result = await client.call_tool("run_code", {"code": "x + 1"})
        assert not result.is_error and result.structured_content["status"] == "ok"
    return call


async def main(runs: int, idle_seconds: float) -> None:
    info = types.Implementation(name="bench", version="1")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("NBTUI_RUNTIME_DIR", tmp)
        os.environ.setdefault("NBTUI_STATE_DIR", tmp)
        os.environ["NBTUI_SERVER_TOKEN"] = TOKEN
        url, gateway = start_gateway(Path(tmp))
        try:
            session, endpoint, lock = await serve(Path(tmp) / "remote.ipynb", server_url=url)
            try:
                bare = BareWebsocket(url, session.kernel.connection_info()["kernel_id"])
                await bare.open()
                params = StdioServerParameters(command=NBTUI, args=[
                    "attach", endpoint.socket_path], env=dict(os.environ))
                async with Client(params, client_info=info, mode="legacy") as client, \
                        LeanAgent(endpoint.socket_path) as lean:
                    await client.call_tool("run_code", {"code": "x = 1"})

                    async def in_session() -> None:
                        await session.kernel.run_code("x + 1", "bench").wait(30)

                    remote = await interleaved(runs, {"bare": lambda: bare.execute("x + 1"),
                                                      "session": in_session,
                                                      "lean": lean.run_code,
                                                      "agent": agent_call(client)})
                    remote_idle = await idle_cpu(idle_seconds)
                bare.conn.close()
            finally:
                await endpoint.close()
                await session.close(save=False)
                lock.release()
        finally:
            os.killpg(gateway.pid, signal.SIGTERM)
            gateway.wait(30)

        session, endpoint, lock = await serve(Path(tmp) / "local.ipynb")
        try:
            kc = await kernel_client(session)
            params = StdioServerParameters(command=NBTUI, args=["attach", endpoint.socket_path],
                                           env=dict(os.environ))
            async with Client(params, client_info=info, mode="legacy") as client, \
                    LeanAgent(endpoint.socket_path) as lean:
                await client.call_tool("run_code", {"code": "x = 1"})
                local = await interleaved(runs, {"bare": lambda: bare_execute(kc, "x + 1"),
                                                 "lean": lean.run_code,
                                                 "agent": agent_call(client)})
                kc.stop_channels()
                local_idle = await idle_cpu(idle_seconds)
        finally:
            await endpoint.close()
            await session.close(save=False)
            lock.release()

    print(f"runs: {runs} per client (interleaved)")
    rows = [("remote bare websocket client", remote["bare"]),
            ("remote KernelSession.run_code", remote["session"]),
            ("remote run_code, lean client + attach", remote["lean"]),
            ("remote run_code, SDK client + attach", remote["agent"]),
            ("local bare jupyter-client", local["bare"]),
            ("local run_code, lean client + attach", local["lean"]),
            ("local run_code, SDK client + attach", local["agent"])]
    for label, samples in rows:
        median, p95 = summary(samples)
        print(f"{label:38} median {median:7.2f} ms   p95 {p95:7.2f} ms")
    for place, samples in (("remote", remote), ("local", local)):
        bare = summary(samples["bare"])[0]
        lean, agent = summary(samples["lean"])[0] / bare, summary(samples["agent"])[0] / bare
        print(f"ratio {place} to bare (medians): lean client {lean:.2f}x "
              f"({'met' if lean <= 1.2 else 'NOT met'}: target 1.2x), SDK client {agent:.2f}x")
    print(f"idle CPU over {idle_seconds:g} s: remote session {remote_idle:.2f} %, "
          f"local session {local_idle:.2f} % of one core")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--idle", type=float, default=10.0)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.runs, arguments.idle))
