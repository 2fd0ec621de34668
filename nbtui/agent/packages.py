"""install_packages: pip requirement strings installed into the kernel's own interpreter."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from nbtui.core.kernel import KernelSession
from nbtui.core.kernels.existing import ExistingKernel
from nbtui.core.kernels.local import LocalKernel
from nbtui.core.render import excerpt

INSTALL_TIMEOUT = 900.0
TAIL_LINES = 12
"""Lines of the installer's output a failure quotes."""
TAIL_LINE_CHARS = 300
LOCAL_SUFFIXES = (".whl", ".tar.gz", ".zip")
"""Names of local archives pip installs (folders are recognised by their path)."""


class PackageError(Exception):
    """A package request was refused or could not be carried out; one sentence."""


def parse_requirements(packages: object, folder: Path) -> list[str]:
    """Check that every entry is a pip requirement string or a local wheel, archive or
    project folder (as `%pip install` takes them; relative paths are read from `folder`), and
    nothing else: no options, no shell.

    Returns:
        The requirements, local paths made absolute.

    Raises:
        PackageError: an entry is neither.
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
        if _looks_like_path(text):
            path = (folder / Path(text).expanduser()).resolve()
            if not path.exists():
                raise PackageError(f"{excerpt(text)} looks like a local path, but there is no "
                                   f"such file or folder (relative paths start at {folder}).")
            result.append(str(path))
            continue
        try:
            Requirement(text)
        except InvalidRequirement as exc:
            reason = str(exc).splitlines()[0].rstrip(".")
            raise PackageError(f"{excerpt(text)} is not a requirement string: "
                               f"{reason[:200]}.") from None
        result.append(text)
    return result


def _looks_like_path(text: str) -> bool:
    if "@" in text:  # "name @ url": a PEP 508 direct reference
        return False
    return "/" in text or text.startswith((".", "~")) or text.endswith(LOCAL_SUFFIXES)


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


async def _run(*command: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(process.communicate(), INSTALL_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise PackageError(f"{command[0]} did not finish within {INSTALL_TIMEOUT:g} seconds "
                           "and was stopped.") from None
    assert process.returncode is not None
    return process.returncode, out.decode(errors="replace")


async def installer_for(python: str) -> tuple[str, list[str]]:
    """The installer the kernel's environment has, and the command that installs with it:
    its own pip, else uv aimed at its interpreter (a venv made by uv has no pip).

    Raises:
        PackageError: the environment has no pip and uv is not installed.
    """
    code, _ = await _run(python, "-m", "pip", "--version")
    if code == 0:
        return "pip", [python, "-m", "pip", "install", "--no-input",
                       "--disable-pip-version-check"]
    uv = shutil.which("uv")
    if uv is not None:
        return "uv", [uv, "pip", "install", "--python", python]
    raise PackageError(f"The kernel's environment ({python}) has no pip, and uv is not "
                       "installed; install pip there (python -m ensurepip) or install uv.")


IN_KERNEL_INSTALL = """\
import json as _nbtui_json, subprocess as _nbtui_sp, sys as _nbtui_sys
_nbtui_r = _nbtui_sp.run([_nbtui_sys.executable, "-m", "pip", "install", "--no-input",
                          "--disable-pip-version-check", *{requirements!r}],
                         capture_output=True, text=True, stdin=_nbtui_sp.DEVNULL)
print(_nbtui_json.dumps({{"code": _nbtui_r.returncode,
                          "output": _nbtui_r.stdout + _nbtui_r.stderr}}))
del _nbtui_json, _nbtui_sp, _nbtui_sys, _nbtui_r
"""
"""Runs pip in the kernel's own environment, on the kernel's machine, and prints its outcome."""


async def _run_in_kernel(kernel: KernelSession, requirements: list[str],
                         author: str) -> tuple[int, str]:
    local = [r for r in requirements if _looks_like_path(r)]
    if local:
        raise PackageError(f"{excerpt(local[0])} is a path on this machine, but the kernel runs "
                           "on a server; install it from an index or a URL instead.")
    run = kernel.run_code(IN_KERNEL_INSTALL.format(requirements=requirements), author,
                          store_history=False)
    if not await run.wait(INSTALL_TIMEOUT):
        raise PackageError(f"pip did not finish within {INSTALL_TIMEOUT:g} seconds on the "
                           "kernel's machine; it is still running there.")
    text = "".join(o.get("text", "") for o in run.outputs if o.get("output_type") == "stream")
    try:
        outcome = json.loads(text.strip().splitlines()[-1])
        return int(outcome["code"]), str(outcome["output"])
    except (ValueError, IndexError, KeyError, TypeError):
        raise PackageError("pip could not be run in the kernel's environment on the server; "
                           f"the kernel said: {excerpt(text or run.status)}") from None


def installed_versions(output: str) -> list[str]:
    """The `name==version` of every package an installer's output says it installed."""
    installed: list[str] = []
    for line in output.splitlines():
        if line.startswith("Successfully installed "):  # pip: name-version, name may hold '-'
            for item in line[len("Successfully installed "):].split():
                name, _, version = item.rpartition("-")
                installed.append(f"{name}=={version}")
        elif line.startswith(" + "):  # uv: " + name==version"
            installed.append(line[3:].strip())
    return installed


def output_tail(output: str, lines: int = TAIL_LINES) -> str:
    """The last lines of an installer's output, where it says what went wrong."""
    kept = [line for line in output.splitlines() if line.strip()][-lines:]
    return "\n".join(line[:TAIL_LINE_CHARS] for line in kept)


async def install_into_kernel(kernel: KernelSession, requirements: list[str],
                              author: str) -> dict[str, object]:
    """Install into the kernel's own environment with what it has (pip, else uv); never
    touches the terminal.

    Returns:
        `{status: "ok", installed: ["name==version", ...], installer, python}`.

    Raises:
        PackageError: the install failed (one sentence and the tail of the installer's output),
            or there is no installer.
    """
    python = await kernel_interpreter(kernel, author)
    if not isinstance(kernel.backend, LocalKernel | ExistingKernel):
        # The kernel runs on another machine (a Jupyter server): install there, through it.
        installer = "pip"
        code, output = await _run_in_kernel(kernel, requirements, author)
    else:
        installer, command = await installer_for(python)
        code, output = await _run(*command, *requirements)
    if code != 0:
        raise PackageError(f"{installer} could not install {', '.join(requirements)} into "
                           f"{python} (exit status {code}); the end of its output:\n"
                           f"{output_tail(output)}")
    return {"status": "ok", "installed": installed_versions(output), "installer": installer,
            "python": python}
