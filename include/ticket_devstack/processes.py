"""Process and port helpers shared by the local services (see ticket_devstack.service)."""

from __future__ import annotations

import socket
from pathlib import Path

import psutil

KILL_WAIT_S = 10.0
# Host names that mean this machine's loopback: the addresses the stack's own services listen on.
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})


def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        return sock.connect_ex((host, port)) == 0


def pid_from_file(pid_file: Path, *markers: str) -> int | None:
    """Pid in ``pid_file`` if that process is alive and its command line holds every marker;
    a stale pid file (dead process, or a pid reused by another program) is removed."""
    try:
        pid = int(pid_file.read_text().strip())
        cmdline = " ".join(psutil.Process(pid).cmdline())
    except FileNotFoundError:
        return None
    except (ValueError, psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        cmdline = ""
    if cmdline and all(marker in cmdline for marker in markers):
        return pid
    pid_file.unlink(missing_ok=True)
    return None


def process_tree(pid: int) -> list[psutil.Process]:
    """The process ``pid`` and all its descendants, itself first (none once it has exited)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def terminate(processes: list[psutil.Process], deadline_s: float) -> None:
    """SIGTERM every process, wait up to ``deadline_s`` for all, then SIGKILL the survivors."""
    for process in processes:
        try:
            process.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(processes, timeout=deadline_s)
    for process in alive:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=KILL_WAIT_S)
