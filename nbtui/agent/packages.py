"""install_packages: pip requirement strings installed into the kernel's own interpreter."""

from __future__ import annotations

import asyncio

from packaging.requirements import InvalidRequirement, Requirement

from nbtui.core.kernel import KernelSession
from nbtui.core.render import excerpt

INSTALL_TIMEOUT = 900.0


class PackageError(Exception):
    """A package request was refused or could not be carried out; one sentence."""


def parse_requirements(packages: object) -> list[str]:
    """Check that every entry is a pip requirement string (no options, no shell).

    Raises:
        PackageError: an entry is not a requirement string.
    """
    if not isinstance(packages, list) or not packages:
        raise PackageError("packages is a non-empty list of requirement strings, "
                           'e.g. ["pandas>=2", "scikit-learn"].')
    result = []
    for entry in packages:
        if not isinstance(entry, str) or not entry.strip():
            raise PackageError(f"{excerpt(entry)} is not a requirement string.")
        text = entry.strip()
        # pip runs without a shell, so only options (which could point pip elsewhere) and
        # line breaks need refusing before the PEP 508 parse.
        if text.startswith("-") or "\n" in text or "\r" in text:
            raise PackageError(f"{excerpt(text)} is not a requirement string (pip options are not "
                               "accepted).")
        try:
            Requirement(text)
        except InvalidRequirement as exc:
            reason = str(exc).splitlines()[0].rstrip(".")
            raise PackageError(f"{excerpt(text)} is not a requirement string: "
                               f"{reason[:200]}.") from None
        result.append(text)
    return result


async def kernel_interpreter(kernel: KernelSession, author: str) -> str:
    """The path of the Python interpreter the kernel runs, asked of the kernel itself."""
    probe = kernel.run_code("import sys as _nbtui_sys; print(_nbtui_sys.executable); "
                            "del _nbtui_sys", author, store_history=False)
    if not await probe.wait(30):
        raise PackageError("The kernel is busy; try install_packages again when it is idle.")
    text = "".join(o.get("text", "") for o in probe.outputs if o.get("output_type") == "stream")
    lines = [line for line in text.splitlines() if line.strip()]
    if probe.status != "ok" or not lines:
        raise PackageError("This kernel is not a Python kernel, so packages cannot be "
                           "installed with pip.")
    return lines[-1].strip()


async def install_into_kernel(kernel: KernelSession, requirements: list[str],
                              author: str) -> dict[str, object]:
    """Run `python -m pip install` with the kernel's interpreter; never touches the terminal."""
    python = await kernel_interpreter(kernel, author)
    process = await asyncio.create_subprocess_exec(
        python, "-m", "pip", "install", "--no-input", "--disable-pip-version-check",
        *requirements,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), INSTALL_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise PackageError(f"pip did not finish within {INSTALL_TIMEOUT:g} seconds and was "
                           "stopped.") from None
    output = out.decode(errors="replace")
    status = "ok" if process.returncode == 0 else "error"
    installed: list[str] = []
    for line in output.splitlines():
        if line.startswith("Successfully installed "):
            installed = line[len("Successfully installed "):].split()
    return {"status": status, "installed": installed, "output": output, "python": python}
