"""Finding a session: the runtime directory depends only on who the user is, and one notebook
is open in one session at most whatever runtime directory each session uses."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from nbtui.agent.sessions import (
    SessionError,
    SessionLock,
    SessionRecord,
    choose_session,
    notebook_lock_path,
)
from nbtui.core import paths
from tests.conftest import NBTUI
from tests.test_cli import assert_one_line_error, run_nbtui, serving

HELLO = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "trimmed", "version": "0"}}}) + "\n"

CLIENT_VARIABLES = ("HOME", "PATH", "SHELL", "TERM", "USER", "LOGNAME", "LANG")
"""What agent clients (the TypeScript SDK's stdio transport, the Inspector, Codex) pass on."""


def trimmed_environment() -> dict[str, str]:
    """The environment an agent client gives the `nbtui attach` it starts."""
    env = {key: os.environ[key] for key in CLIENT_VARIABLES if key in os.environ}
    env.setdefault("HOME", str(Path.home()))
    env.setdefault("PATH", os.environ.get("PATH", "/usr/bin:/bin"))
    return env


def test_runtime_dir_ignores_xdg_runtime_dir_and_tmpdir(tmp_path, monkeypatch):
    """Without NBTUI_RUNTIME_DIR the runtime directory is the same whatever XDG_RUNTIME_DIR
    and TMPDIR say: /run/user/UID/nbtui when the system keeps that directory, else
    /tmp/nbtui-UID."""
    monkeypatch.delenv("NBTUI_RUNTIME_DIR")
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.delenv("TMPDIR", raising=False)
    bare = paths.runtime_dir()
    (tmp_path / "xdg").mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "xdg"))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert paths.runtime_dir() == bare
    system = Path("/run/user") / str(os.getuid())
    expected = system / "nbtui" if system.is_dir() else Path(f"/tmp/nbtui-{os.getuid()}")
    assert bare == expected


def test_runtime_dir_override_is_honoured(tmp_path, monkeypatch):
    """NBTUI_RUNTIME_DIR, set explicitly, is the runtime directory."""
    monkeypatch.setenv("NBTUI_RUNTIME_DIR", str(tmp_path / "rt"))
    assert paths.runtime_dir() == tmp_path / "rt"


def test_attach_with_a_trimmed_environment_finds_a_session_started_with_a_full_one(tmp_path):
    """A session started with XDG_RUNTIME_DIR and TMPDIR set is found by an `nbtui attach`
    that has only HOME, PATH, SHELL, TERM, USER, LOGNAME and LANG, as agent clients start it."""
    notebook = tmp_path / "found.ipynb"
    xdg = tmp_path / "xdg"
    xdg.mkdir(mode=0o700)
    full = {key: value for key, value in os.environ.items() if key != "NBTUI_RUNTIME_DIR"}
    full.update(XDG_RUNTIME_DIR=str(xdg), TMPDIR=str(tmp_path))
    with serving(notebook, env=full) as (_proc, socket_path):
        assert socket_path.startswith(str(paths.SHARED_TMP)) or \
            socket_path.startswith(str(paths.SYSTEM_RUNTIME_ROOT))
        attach = subprocess.run([NBTUI, "attach", str(notebook)], input=HELLO,
                                capture_output=True, text=True, timeout=60,
                                env=trimmed_environment(), cwd=tmp_path)
    reply = json.loads(attach.stdout.splitlines()[0])
    assert reply["result"]["serverInfo"]["name"] == "nbtui", attach.stderr


def test_nothing_found_says_where_it_looked(tmp_path):
    """attach with no session running names the runtime directory it searched."""
    proc = run_nbtui("attach", str(tmp_path / "none.ipynb"))
    assert_one_line_error(proc, "No running nbtui session has", os.environ["NBTUI_RUNTIME_DIR"])
    proc = run_nbtui("attach")
    assert_one_line_error(proc, "No nbtui session is running", os.environ["NBTUI_RUNTIME_DIR"])


def test_second_session_with_another_runtime_directory_is_refused(tmp_path):
    """A notebook open in one session cannot be opened by a second one that uses another
    runtime directory (or after the first one's directory was removed): the lock lives
    beside the notebook, and the message names the first session."""
    notebook = tmp_path / "once.ipynb"
    with serving(notebook) as (proc, socket_path):
        lock = notebook_lock_path(notebook)
        assert lock.exists() and lock.stat().st_mode & 0o777 == 0o600
        other = dict(os.environ, NBTUI_RUNTIME_DIR=str(tmp_path / "other-rt"))
        second = run_nbtui("serve", str(notebook), env=other)
        assert_one_line_error(second, "once.ipynb is already open in another nbtui session",
                              f"pid {proc.pid}", socket_path)
    assert not notebook_lock_path(notebook).exists()


def test_lock_beside_the_notebook_survives_a_removed_runtime_directory(tmp_path, monkeypatch):
    """Removing the runtime directory does not free the notebook: a second lock is refused."""
    runtime = tmp_path / "rt"
    monkeypatch.setenv("NBTUI_RUNTIME_DIR", str(runtime))
    notebook = tmp_path / "kept.ipynb"
    first = SessionLock(notebook, None)
    try:
        shutil.rmtree(runtime)
        with pytest.raises(SessionError, match="already open in another nbtui session"):
            SessionLock(notebook, None)
    finally:
        first.release()
    SessionLock(notebook, None).release()


def test_a_read_only_directory_still_opens_with_the_runtime_lock(tmp_path, monkeypatch):
    """Where no lock file can be made beside the notebook, the session opens anyway and the
    runtime directory's lock still keeps a second session out."""
    directory = tmp_path / "ro"
    directory.mkdir()
    notebook = directory / "ro.ipynb"
    notebook.write_text("{}")
    monkeypatch.setattr("nbtui.agent.sessions.notebook_lock_path",
                        lambda _nb: Path("/proc/no-such-dir/.lock"))
    first = SessionLock(notebook, None)
    try:
        with pytest.raises(SessionError, match="already open"):
            SessionLock(notebook, None)
    finally:
        first.release()


def test_a_lock_file_planted_by_another_user_is_ignored(tmp_path):
    """A `.NAME.nbtui-lock` that is not the user's own (here: a symbolic link) neither blocks
    the session nor is written through."""
    notebook = tmp_path / "planted.ipynb"
    target = tmp_path / "target"
    target.write_text("untouched")
    notebook_lock_path(notebook).symlink_to(target)
    lock = SessionLock(notebook, None)
    lock.release()
    assert target.read_text() == "untouched"
    assert notebook_lock_path(notebook).is_symlink()


def test_a_relative_name_that_is_no_file_here_matches_the_one_session_with_it(tmp_path):
    """`nbtui attach work/sales.ipynb` from a directory where that file is not (an SSH
    client's home) attaches to the one running session whose notebook ends with that path."""
    notebook = tmp_path / "work" / "sales.ipynb"
    notebook.parent.mkdir()
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    with serving(notebook) as (_proc, _socket):
        attach = subprocess.run([NBTUI, "attach", "work/sales.ipynb"], input=HELLO,
                                capture_output=True, text=True, timeout=60, cwd=elsewhere)
        missing = run_nbtui("attach", "other/sales.ipynb", cwd=elsewhere)
    reply = json.loads(attach.stdout.splitlines()[0])
    assert reply["result"]["serverInfo"]["name"] == "nbtui", attach.stderr
    assert_one_line_error(missing, "No running nbtui session has other/sales.ipynb")


def attached_notebook(cwd: Path, *target: str) -> str:
    """The notebook path `get_notebook` reports through an `nbtui attach` started in `cwd`."""
    messages = [
        json.loads(HELLO),
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "get_notebook", "arguments": {}}},
    ]
    proc = subprocess.Popen([NBTUI, "attach", *target], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)
    try:
        proc.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
        proc.stdin.flush()
        for line in proc.stdout:
            reply = json.loads(line)
            if reply.get("id") == 2:
                result = reply["result"]
                data = result.get("structuredContent") or json.loads(
                    result["content"][0]["text"])
                return data["path"]
        raise AssertionError(proc.stderr.read())
    finally:
        proc.kill()
        proc.communicate()


def test_attach_without_a_target_picks_the_session_under_the_working_directory(tmp_path):
    """With two sessions running, attach with no target picks the one whose notebook is under
    the client's working directory."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one, two = tmp_path / "a" / "one.ipynb", tmp_path / "b" / "two.ipynb"
    with serving(one), serving(two):
        assert attached_notebook(tmp_path / "b") == str(two)
        assert attached_notebook(tmp_path / "a") == str(one)


def test_choose_session_falls_back_to_the_one_typed_in_most_recently(tmp_path):
    """Several sessions under the working directory (or none): the one whose terminal the
    human typed in last wins, and a session without a terminal counts from its start."""
    ttys = []
    for name, atime in (("tty-old", 1_000.0), ("tty-new", 5_000.0)):
        tty = tmp_path / name
        tty.write_text("")
        os.utime(tty, (atime, atime))
        ttys.append(str(tty))
    old = SessionRecord(1, str(tmp_path / "old.ipynb"), "s1", 100.0, tty=ttys[0])
    new = SessionRecord(2, str(tmp_path / "new.ipynb"), "s2", 100.0, tty=ttys[1])
    served = SessionRecord(3, str(tmp_path / "served.ipynb"), "s3", 3_000.0)
    assert choose_session([old, new, served], tmp_path) is new
    assert choose_session([old, served], tmp_path) is served
    assert choose_session([old, new, served], Path("/elsewhere")) is new
    assert choose_session([old], Path("/elsewhere")) is old


async def test_the_agent_is_told_which_notebook_it_has_and_how_to_pick_another(tmp_path):
    """The server's instructions name the session's notebook and how to reach another one."""
    from tests.conftest import agent, serve_notebook

    notebook = tmp_path / "told.ipynb"
    async with serve_notebook(notebook, start_kernel=False) as served:
        async with agent(served.socket) as client:
            instructions = client.instructions or ""
    assert str(notebook) in instructions and "nbtui attach OTHER.ipynb" in instructions


HOLD_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, b"planted")
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


def test_a_lock_file_another_user_holds_beside_the_notebook_neither_blocks_nor_is_written():
    """In a shared directory, another user's `.NAME.nbtui-lock`, held with flock, does not keep
    the user from opening the notebook, and nbtui writes nothing into it."""
    import tempfile

    from tests.conftest import as_other_user

    shared = Path(tempfile.mkdtemp(prefix="nbtui-shared-", dir="/tmp"))
    shared.chmod(0o1777)  # as /tmp is: every user may create files there
    notebook = shared / "team.ipynb"
    lock = notebook_lock_path(notebook)
    holder = subprocess.Popen(as_other_user("-c", HOLD_LOCK, str(lock)), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held", holder.stderr.read()
        assert lock.stat().st_uid != os.getuid()
        session_lock = SessionLock(notebook, None)
        session_lock.release()
        assert lock.read_bytes() == b"planted"
    finally:
        holder.kill()
        holder.communicate()
        shutil.rmtree(shared, ignore_errors=True)
