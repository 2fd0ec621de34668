"""The `nbtui` command: open a notebook, serve it headless, attach an agent, list sessions."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shlex
import shutil
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

import click

from nbtui import __version__
from nbtui.core import paths
from nbtui.core.config import IMAGE_CHOICES, Config, load_config

log = logging.getLogger("nbtui")

ACCESS_CHOICES = ("read", "edit", "run")


class UserError(click.ClickException):
    """An error the user can fix: printed as one line, exit status 1, no traceback."""

    def show(self, file=None) -> None:  # noqa: ANN001 - click's signature
        click.echo(f"nbtui: {self.format_message()}", err=True)


def setup_logging(to_stderr: bool) -> Path:
    """Log to a private file under the state directory (and, for `serve`, warnings to stderr).

    Must run before the MCP server is created: it configures the root logger otherwise, with
    a handler that writes to the terminal. The file is 0600 in a 0700 directory, and old runs'
    logs are pruned (see `nbtui.core.private_files`).

    Raises:
        UserError: the logs directory is not private to the user or cannot be created.
    """
    from nbtui.core import private_files

    try:
        log_file = private_files.create_log("nbtui")
    except paths.UnsafeDirectory as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"Could not create a log file in {paths.state_dir() / 'logs'}: "
                        f"{exc.strerror or exc}.") from None
    root = logging.getLogger()
    root.handlers.clear()
    handler = logging.FileHandler(log_file)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # Library warnings would otherwise print to stderr, under the TUI's feet.
    logging.captureWarnings(True)
    if to_stderr:
        err = logging.StreamHandler(sys.stderr)
        err.setLevel(logging.WARNING)
        err.setFormatter(logging.Formatter("nbtui: %(message)s"))
        root.addHandler(err)
    return log_file


class DefaultGroup(click.Group):
    """`nbtui NOTEBOOK` means `nbtui open NOTEBOOK`: anything that is not a command opens.

    Its help therefore also lists the options of `open`, taken from that command.
    """

    default_command = "open"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h",
                                                                     "--version"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return ["[OPTIONS] NOTEBOOK", "|", "COMMAND [ARGS]..."]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Write the options of `nbtui NOTEBOOK` (those of `open`), then the commands."""
        opener = self.commands[self.default_command]
        open_ctx = click.Context(opener, info_name=self.default_command, parent=ctx)
        records = [param.get_help_record(open_ctx) for param in opener.params
                   if isinstance(param, click.Option)]
        with formatter.section("Options of nbtui NOTEBOOK"):
            formatter.write_dl(records)
        super().format_commands(ctx, formatter)


def require_ipynb(ctx: click.Context, param: click.Parameter, notebook: str) -> str:
    """Refuse a notebook path that does not end in `.ipynb`, before anything reads or writes it.

    Raises:
        UserError: the path does not end in `.ipynb` (in any case).
    """
    if not notebook.lower().endswith(".ipynb"):
        raise UserError(f"{notebook} is not a .ipynb file, so nbtui will not open it as a "
                        "notebook.")
    return notebook


def session_options(fn):  # noqa: ANN001, ANN201 - click decorator
    """Options shared by `open` and `serve`."""
    fn = click.option("--kernel", "kernel_name", metavar="NAME",
                      help="Kernelspec to start (default: the notebook's, else the config "
                      "file's kernel, else python3).")(fn)
    fn = click.option("--socket", "socket_path", metavar="PATH",
                      help="Where to put the agent socket (default: a private runtime dir).")(fn)
    fn = click.option("--autosave", type=click.FloatRange(min=0), metavar="SECONDS",
                      help="Save this often when there are changes (0: never; default: the "
                      "config file's autosave, else 30).")(fn)
    fn = click.option("--agent-access", type=click.Choice(ACCESS_CHOICES), default="run",
                      show_default=True,
                      help="read: agents only read; edit: no code runs; run: everything.")(fn)
    fn = click.option("--server", "server_url", metavar="URL",
                      help="Run the kernel on this Jupyter server (Jupyter Server, Kernel "
                      "Gateway, Enterprise Gateway); its token is read from JUPYTER_TOKEN or "
                      "NBTUI_SERVER_TOKEN.")(fn)
    fn = click.option("--existing", "existing_connection_file", metavar="CONNECTION_FILE",
                      type=click.Path(dir_okay=False),
                      help="Attach to the running kernel of this connection file, as `jupyter "
                      "console --existing` does; nbtui neither restarts nor stops it.")(fn)
    return fn


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nbtui")
def main() -> None:
    """A terminal Jupyter notebook that you and an AI agent work in together.

    \b
      nbtui NOTEBOOK          open a notebook (created if missing)
      nbtui serve NOTEBOOK    the same session without the terminal UI
      nbtui attach            MCP over stdio for an agent, bridged to a running session

    Settings (kernel, autosave, images, theme, [keys]) are read from
    $XDG_CONFIG_HOME/nbtui/config.toml, else ~/.config/nbtui/config.toml.
    """


def _open_session(notebook: str, kernel_name: str | None, autosave: float | None, access: str,
                  config: Config, server_url: str | None = None,
                  existing_connection_file: str | None = None):
    """The session of a notebook, with the config file's kernel and autosave where the command
    line and the notebook say nothing; its kernel local, on a server, or an existing one."""
    from nbtui.core.kernel import KernelError
    from nbtui.core.policy import AgentPolicy
    from nbtui.core.session import DEFAULT_AUTOSAVE_SECONDS, NotebookSession
    from nbtui.core.storage import NotebookFileError

    if existing_connection_file and not Path(existing_connection_file).is_file():
        raise UserError(f"{existing_connection_file} is not a file; give the connection file "
                        "of a running kernel (`jupyter --runtime-dir` shows where they are).")
    if kernel_name is None and config.kernel and _named_kernel(Path(notebook)) is None:
        kernel_name = config.kernel
    if autosave is None:
        autosave = DEFAULT_AUTOSAVE_SECONDS if config.autosave is None else config.autosave
    try:
        return NotebookSession(notebook, kernel_name, autosave_seconds=autosave,
                               policy=AgentPolicy(access=access), server_url=server_url,
                               existing_connection_file=existing_connection_file)
    except (NotebookFileError, KernelError) as exc:
        raise UserError(str(exc)) from None


def _named_kernel(notebook: Path) -> str | None:
    """The kernelspec name a notebook file asks for (None: it names none, or it cannot be read:
    opening it says why)."""
    try:
        with notebook.open("rb") as file:
            spec = json.load(file).get("metadata", {}).get("kernelspec", {})
    except (OSError, ValueError, AttributeError):
        return None
    name = spec.get("name") if isinstance(spec, dict) else None
    return name if isinstance(name, str) and name else None


def forced_image_mode(option: str | None, environ: Mapping[str, str],
                      config: Config) -> str | None:
    """How to show images whatever the terminal: --images, else (unless $NBTUI_IMAGES says)
    the config file's images; None (or auto) leaves it to the detection."""
    if option is None:
        option = None if environ.get("NBTUI_IMAGES") else config.images
    return None if option in (None, "auto") else option


def _load_config() -> tuple[Config, list[str]]:
    """The user's config file, and its problems (each logged)."""
    config, problems = load_config()
    for problem in problems:
        log.warning("%s", problem)
    return config, problems


async def _start_session(session, socket_path: str | None, with_agent: bool):  # noqa: ANN001, ANN202
    """Take the notebook's lock, start the kernel and (unless disabled) the agent endpoint."""
    from nbtui.agent.endpoint import AgentEndpoint
    from nbtui.agent.sessions import SessionError, SessionLock, default_socket_path
    from nbtui.core.kernel import KernelError
    from nbtui.core.paths import UnsafeDirectory

    socket_path = socket_path or (default_socket_path(session.path) if with_agent else None)
    try:
        lock = SessionLock(session.path, socket_path)
    except (SessionError, UnsafeDirectory) as exc:
        raise UserError(str(exc)) from None
    endpoint = None
    try:
        session.check_kernel()
        if with_agent:
            endpoint = AgentEndpoint(session, socket_path)
            await endpoint.start(lock)
        await session.start()
    except (KernelError, SessionError, OSError) as exc:
        if endpoint is not None:
            await endpoint.close()
        lock.release()
        message = f"Cannot listen on {socket_path}: {exc.strerror or exc}." if isinstance(
            exc, OSError) else str(exc)
        raise UserError(message) from None
    return lock, endpoint


async def _stop_session(session, lock, endpoint) -> None:  # noqa: ANN001
    """Save, stop the kernel, close the socket and remove the record."""
    try:
        if endpoint is not None:
            await endpoint.close()
        await session.close(save=True)
    finally:
        lock.release()
    if session.last_save_error:
        log.error("%s", session.last_save_error)


@main.command("serve")
@click.argument("notebook", type=click.Path(dir_okay=False), callback=require_ipynb)
@session_options
def serve(notebook: str, kernel_name: str | None, socket_path: str | None,
          autosave: float | None, agent_access: str, server_url: str | None,
          existing_connection_file: str | None) -> None:
    """Run a notebook session without the terminal UI.

    Prints the socket path as the first line on stdout; saves and stops the kernel on
    SIGINT, SIGTERM or SIGHUP, within a few seconds even if a step of that hangs.
    """
    from nbtui.core.exit_watchdog import ExitWatchdog, SocketFile, stop_session_now

    setup_logging(to_stderr=True)
    config, _ = _load_config()  # problems go to stderr, through the log
    session = _open_session(notebook, kernel_name, autosave, agent_access, config, server_url,
                            existing_connection_file)

    async def run() -> None:
        lock, endpoint = await _start_session(session, socket_path, True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        socket_file = SocketFile.of(endpoint.socket_path)
        watchdog = ExitWatchdog(lambda: stop_session_now(session, lock, socket_file))

        def on_signal(signum: int, frame: object) -> None:
            # Not loop.add_signal_handler: this arms the watchdog even if the loop is stuck.
            watchdog.arm()
            loop.call_soon_threadsafe(stop.set)

        signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        previous = {signum: signal.signal(signum, on_signal) for signum in signals}
        click.echo(endpoint.socket_path)
        sys.stdout.flush()
        try:
            await stop.wait()
        finally:
            await _stop_session(session, lock, endpoint)
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    asyncio.run(run())
    if session.last_save_error:
        sys.exit(1)


@main.command("open")
@click.argument("notebook", type=click.Path(dir_okay=False), callback=require_ipynb)
@session_options
@click.option("--no-agent", is_flag=True, help="Do not open the agent socket.")
@click.option("--approve", is_flag=True, help="Ask before every agent execution.")
@click.option("--images", type=click.Choice(IMAGE_CHOICES),
              help="How to show images (default: $NBTUI_IMAGES, else the config file's images, "
              "else auto: detect from the terminal).")
def open_(notebook: str, kernel_name: str | None, socket_path: str | None,
          autosave: float | None, agent_access: str, server_url: str | None,
          existing_connection_file: str | None, no_agent: bool, approve: bool,
          images: str | None) -> None:
    """Open NOTEBOOK in the terminal UI (created if it does not exist)."""
    setup_logging(to_stderr=False)
    config, problems = _load_config()
    session = _open_session(notebook, kernel_name, autosave, agent_access, config, server_url,
                            existing_connection_file)
    from nbtui.tui import settings
    from nbtui.tui.app import run_app
    from nbtui.tui.terminal_query import ask_terminal
    from nbtui.tui.terminal_query import image_support as terminal_image_support
    from nbtui.tui.widgets.images import set_image_mode, terminal_cell_size

    forced = forced_image_mode(images, os.environ, config)
    if forced is not None:
        set_image_mode(forced)  # type: ignore[arg-type]
    answers = ask_terminal()
    if answers is not None:
        support = None if forced is not None else terminal_image_support(
            answers, os.environ, pixel_size_known=terminal_cell_size() is not None)
        if support is not None:
            log.info("Images: %s (%s)", support.mode, support.reason)
            set_image_mode(support)
        settings.use_light_background(answers.light_background)
    settings.use_config(config, problems)
    run_app(session, start=lambda: _start_session(session, socket_path, not no_agent),
            stop=_stop_session, approve=approve)
    if session.last_save_error:
        click.echo(f"nbtui: {session.last_save_error}", err=True)
        sys.exit(1)


@main.command("attach")
@click.argument("target", required=False)
@click.option("--wait", "wait_seconds", type=click.FloatRange(min=0), default=0.0,
              metavar="SECONDS", help="Wait this long for the session to appear.")
def attach(target: str | None, wait_seconds: float) -> None:
    """MCP over stdio for an agent, bridged to a running session.

    TARGET is a socket path, or a notebook path (the session that has it open), or nothing
    (the only running session).
    """
    from nbtui.agent.bridge import bridge, connect_to_session
    from nbtui.agent.sessions import SessionError

    # A missing path may be a socket still to come (--wait); an existing other file never is.
    if (target and os.path.exists(target) and not Path(target).is_socket()
            and not target.lower().endswith(".ipynb")):
        raise UserError(f"{target} is neither a socket nor a .ipynb notebook, so there is no "
                        "session of it to attach to.")
    try:
        ended = bridge(connect_to_session(target, wait_seconds))
    except (SessionError, paths.UnsafeDirectory) as exc:
        raise UserError(str(exc)) from None
    except KeyboardInterrupt:
        ended = "client"
    if ended == "session":
        click.echo("nbtui: the session closed.", err=True)
    # The stdin thread may still be blocked reading; leave without waiting for it.
    sys.stdout.flush()
    os._exit(0)


@main.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(as_json: bool) -> None:
    """Running sessions: pid, notebook, socket, attached agents, start time."""
    from dataclasses import asdict

    from nbtui.agent.sessions import running_sessions

    try:
        records = running_sessions()
    except paths.UnsafeDirectory as exc:
        raise UserError(str(exc)) from None
    if as_json:
        click.echo(json.dumps([asdict(r) for r in records], indent=1))
        return
    if not records:
        click.echo("No nbtui sessions are running.")
        return
    for r in records:
        agents = ", ".join(r.agents) or "no agents"
        click.echo(f"{r.pid:>7}  {r.notebook}\n         socket {r.socket}\n"
                   f"         started {r.started_text}; {agents}")


CLIENTS = ("claude", "codex", "gemini", "goose", "cursor", "vscode", "json")

TOOL_TIMEOUT_SECONDS = 600
"""What the snippets give a client as its per-call timeout: a run waits as long as the agent
asked (`timeout`), and clients' defaults (60 s in Codex) would cut longer ones off."""

STARTUP_TIMEOUT_SECONDS = 30
"""What the snippets give a client to start the server: `attach --wait 10` may wait 10 s."""


@main.command("mcp-config")
@click.option("--client", type=click.Choice(CLIENTS), default="json", show_default=True,
              help="Which agent client to print configuration for.")
@click.option("--ssh", "ssh_host", metavar="HOST",
              help="The session runs on HOST: attach over ssh.")
@click.option("--remote-nbtui", "remote_nbtui", metavar="PATH", default="nbtui",
              show_default=True,
              help="With --ssh: the nbtui command on HOST (its full path when it is not on the "
                   "PATH of a non-interactive ssh command, e.g. ~/.venv/bin/nbtui).")
@click.option("--notebook", metavar="PATH", help="Attach to the session of this notebook.")
def mcp_config(client: str, ssh_host: str | None, remote_nbtui: str,
               notebook: str | None) -> None:
    """Print the configuration snippet that makes an agent client use `nbtui attach`."""
    click.echo(config_snippet(client, ssh_host, notebook, remote_nbtui))


def server_command(ssh_host: str | None = None, notebook: str | None = None,
                   remote_nbtui: str = "nbtui") -> tuple[str, list[str]]:
    """The command and arguments an agent client runs to reach the session.

    A local notebook path is made absolute (clients start servers in directories of their
    own); over ssh the path is the remote one, given as it is, and the remote command is
    quoted for the remote shell, which ssh hands it to as one line.
    """
    if ssh_host:
        attach = shlex.join(["attach", "--wait", "10", *([notebook] if notebook else [])])
        # A leading ~/ stays unquoted, so that the remote shell expands it to the remote home.
        home, rest = ("~/", remote_nbtui[2:]) if remote_nbtui.startswith("~/") else (
            "", remote_nbtui)
        return "ssh", ["-T", ssh_host, f"{home}{shlex.quote(rest)} {attach}"]
    args = ["attach", "--wait", "10"]
    if notebook:
        args.append(str(Path(notebook).expanduser().absolute()))
    return shutil.which("nbtui") or str(Path(sys.argv[0]).absolute()), args


def _toml_string(text: str) -> str:
    # A JSON string without \u escapes is a TOML basic string.
    return json.dumps(text, ensure_ascii=False)


def config_snippet(client: str, ssh_host: str | None = None, notebook: str | None = None,
                   remote_nbtui: str = "nbtui") -> str:
    """The configuration text for one agent client, in the form its documentation gives."""
    command, argv = server_command(ssh_host, notebook, remote_nbtui)
    if client == "claude":
        # User scope: the default (local) scope covers only the folder the command runs in.
        return f"claude mcp add --scope user nbtui -- {shlex.join([command, *argv])}"
    if client == "codex":
        args = ", ".join(_toml_string(a) for a in argv)
        return "\n".join([
            "# ~/.codex/config.toml",
            "[mcp_servers.nbtui]",
            f"command = {_toml_string(command)}",
            f"args = [{args}]",
            f"startup_timeout_sec = {STARTUP_TIMEOUT_SECONDS}",
            f"tool_timeout_sec = {TOOL_TIMEOUT_SECONDS}",
        ])
    if client == "goose":
        # The entry alone, to go under the file's one `extensions:` key (a second such key
        # would replace the first).
        lines = ["# ~/.config/goose/config.yaml: put this under `extensions:` (add that line,",
                 "# unindented, if the file has none)",
                 "  nbtui:", "    name: nbtui", "    type: stdio", "    enabled: true",
                 f"    cmd: {json.dumps(command)}", "    args:"]
        lines += [f"      - {json.dumps(a)}" for a in argv]
        lines += ["    envs: {}", f"    timeout: {TOOL_TIMEOUT_SECONDS}"]
        return "\n".join(lines)
    if client == "gemini":
        server = {"command": command, "args": argv, "timeout": TOOL_TIMEOUT_SECONDS * 1000}
        return json.dumps({"mcpServers": {"nbtui": server}}, indent=2)
    if client == "vscode":
        data = {"servers": {"nbtui": {"type": "stdio", "command": command, "args": argv}}}
        return json.dumps(data, indent=2)
    return json.dumps({"mcpServers": {"nbtui": {"command": command, "args": argv}}}, indent=2)

