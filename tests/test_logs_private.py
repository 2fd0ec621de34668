"""Log files are private to the user (0600 in 0700 directories) and old runs' logs are pruned."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from nbtui.core import private_files
from nbtui.core.session import NotebookSession
from tests.conftest import NBTUI, OTHER_UID, as_other_user, poll

# What another user gets when listing each directory and reading each file it is given.
PROBE = """
import json, os, sys
seen = {}
for path in sys.argv[1:]:
    try:
        seen[path] = sorted(os.listdir(path)) if os.path.isdir(path) else open(path).read()
    except OSError as exc:
        seen[path] = "denied: " + exc.strerror
print(json.dumps(seen))
"""


def as_another_user(*paths: Path) -> dict[str, str]:
    """List or read each path as uid 65534, which only /usr/bin/python3 is readable for."""
    proc = subprocess.run(as_other_user("-c", PROBE, *map(str, paths)),
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture
def public_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """$NBTUI_STATE_DIR (not yet created) inside a directory every user can enter: pytest's own
    temp directories are private to root, which would hide a loose state directory."""
    parent = Path(tempfile.mkdtemp(prefix="nbtui-state-", dir="/tmp"))
    parent.chmod(0o755)
    monkeypatch.setenv("NBTUI_STATE_DIR", str(parent / "state"))
    try:
        yield parent / "state"
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_logs_are_0600_in_0700_directories_whatever_the_umask(
        public_state: Path, tmp_path: Path, restored_logging: None) -> None:
    """nbtui's log and the kernel's log are created 0600 in 0700 directories, even with umask 0."""
    from nbtui.cli import setup_logging

    old_umask = os.umask(0)
    try:
        nbtui_log = setup_logging(to_stderr=False)
        kernel_log = NotebookSession(tmp_path / "a.ipynb").kernel_log
    finally:
        os.umask(old_umask)
    logs_dir = public_state / "logs"
    assert nbtui_log == logs_dir / f"nbtui-{os.getpid()}.log"
    assert kernel_log == logs_dir / f"kernel-{os.getpid()}.log"
    assert (mode(public_state), mode(logs_dir)) == (0o700, 0o700)
    assert (mode(nbtui_log), mode(kernel_log)) == (0o600, 0o600)


async def test_another_user_cannot_read_the_kernel_log(public_state: Path, tmp_path: Path) -> None:
    """What the kernel prints on its own stdout lands in a log another user can neither read nor
    find by listing the directory."""
    session = NotebookSession(tmp_path / "secret.ipynb", autosave_seconds=0)
    await session.start()
    try:
        await session.kernel.wait_ready(60)
        session.kernel.run_code("import os; os.write(1, b'secret-kernel-output\\n')", "user")
        await poll(lambda: "secret-kernel-output" in session.kernel_log.read_text(),
                   message="the kernel's raw output in its log")
    finally:
        await session.close(save=False)
    logs_dir = public_state / "logs"
    assert mode(session.kernel_log) == 0o600 and mode(logs_dir) == 0o700
    seen = as_another_user(public_state, logs_dir, session.kernel_log)
    assert all(result.startswith("denied: Permission denied") for result in seen.values()), seen


def test_a_loose_logs_directory_of_the_user_is_tightened(public_state: Path,
                                                         tmp_path: Path) -> None:
    """A state or logs directory left 0755, and a log left 0644, by an older nbtui become 0700
    and 0600."""
    logs_dir = public_state / "logs"
    logs_dir.mkdir(parents=True)
    public_state.chmod(0o755)
    logs_dir.chmod(0o755)
    left = logs_dir / f"kernel-{os.getpid()}.log"
    left.write_text("from an earlier run with the same pid\n")
    left.chmod(0o644)

    session = NotebookSession(tmp_path / "a.ipynb")

    assert session.kernel_log == left
    assert left.read_text() == "from an earlier run with the same pid\n"
    assert (mode(public_state), mode(logs_dir), mode(left)) == (0o700, 0o700, 0o600)


def run_serve(notebook: Path) -> subprocess.CompletedProcess:
    """`nbtui serve NOTEBOOK`, stopped at once if it gets as far as serving."""
    proc = subprocess.Popen([NBTUI, "serve", str(notebook)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    first_line = proc.stdout.readline()  # the socket path once serving, else "" at exit
    if first_line:
        proc.terminate()
    stdout, stderr = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, first_line + stdout, stderr)


def assert_refused_in_one_sentence(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 1 and proc.stdout == ""
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nbtui: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_a_symlinked_logs_directory_is_refused(public_state: Path, tmp_path: Path) -> None:
    """A logs directory that is a symlink (planted, or pointing anywhere) is refused in one
    sentence, and nothing is written or chmodded through it."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o755)
    elsewhere.chmod(0o755)
    public_state.mkdir(mode=0o700)
    (public_state / "logs").symlink_to(elsewhere)

    proc = run_serve(tmp_path / "nb.ipynb")

    assert_refused_in_one_sentence(proc, str(public_state / "logs"))
    assert list(elsewhere.iterdir()) == [] and mode(elsewhere) == 0o755
    assert not (tmp_path / "nb.ipynb").exists()


def test_a_logs_directory_of_another_user_is_refused(public_state: Path, tmp_path: Path) -> None:
    """A logs directory owned by another user is refused in one sentence and left alone."""
    logs_dir = public_state / "logs"
    logs_dir.mkdir(parents=True)
    logs_dir.chmod(0o777)
    os.chown(logs_dir, OTHER_UID, OTHER_UID)

    proc = run_serve(tmp_path / "nb.ipynb")

    assert_refused_in_one_sentence(proc, str(logs_dir), "another user")
    assert list(logs_dir.iterdir()) == [] and mode(logs_dir) == 0o777
    assert logs_dir.stat().st_uid == OTHER_UID


def test_pruning_keeps_the_newest_runs_and_the_logs_of_live_processes(
        public_state: Path, tmp_path: Path) -> None:
    """Starting a session deletes all but the newest runs' logs (this run counts as one), except
    the logs of processes still alive, however old."""
    logs_dir = public_state / "logs"
    logs_dir.mkdir(parents=True)
    # Pids above pid_max can never be alive.
    first_dead = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1
    dead_runs = [first_dead + n for n in range(private_files.KEEP_RUNS + 10)]
    live = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                            stdin=subprocess.PIPE)
    try:
        for age, pid in enumerate([live.pid, *dead_runs]):
            for kind in ("nbtui", "kernel"):
                path = logs_dir / f"{kind}-{pid}.log"
                path.write_text("a run\n")
                seconds = 1_000_000 + age * 60  # the live run is the oldest of all
                os.utime(path, (seconds, seconds))
        unrelated = logs_dir / "notes.txt"
        unrelated.write_text("not a log of nbtui\n")

        NotebookSession(tmp_path / "a.ipynb")

        left = {p.name for p in logs_dir.iterdir()}
    finally:
        live.stdin.close()
        live.wait(30)
    newest_dead = dead_runs[-(private_files.KEEP_RUNS - 1):]
    expected = {f"{kind}-{pid}.log" for pid in [live.pid, *newest_dead] for kind in
                ("nbtui", "kernel")}
    assert left == expected | {f"kernel-{os.getpid()}.log", "notes.txt"}
