"""Airflow's four components in one process tree, as `airflow standalone` runs them, without its
log servers: `airflow standalone` starts the scheduler and the triggerer with a log server each,
on every network interface (ports 8793 and 8794; Airflow has no setting for their address). This
stack has no remote workers: the API server reads the task logs from the Airflow home, so they
are not started at all and every component listens on loopback only.

    python -m ticket_devstack.airflow_components    (run by `airflow_service start`)

When one component exits, the others are stopped and this process exits with its code (1 if that
was 0), so that a dead scheduler shows as a stopped Airflow rather than a half-running one.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence

from ticket_devstack.processes import process_tree, terminate

# The components `airflow standalone` runs (the API server on AIRFLOW__API__HOST and __PORT).
COMPONENTS: tuple[tuple[str, ...], ...] = (
    ("scheduler", "--skip-serve-logs"),
    ("dag-processor",),
    ("triggerer", "--skip-serve-logs"),
    ("api-server",),
)
POLL_S = 1.0
STOP_DEADLINE_S = 30.0


def _first_exited(components: list[subprocess.Popen]) -> subprocess.Popen:
    """The first component to exit (polled: they are not this process's only children to wait for)."""
    while True:
        for component in components:
            if component.poll() is not None:
                return component
        time.sleep(POLL_S)


def run(commands: Sequence[Sequence[str]]) -> int:
    """Start every command; once one exits, stop the others (with their children) and return its
    exit code, 1 if that was 0."""
    components = [subprocess.Popen(list(command), stdin=subprocess.DEVNULL) for command in commands]
    exited = _first_exited(components)
    name = " ".join(exited.args)
    print(f"airflow: `{name}` exited with code {exited.returncode}: stopping the others", flush=True)
    terminate(
        [process for component in components for process in process_tree(component.pid)], STOP_DEADLINE_S
    )
    return exited.returncode or 1


if __name__ == "__main__":
    sys.exit(run([("airflow", *command) for command in COMPONENTS]))
