"""install_packages on a kernel that runs on a Jupyter server installs there, through the
kernel, not with this machine's pip."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbtui.agent import packages
from nbtui.agent.packages import PackageError, install_into_kernel
from tests.test_remote_kernel import Server, gateway, remote_session  # noqa: F401


async def test_install_on_a_server_kernel_runs_pip_in_the_kernel(
        gateway: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """On a Kernel Gateway kernel, install_packages runs pip in the kernel's environment (no
    local installer is started) and says what it did; a local path is refused in one
    sentence, since the kernel's machine cannot see it."""
    def no_local_installer(*command: str) -> None:
        raise AssertionError(f"a local installer ran: {command}")

    monkeypatch.setattr(packages, "_run", no_local_installer)
    async with remote_session(gateway.url, tmp_path) as ks:
        await ks.start()
        outcome = await install_into_kernel(ks, ["packaging"], "claude")
        assert outcome["status"] == "ok" and outcome["installer"] == "pip"
        with pytest.raises(PackageError, match="is a path on this machine, but the kernel runs "
                                               "on a server"):
            await install_into_kernel(ks, [str(tmp_path / "pkg.whl")], "claude")
