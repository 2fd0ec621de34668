"""Kernels on a Jupyter server: real Jupyter Kernel Gateway and Jupyter Server processes on
127.0.0.1 with a token, driven through their REST and websocket API."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from mcp import StdioServerParameters

from nbtui.agent.endpoint import AgentEndpoint
from nbtui.agent.sessions import SessionLock
from nbtui.core.document import Document
from nbtui.core.kernel import Execution, KernelError, KernelSession, NoSuchKernel
from nbtui.core.kernels.remote import RemoteKernel, check_server_url
from nbtui.core.session import NotebookSession
from tests.conftest import NBTUI, poll
from tests.test_seed_workflow import check_seed_notebook, seed_workflow

DEADLINE = 60.0
"""Seconds any single wait on a server or its kernel may take before the test fails."""

TOKEN = "nbtui-test-token"


@dataclass
class Server:
    """A Jupyter server process listening on 127.0.0.1."""

    url: str
    process: subprocess.Popen
    log: Path

    def api(self, path: str, method: str = "GET", token: str = TOKEN) -> object:
        """A REST call with the token; the decoded JSON answer."""
        request = urllib.request.Request(self.url + path, method=method,
                                         headers={"Authorization": f"token {token}"})
        unverified = ssl._create_unverified_context()
        with urllib.request.urlopen(request, timeout=10, context=unverified) as response:
            body = response.read()
        return json.loads(body) if body else None

    def stop(self) -> None:
        """Stop the server and every kernel it started."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no CA signed, and its key."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def start_server(kind: str, directory: Path, certificate: tuple[Path, Path] | None = None
                 ) -> Server:
    """Start Jupyter Kernel Gateway ("gateway", https with `certificate`) or Jupyter Server
    ("server") with TOKEN."""
    port = free_port()
    tls = ([f"--KernelGatewayApp.certfile={certificate[0]}",
            f"--KernelGatewayApp.keyfile={certificate[1]}"] if certificate else [])
    bin_dir = Path(sys.executable).parent
    if kind == "gateway":
        command = [str(bin_dir / "jupyter-kernelgateway"), "--KernelGatewayApp.ip=127.0.0.1",
                   f"--KernelGatewayApp.port={port}", "--KernelGatewayApp.port_retries=0",
                   f"--KernelGatewayApp.auth_token={TOKEN}",
                   "--JupyterWebsocketPersonality.list_kernels=True", *tls]
    else:
        command = [str(bin_dir / "jupyter-server"), "--ServerApp.ip=127.0.0.1",
                   f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
                   f"--IdentityProvider.token={TOKEN}", "--ServerApp.open_browser=False",
                   f"--ServerApp.root_dir={directory}", "--ServerApp.allow_root=True"]
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(directory / "runtime"),
               JUPYTER_CONFIG_DIR=str(directory / "config"))
    log = directory / f"{kind}.log"
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=directory, env=env,
                                   start_new_session=True)
    server = Server(f"{'https' if certificate else 'http'}://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + DEADLINE
    while True:
        try:
            server.api("/api/kernelspecs")
            return server
        except (urllib.error.URLError, ConnectionError) as exc:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise AssertionError(f"the {kind} did not start: {log.read_text()[-2000:]}") \
                    from exc
            time.sleep(0.05)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A Jupyter Kernel Gateway shared by the module's tests."""
    server = start_server("gateway", tmp_path_factory.mktemp("gateway"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def jupyter_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A Jupyter Server shared by the module's tests."""
    server = start_server("server", tmp_path_factory.mktemp("jupyter-server"))
    yield server
    server.stop()


@asynccontextmanager
async def remote_session(url: str, tmp_path: Path, *, token: str = TOKEN,
                         kernel_name: str = "python3") -> AsyncIterator[KernelSession]:
    """A kernel session on the server at `url`, shut down afterwards."""
    document = Document(nbformat.v4.new_notebook())
    ks = KernelSession(document, kernel_name, cwd=tmp_path, log_path=tmp_path / "kernel.log",
                       backend=RemoteKernel(url, kernel_name, token=token))
    try:
        yield ks
    finally:
        await ks.shutdown()


async def run(ks: KernelSession, code: str) -> Execution:
    """Run `code` and wait until it finished."""
    execution = ks.run_code(code, "user")
    assert await execution.wait(DEADLINE), f"{code!r} did not finish"
    return execution


def printed(execution: Execution) -> str:
    """What a run printed on stdout."""
    return "".join(o.get("text", "") for o in execution.outputs
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")


async def test_seed_workflow_on_a_kernel_gateway_kernel_through_nbtui_attach(
        gateway: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An agent does the seed workflow through `nbtui attach` on a kernel the Kernel Gateway
    runs (token from the environment); the saved notebook holds it all and closing the
    session shuts the server's kernel down."""
    monkeypatch.setenv("NBTUI_SERVER_TOKEN", TOKEN)
    notebook = tmp_path / "seed.ipynb"
    session = NotebookSession(notebook, autosave_seconds=0, server_url=gateway.url)
    endpoint = AgentEndpoint(session)
    lock = SessionLock(session.path, endpoint.socket_path)
    await endpoint.start(lock)
    try:
        await session.start()
        await session.kernel.wait_ready(DEADLINE)
        assert session.kernel.transport == "ws" and session.kernel.kernel_pid is None
        assert [k["id"] for k in gateway.api("/api/kernels")] == [
            session.kernel.connection_info()["kernel_id"]]
        await seed_workflow(StdioServerParameters(
            command=NBTUI, args=["attach", endpoint.socket_path], env=dict(os.environ)))
    finally:
        await endpoint.close()
        await session.close()
        lock.release()
    check_seed_notebook(notebook)
    assert gateway.api("/api/kernels") == []


async def test_interrupt_and_restart_go_through_the_servers_rest_api(
        jupyter_server: Server, tmp_path: Path) -> None:
    """On a Jupyter Server kernel, interrupt stops the running code (KeyboardInterrupt) and
    drops the queue; restart loses the variables and keeps the kernel's id."""
    async with remote_session(jupyter_server.url, tmp_path) as ks:
        await ks.start()
        assert (await run(ks, "x = 41\nprint(x + 1)")).status == "ok"
        kernel_id = ks.connection_info()["kernel_id"]
        looping = ks.run_code("import time\nprint('looping', flush=True)\nwhile True: "
                              "time.sleep(0.01)", "user")
        queued = ks.run_code("print('never')", "user")
        await poll(lambda: "looping" in printed(looping), DEADLINE, "the loop to start")
        answer = await ks.interrupt()
        assert answer["dequeued"] == [queued.id] and queued.status == "aborted"
        assert await looping.wait(DEADLINE)
        assert looping.status == "error" and looping.error["ename"] == "KeyboardInterrupt"
        assert printed(await run(ks, "print(x)")) == "41\n"
        await ks.restart()
        lost = await run(ks, "x")
        assert lost.status == "error" and lost.error["ename"] == "NameError"
        assert ks.connection_info()["kernel_id"] == kernel_id
        completion = await ks.complete("impor", 5)
        assert "import" in completion["matches"]
        assert "print" in await ks.inspect("print", 5)


async def test_a_killed_remote_kernel_is_reported_and_restart_brings_it_back(
        gateway: Server, tmp_path: Path) -> None:
    """A remote kernel killed while it runs ends that run with KernelDied and the state dead
    (with a sentence); a restart makes it usable again."""
    async with remote_session(gateway.url, tmp_path) as ks:
        await ks.start()
        died = await run(ks, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
        assert died.status == "error" and died.error["ename"] == "KernelDied"
        assert ks.state == "dead" and "restart the kernel" in ks.state_message
        with pytest.raises(KernelError, match="dead"):
            ks.run_code("1", "user")
        await ks.restart()
        assert printed(await run(ks, "print('back')")) == "back\n"


async def test_a_stopped_server_is_reported_and_the_notebook_stays_intact(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the server goes away the kernel is reported dead with a sentence naming the server,
    and the notebook keeps its cells and outputs and stays editable."""
    monkeypatch.setenv("JUPYTER_TOKEN", TOKEN)
    server = start_server("gateway", tmp_path)
    notebook = tmp_path / "kept.ipynb"
    try:
        session = NotebookSession(notebook, autosave_seconds=0, server_url=server.url)
        await session.start()
        await session.kernel.wait_ready(DEADLINE)
        cell = session.document.insert_cell("print('kept')", author="user")
        run_cell = session.kernel.run_cell(cell.id, "user")
        assert await run_cell.wait(DEADLINE) and run_cell.status == "ok"
        server.stop()
        await poll(lambda: session.kernel.state == "dead", DEADLINE, "the kernel to be dead")
        assert server.url in session.kernel.state_message
        session.document.edit_cell(cell.id, "print('still editable')", author="user")
        assert session.document.get(cell.id).outputs[0]["text"] == "kept\n"
        with pytest.raises(KernelError, match="restart"):
            session.kernel.run_cell(cell.id, "user")
        with pytest.raises(KernelError, match="could not reach the Jupyter server"):
            await session.kernel.restart()
        await session.close()
    finally:
        server.stop()
    saved = nbformat.read(notebook, as_version=4)
    assert saved.cells[0].source == "print('still editable')"


async def test_a_dropped_websocket_reconnects_without_losing_output(
        jupyter_server: Server, tmp_path: Path) -> None:
    """The websocket closed under a running cell is reopened and the output printed meanwhile
    (buffered by the server) arrives complete and in order."""
    async with remote_session(jupyter_server.url, tmp_path) as ks:
        await ks.start()
        counting = ks.run_code("import time\nfor i in range(30):\n    print(i, flush=True)\n"
                               "    time.sleep(0.05)", "user")
        await poll(lambda: printed(counting).startswith("0\n"), DEADLINE, "the first line")
        client = ks.backend._client
        client._conn.close()
        assert await counting.wait(DEADLINE) and counting.status == "ok"
        assert printed(counting) == "".join(f"{i}\n" for i in range(30))
        assert ks.state == "idle"


async def test_the_websocket_sets_tcp_nodelay(gateway: Server, tmp_path: Path) -> None:
    """The client's side of the kernel websocket sets TCP_NODELAY (no Nagle delay on small
    requests)."""
    async with remote_session(gateway.url, tmp_path) as ks:
        await ks.start()
        sock = ks.backend._client._conn.stream.socket
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


async def test_a_bad_token_gets_one_sentence(gateway: Server, tmp_path: Path) -> None:
    """A token the server refuses is one sentence naming the variables to set; the kernel is
    dead, nothing was started on the server."""
    async with remote_session(gateway.url, tmp_path, token="wrong") as ks:
        with pytest.raises(KernelError) as failure:
            await ks.start()
        message = str(failure.value)
        assert "refused nbtui's token (HTTP 40" in message and "JUPYTER_TOKEN" in message
        assert message.count(". ") == 0 and ks.state == "dead"
        assert gateway.api("/api/kernels") == []


async def test_a_kernelspec_the_server_lacks_lists_its_own(
        jupyter_server: Server, tmp_path: Path) -> None:
    """Asking for a kernelspec the server does not have names the server's kernelspecs."""
    async with remote_session(jupyter_server.url, tmp_path, kernel_name="cobol") as ks:
        with pytest.raises(NoSuchKernel, match=r"no kernel named 'cobol' \(its kernels: .*"
                                               r"python3.*\)"):
            await ks.start()
        assert ks.state == "dead"


async def test_an_unreachable_server_gets_one_sentence(tmp_path: Path) -> None:
    """Nothing listening at the URL gives one sentence: could not reach, check the URL."""
    async with remote_session(f"http://127.0.0.1:{free_port()}", tmp_path) as ks:
        with pytest.raises(KernelError, match="could not reach the Jupyter server at .* check "
                                              "the URL and that the server is running"):
            await ks.start()
        assert ks.state == "dead"


async def test_https_needs_a_trusted_certificate_and_then_works_over_wss(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A gateway on https with a certificate nobody trusts gets one TLS sentence; trusted
    through SSL_CERT_FILE, the kernel runs over wss."""
    certificate = self_signed_certificate(tmp_path)
    server = start_server("gateway", tmp_path, certificate)
    try:
        async with remote_session(server.url, tmp_path) as ks:
            with pytest.raises(KernelError, match=r"The TLS connection to https://.* failed "
                                                  r"\(.*certificate.*\); check"):
                await ks.start()
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
        async with remote_session(server.url, tmp_path) as ks:
            await ks.start()
            assert ks.transport == "wss" and ks.transport_warning == ""
            assert printed(await run(ks, "print(6 * 7)")) == "42\n"
    finally:
        server.stop()


def test_a_token_in_the_url_is_refused() -> None:
    """A token on the command line (in the URL) is refused with a sentence pointing to
    JUPYTER_TOKEN; a URL that is no http(s) URL too."""
    with pytest.raises(KernelError, match="JUPYTER_TOKEN"):
        check_server_url("http://127.0.0.1:8888/?token=abc")
    with pytest.raises(KernelError, match="not a Jupyter server URL"):
        check_server_url("127.0.0.1:8888")
    assert check_server_url("https://host/prefix/") == "https://host/prefix"
