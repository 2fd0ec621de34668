"""Record the IOPub message sequences in this folder from a real kernel.

Run from the project root: `.venv/bin/python tests/data/kernel/record.py`. Each JSON file holds
the code that ran and the messages whose parent was its execute request, trimmed to the fields
the output collector reads (header.msg_type, parent_header.msg_id, content).
"""

import asyncio
import json
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

HERE = Path(__file__).parent

CASES = {
    "streams_and_result": (
        "print('a'); print('b', flush=True)\n"
        "import sys; print('err', file=sys.stderr, flush=True)\n"
        "print('c')\n"
        "6 * 7"
    ),
    "progress_bar": (
        "import sys, time\n"
        "for i in range(5):\n"
        "    sys.stdout.write(f'\\r{i * 25:3d}%'); sys.stdout.flush(); time.sleep(0.01)\n"
        "sys.stdout.write('\\r done\\n'); sys.stdout.flush()\n"
        "print('next line')"
    ),
    "display_update_clear": (
        "from IPython.display import display, clear_output\n"
        "h = display('one', display_id=True)\n"
        "h.update('two')\n"
        "for i in range(2):\n"
        "    clear_output(wait=True)\n"
        "    print(f'frame {i}', flush=True)"
    ),
    "error": "def f():\n    return 1 / 0\nf()",
}


def trimmed(msg: dict) -> dict:
    return {
        "header": {"msg_type": msg["header"]["msg_type"]},
        "parent_header": {"msg_id": "PARENT"},
        "content": msg["content"],
    }


async def record_cases(cases: dict[str, str], directory: Path, recorded_with: str) -> None:
    """Run each case's code in a fresh python3 kernel and write NAME.json into `directory`:
    the code, `recorded_with`, and the IOPub messages its execute request caused."""
    km = AsyncKernelManager(kernel_name="python3")
    with tempfile.TemporaryFile("w") as log:
        await km.start_kernel(stdout=log, stderr=log)
        kc = km.client()
        kc.start_channels(hb=False, stdin=False)
        await kc.wait_for_ready(timeout=30)
        for name, code in cases.items():
            msg_id = kc.execute(code, stop_on_error=False)
            messages = []
            while True:
                msg = await kc.get_iopub_msg(timeout=10)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                messages.append(trimmed(msg))
                if msg["header"]["msg_type"] == "status" and \
                        msg["content"]["execution_state"] == "idle":
                    break
            await kc.get_shell_msg(timeout=10)
            recording = {"recorded_with": recorded_with, "code": code, "messages": messages}
            (directory / f"{name}.json").write_text(json.dumps(recording, indent=1) + "\n")
        kc.stop_channels()
        await km.shutdown_kernel()


async def record() -> None:
    import ipykernel

    await record_cases(CASES, HERE, f"ipykernel {ipykernel.__version__}")


if __name__ == "__main__":
    asyncio.run(record())
