"""What every service of the local stack shares (Kafka, PostgreSQL, Airflow, Spark).

- :class:`Daemon`: one background process of the stack, with its pid file, its log file and
  the parts of its command line that prove a pid is still ours; started with :meth:`Daemon.spawn`,
  stopped with :meth:`Daemon.stop`.
- :func:`wait_until_ready`: a readiness wait with a deadline that fails with the tail of the logs.
- :func:`check_port_free`: one message, naming the setting, for a port another program holds.
- :func:`write_private`: every secret the stack generates is a file only its owner can read.
- :func:`run_cli`: one command-line dispatcher (``start``, ``stop``, ``status``, ...) that turns
  every expected failure into one ``error:`` line and exit code 1, never a traceback.

A service module keeps only what is its own: how to start it, when it is ready, what it says.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from ticket_devstack.processes import pid_from_file, port_open, process_tree, terminate
from ticket_etl.config import SettingError

LOG_TAIL_LINES = 40
POLL_S = 0.5
STOP_DEADLINE_S = 45.0
PRIVATE_MODE = 0o600
EXIT_NOT_RUNNING = 3  # `status` of a stopped service, as an LSB init script answers


class ServiceError(RuntimeError):
    """A service could not be started, stopped or driven; the message says why."""


def log_tail(paths: Iterable[Path], lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of each existing log in ``paths``, for error messages."""
    parts = []
    for path in paths:
        if path.is_file():
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path} (last {len(tail)} lines) ---\n" + "\n".join(tail))
    return "\n".join(parts) or "(no log yet: " + ", ".join(str(p) for p in paths) + ")"


def check_port_free(port: int, setting: str) -> None:
    """Raise ServiceError, naming ``setting`` (what moves the port), when another program
    listens on ``port`` of the loopback address."""
    if port_open("127.0.0.1", port):
        raise ServiceError(
            f"port {port} is already in use by another program; stop it or set {setting} "
            f"(`ss -ltnp 'sport = :{port}'` shows which program; README, Troubleshooting)"
        )


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable and writable by its owner only (0600) from the first
    byte on: the file is created with that mode, and an existing one is narrowed to it first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        os.fchmod(file.fileno(), PRIVATE_MODE)
        file.write(text)


def make_private(path: Path) -> None:
    """Narrow an existing file to its owner (0600): for secret files written by older versions."""
    if path.is_file() and path.stat().st_mode & 0o777 != PRIVATE_MODE:
        path.chmod(PRIVATE_MODE)


@dataclass(frozen=True)
class Daemon:
    """One background process of the stack.

    ``markers``: parts of its command line; a pid file whose process lacks one of them is stale
    (a pid reused by another program) and is removed. ``log_file`` gets its output; ``logs`` are
    the files whose tails explain a failure (``log_file`` first).
    """

    name: str
    pid_file: Path
    log_file: Path
    markers: tuple[str, ...]
    other_logs: tuple[Path, ...] = ()

    @property
    def logs(self) -> tuple[Path, ...]:
        return (self.log_file, *self.other_logs)

    def pid(self) -> int | None:
        """Pid of this daemon if it is alive; a stale pid file is removed."""
        return pid_from_file(self.pid_file, *self.markers)

    def spawn(
        self, command: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.Popen:
        """Start ``command`` (in folder ``cwd``) in a session of its own, output appended to the
        log file (which only its owner can read), and record its pid."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_MODE)
        with os.fdopen(descriptor, "ab") as log:
            os.fchmod(log.fileno(), PRIVATE_MODE)
            process = subprocess.Popen(
                list(command),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=None if env is None else dict(env),
                cwd=cwd,
            )
        self.pid_file.write_text(f"{process.pid}\n")
        return process

    def stop(self, deadline_s: float = STOP_DEADLINE_S, with_children: bool = False) -> list[int] | None:
        """SIGTERM (SIGKILL after ``deadline_s``) this daemon, and with ``with_children`` every
        process it started. Returns the pids stopped (the daemon's first), None if it was not
        running."""
        return stop_daemons([self], deadline_s, with_children).get(self)


def stop_daemons(
    daemons: Iterable[Daemon], deadline_s: float = STOP_DEADLINE_S, with_children: bool = False
) -> dict[Daemon, list[int]]:
    """Stop every running daemon of ``daemons`` at once (all get SIGTERM together, then SIGKILL
    after ``deadline_s``), with their child processes when ``with_children``. Returns the pids
    stopped per daemon (the daemon's own first); daemons that were not running are left out."""
    stopped: dict[Daemon, list[psutil.Process]] = {}
    for daemon in daemons:
        pid = daemon.pid()
        if pid is None:
            continue
        tree = process_tree(pid)
        stopped[daemon] = tree if with_children else tree[:1]
    terminate([process for processes in stopped.values() for process in processes], deadline_s)
    for daemon in stopped:
        daemon.pid_file.unlink(missing_ok=True)
    return {daemon: [process.pid for process in processes] for daemon, processes in stopped.items()}


def wait_until_ready(
    started: Mapping[Daemon, subprocess.Popen],
    ready: Callable[[], bool],
    deadline_s: float,
    waiting_for: str,
    poll_s: float = POLL_S,
) -> None:
    """Poll ``ready`` until it holds. When a started process exits first, or the deadline passes,
    every started process is stopped and ServiceError says which and shows the logs' tails.
    ``waiting_for`` completes "<name> did not ... within N s" (e.g. "answer on 127.0.0.1:19092")."""
    name = next(iter(started)).name
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        for daemon, process in started.items():
            if process.poll() is not None:
                stop_daemons(started, with_children=True)  # the exited one: its pid file goes
                raise ServiceError(
                    f"{daemon.name} exited with code {process.returncode} while starting\n"
                    + log_tail(daemon.logs)
                )
        if ready():
            return
        time.sleep(poll_s)
    stop_daemons(started, with_children=True)
    tails = log_tail(path for daemon in started for path in daemon.logs)
    raise ServiceError(f"{name} did not {waiting_for} within {deadline_s:.0f}s\n{tails}")


def pids_text(pids: Sequence[int]) -> str:
    """``pid 12`` or ``pids 12, 13, 14``, for messages."""
    return ("pid " if len(pids) == 1 else "pids ") + ", ".join(map(str, pids))


def status(name: str, line: str | None) -> int:
    """Print ``<name>: <line>`` (``<name>: not running`` when ``line`` is None); the exit code
    of a ``status`` command: 0 running, EXIT_NOT_RUNNING stopped."""
    print(f"{name}: {line}" if line else f"{name}: not running")
    return 0 if line else EXIT_NOT_RUNNING


@dataclass(frozen=True)
class Command:
    """One command of a service's command line: what it runs, given the parsed arguments (its
    failures raise; its result is the exit code only when ``gives_exit_code``, else the exit code
    is 0), and the arguments it takes."""

    run: Callable[[argparse.Namespace], object]
    help: str
    arguments: Callable[[argparse.ArgumentParser], None] | None = None
    gives_exit_code: bool = False


def lifecycle_commands(
    name: str,
    start: Callable[[argparse.Namespace], object],
    stop: Callable[[argparse.Namespace], object],
    status_line: Callable[[argparse.Namespace], str | None],
    start_help: str,
) -> dict[str, Command]:
    """The ``start``, ``stop`` and ``status`` commands every service has (``status`` prints
    ``<name>: <status_line>`` or ``<name>: not running``, exit code 0 or EXIT_NOT_RUNNING)."""
    return {
        "start": Command(start, start_help),
        "stop": Command(stop, "stop it"),
        "status": Command(
            lambda args: status(name, status_line(args)),
            "say whether it runs (exit code 3 if not)",
            gives_exit_code=True,
        ),
    }


def root_option(default: Path) -> Callable[[argparse.ArgumentParser], None]:
    """The ``--root DIR`` option of a service kept in a folder (``default``: the stack's)."""

    def add(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--root",
            type=lambda p: Path(p).resolve(),
            default=default,
            help=f"its folder (default {default})",
        )

    return add


def run_cli(
    description: str,
    commands: Mapping[str, Command],
    argv: list[str] | None = None,
    common: Callable[[argparse.ArgumentParser], None] | None = None,
) -> int:
    """Parse ``argv`` (``<command> [arguments]``) and run the command. A ServiceError, a bad
    setting or an operating-system error is one ``error:`` line on stderr and exit code 1.
    ``common`` adds the options every command takes."""
    parser = argparse.ArgumentParser(description=description)
    shared = argparse.ArgumentParser(add_help=False)
    if common:
        common(shared)
    sub = parser.add_subparsers(dest="command", required=True, metavar="{" + ",".join(commands) + "}")
    for name, command in commands.items():
        command_parser = sub.add_parser(name, help=command.help, parents=[shared])
        if command.arguments:
            command.arguments(command_parser)
    args = parser.parse_args(argv)
    command = commands[args.command]
    try:
        result = command.run(args)
    except (ServiceError, SettingError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return int(result) if command.gives_exit_code else 0  # type: ignore[call-overload]
