"""Agent round trip: what `nbtui attach` adds over talking to the kernel directly.

In one run, on one kernel, interleaving the two so that machine noise hits both alike:

- bare: a jupyter-client `execute("x + 1")` on the session's own kernel, until the reply and
  the kernel's return to idle;
- agent: `run_code("x + 1")` through `nbtui attach` (a subprocess) and the session's socket,
  with the official MCP client;
- edit: `insert_cell` followed by `read_cells` of the new cell, through the same path.

Prints medians and p95s, the ratio agent/bare, and whether the target holds:
agent <= 1.5 x bare + 5 ms.

    python bench/agent_roundtrip.py [--runs 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import mcp_types as types
from jupyter_client.asynchronous import AsyncKernelClient
from mcp import Client, StdioServerParameters

from nbtui.agent.endpoint import AgentEndpoint
from nbtui.agent.sessions import SessionLock
from nbtui.core.session import NotebookSession

NBTUI = str(Path(sys.executable).with_name("nbtui"))


async def bare_execute(kc: AsyncKernelClient, code: str) -> None:
    """Execute and wait for the reply and for idle, as a careful client does."""
    msg_id = kc.execute(code)
    got_reply = got_idle = False
    while not (got_reply and got_idle):
        if not got_reply:
            reply = await kc.get_shell_msg(timeout=30)
            got_reply = reply["parent_header"].get("msg_id") == msg_id
        if not got_idle:
            msg = await kc.get_iopub_msg(timeout=30)
            got_idle = (msg["parent_header"].get("msg_id") == msg_id
                        and msg["msg_type"] == "status"
                        and msg["content"]["execution_state"] == "idle")


async def kernel_client(session: NotebookSession) -> AsyncKernelClient:
    """A jupyter-client client of the session's own kernel, its channels ready."""
    kc = AsyncKernelClient()
    kc.load_connection_info(session.kernel.connection_info())
    kc.start_channels()
    await kc.wait_for_ready(timeout=60)
    return kc


def summary(samples: list[float]) -> tuple[float, float]:
    """(median, p95) in milliseconds."""
    ordered = sorted(samples)
    return (statistics.median(ordered) * 1000,
            ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000)


async def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("NBTUI_RUNTIME_DIR", tmp)
        os.environ.setdefault("NBTUI_STATE_DIR", tmp)
        session = NotebookSession(Path(tmp) / "bench.ipynb", autosave_seconds=0)
        endpoint = AgentEndpoint(session)
        lock = SessionLock(session.path, endpoint.socket_path)
        await endpoint.start(lock)
        await session.start()
        await session.kernel.wait_ready(120)

        kc = await kernel_client(session)

        params = StdioServerParameters(command=NBTUI, args=["attach", endpoint.socket_path],
                                       env=dict(os.environ))
        info = types.Implementation(name="bench", version="1")
        bare, agent, edit = [], [], []
        try:
            async with Client(params, client_info=info, mode="legacy") as client:
                await client.call_tool("run_code", {"code": "x = 1"})
                for _ in range(10):  # warm-up: imports, caches, first-call costs
                    await bare_execute(kc, "x + 1")
                    await client.call_tool("run_code", {"code": "x + 1"})
                for _ in range(runs):
                    t0 = time.perf_counter()
                    await bare_execute(kc, "x + 1")
                    t1 = time.perf_counter()
                    result = await client.call_tool("run_code", {"code": "x + 1"})
                    t2 = time.perf_counter()
                    assert not result.is_error and result.structured_content["status"] == "ok"
                    inserted = await client.call_tool("insert_cell", {"source": "y = 2"})
                    cell_id = inserted.structured_content["cell"]["id"]
                    await client.call_tool("read_cells", {"cell_ids": [cell_id]})
                    t3 = time.perf_counter()
                    bare.append(t1 - t0)
                    agent.append(t2 - t1)
                    edit.append(t3 - t2)
        finally:
            kc.stop_channels()
            await endpoint.close()
            await session.close(save=False)
            lock.release()

    bare_med, bare_p95 = summary(bare)
    agent_med, agent_p95 = summary(agent)
    edit_med, edit_p95 = summary(edit)
    budget = 1.5 * bare_med + 5
    print(f"runs: {runs} (interleaved, one kernel)")
    print(f"bare jupyter-client execute   median {bare_med:7.2f} ms   p95 {bare_p95:7.2f} ms")
    print(f"run_code via nbtui attach     median {agent_med:7.2f} ms   p95 {agent_p95:7.2f} ms")
    print(f"insert_cell + read_cells      median {edit_med:7.2f} ms   p95 {edit_p95:7.2f} ms")
    print(f"ratio agent/bare (medians)    {agent_med / bare_med:.2f}x")
    print(f"target: agent <= 1.5 x bare + 5 ms = {budget:.2f} ms -> "
          f"{'met' if agent_med <= budget else 'NOT met'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    asyncio.run(main(parser.parse_args().runs))
