"""Run `airflow standalone` in the background, stop it, and trigger DAG runs through its REST API.

    python -m ticket_etl.platform.airflow_service start|stop|status
    python -m ticket_etl.platform.airflow_service run-dag ticket_pipeline [--conf JSON]

Expects the environment of ``include/env.sh`` (AIRFLOW_HOME, DAGs folder, connections).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any

import psutil

from ticket_etl import airflow_db
from ticket_etl.airflow_db import SQLITE_BUSY_TIMEOUT_S
from ticket_etl.platform.processes import pid_from_file, port_open, terminate

STARTUP_DEADLINE_S = 240.0
STOP_DEADLINE_S = 60.0
DAG_APPEAR_DEADLINE_S = 300.0
RUN_DEADLINE_S = 3600.0
TERMINAL_STATES = {"success", "failed"}
# A request may wait for SQLite's write lock up to its busy timeout: wait longer than that, and
# retry a request that still got no answer (each one is idempotent, see AirflowApi.trigger).
REQUEST_TIMEOUT_S = SQLITE_BUSY_TIMEOUT_S + 30
REQUEST_ATTEMPTS = 3


class AirflowServiceError(RuntimeError):
    """Airflow could not be started, stopped or driven; the message says why. ``status_code``:
    the HTTP status of a refused API call."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


def airflow_home() -> Path:
    home = os.environ.get("AIRFLOW_HOME")
    if not home:
        raise AirflowServiceError("AIRFLOW_HOME is not set: source include/env.sh or use make")
    return Path(home)


def api_port() -> int:
    return int(os.environ.get("AIRFLOW__API__PORT", "8080"))


def base_url() -> str:
    return f"http://localhost:{api_port()}"


def _pid_file() -> Path:
    return airflow_home() / "standalone.pid"


def _log_file() -> Path:
    return airflow_home() / "standalone.log"


def running_pid() -> int | None:
    """Pid of our `airflow standalone` if it is alive; a stale pid file is removed."""
    return pid_from_file(_pid_file(), "standalone")


def _healthy() -> bool:
    import httpx

    try:
        response = httpx.get(f"{base_url()}/api/v2/monitor/health", timeout=3.0)
    except httpx.HTTPError:
        return False
    if response.status_code != 200:
        return False
    body = response.json()
    return body.get("scheduler", {}).get("status") == "healthy"


def _log_tail(lines: int = 40) -> str:
    path = _log_file()
    if not path.is_file():
        return f"(no log at {path})"
    tail = path.read_text(errors="replace").splitlines()[-lines:]
    return f"--- {path} (last {len(tail)} lines) ---\n" + "\n".join(tail)


def _prepare_metadata_db() -> None:
    """A SQLite metadata database runs in write-ahead-log mode (see ticket_etl.airflow_db)."""
    path = airflow_db.sqlite_path(airflow_home())
    if path is None:
        return
    try:
        mode = airflow_db.use_write_ahead_log(path)
    except sqlite3.Error as error:  # e.g. held by an Airflow process this script did not start
        raise AirflowServiceError(f"{path}: cannot set write-ahead logging: {error}") from None
    if mode != "wal":
        raise AirflowServiceError(f"{path}: SQLite refused write-ahead logging (journal mode {mode})")


def start(deadline_s: float = STARTUP_DEADLINE_S) -> int:
    """Start `airflow standalone` and wait until the API and the scheduler are healthy."""
    pid = running_pid()
    if pid is not None:
        print(f"airflow: already running (pid {pid}), UI on {base_url()}")
        return pid
    if port_open("127.0.0.1", api_port()):
        raise AirflowServiceError(
            f"port {api_port()} is already in use by another program; stop it or set "
            "AIRFLOW__API__PORT (see README, Troubleshooting)"
        )
    airflow_home().mkdir(parents=True, exist_ok=True)
    _prepare_metadata_db()
    with open(_log_file(), "ab") as log:
        process = subprocess.Popen(
            ["airflow", "standalone"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    _pid_file().write_text(f"{process.pid}\n")
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _pid_file().unlink(missing_ok=True)
            raise AirflowServiceError(f"airflow standalone exited ({process.returncode})\n{_log_tail()}")
        if _healthy():
            print(f"airflow: started (pid {process.pid}), UI on {base_url()}")
            return process.pid
        time.sleep(2)
    stop()
    raise AirflowServiceError(f"airflow did not become healthy within {deadline_s:.0f}s\n{_log_tail()}")


def stop(deadline_s: float = STOP_DEADLINE_S) -> bool:
    """Stop `airflow standalone` and every process it started. Returns True if it ran."""
    pid = running_pid()
    if pid is None:
        print("airflow: not running")
        return False
    root = psutil.Process(pid)
    processes = [root, *root.children(recursive=True)]
    terminate(processes, deadline_s)
    _pid_file().unlink(missing_ok=True)
    print(f"airflow: stopped (pid {pid} and {len(processes) - 1} child processes)")
    return True


def admin_password() -> str:
    """Password of the `admin` user generated by the simple auth manager."""
    path = airflow_home() / "simple_auth_manager_passwords.json.generated"
    try:
        return json.loads(path.read_text())["admin"]
    except (FileNotFoundError, KeyError, json.JSONDecodeError) as error:
        raise AirflowServiceError(f"no admin password in {path} (is Airflow started?)") from error


class AirflowApi:
    """Minimal client of the Airflow 3 REST API (``/api/v2``) with a JWT from ``/auth/token``."""

    def __init__(self) -> None:
        import httpx

        token = httpx.post(
            f"{base_url()}/auth/token",
            json={"username": "admin", "password": admin_password()},
            timeout=REQUEST_TIMEOUT_S,
        )
        token.raise_for_status()
        self._client = httpx.Client(
            base_url=f"{base_url()}/api/v2",
            timeout=REQUEST_TIMEOUT_S,
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call; one that gets no answer in time is sent again, up to REQUEST_ATTEMPTS."""
        import httpx

        for attempt in range(1, REQUEST_ATTEMPTS + 1):
            try:
                response = self._client.request(method, path, **kwargs)
                break
            except httpx.TransportError as error:
                if attempt == REQUEST_ATTEMPTS:
                    raise AirflowServiceError(
                        f"{method} {path}: no answer from {base_url()} after {attempt} attempts ({error!r})"
                    ) from None
                print(f"airflow: {method} {path}: no answer ({error!r}); trying again", file=sys.stderr)
        if response.status_code >= 400:
            raise AirflowServiceError(
                f"{method} {path}: {response.status_code} {response.text}", response.status_code
            )
        return response.json() if response.content else None

    def _dag_exists(self, dag_id: str) -> bool:
        import httpx

        try:
            return self._client.get(f"/dags/{dag_id}").status_code == 200
        except httpx.TransportError:  # no answer yet: asked again by the caller
            return False

    def wait_for_dag(self, dag_id: str, deadline_s: float = DAG_APPEAR_DEADLINE_S) -> None:
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            if self._dag_exists(dag_id):
                errors = self.request("GET", "/importErrors")
                if errors.get("total_entries"):
                    print(f"warning: import errors: {errors['import_errors']}", file=sys.stderr)
                return
            time.sleep(3)
        raise AirflowServiceError(f"DAG {dag_id} did not appear within {deadline_s:.0f}s")

    def trigger(self, dag_id: str, conf: dict[str, Any], run_id: str | None = None) -> str:
        """Unpause and trigger one run; returns its id. The id is chosen by the client (by default
        ``manual__<now>``), so that a trigger sent again after a lost answer finds its run (409)
        instead of creating a second one."""
        self.request("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        run_id = run_id or f"manual__{datetime.now(UTC).isoformat()}"
        body = {"dag_run_id": run_id, "logical_date": None, "conf": conf}
        try:
            self.request("POST", f"/dags/{dag_id}/dagRuns", json=body)
        except AirflowServiceError as error:
            if error.status_code != HTTPStatus.CONFLICT:
                raise
        return run_id

    def wait_for_run(self, dag_id: str, run_id: str, deadline_s: float = RUN_DEADLINE_S) -> dict:
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            run = self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
            if run["state"] in TERMINAL_STATES:
                return run
            time.sleep(3)
        raise AirflowServiceError(f"run {run_id} not finished after {deadline_s:.0f}s")

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        body = self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
        return {ti["task_id"]: ti["state"] for ti in body["task_instances"]}


def run_dag(dag_id: str, conf: dict[str, Any]) -> int:
    """Trigger one run of ``dag_id``, wait for it and print its outcome. Exit code 0 on success."""
    api = AirflowApi()
    api.wait_for_dag(dag_id)
    run_id = api.trigger(dag_id, conf)
    print(f"airflow: triggered {dag_id} run {run_id}; watch it on {base_url()}/dags/{dag_id}")
    run = api.wait_for_run(dag_id, run_id)
    for task_id, state in api.task_states(dag_id, run_id).items():
        print(f"  {task_id:<20} {state}")
    print(f"airflow: run {run_id} finished: {run['state']}")
    return 0 if run["state"] == "success" else 1


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("start")
    sub.add_parser("stop")
    sub.add_parser("status")
    run = sub.add_parser("run-dag")
    run.add_argument("dag_id")
    run.add_argument("--conf", type=json.loads, default={}, help="run configuration (JSON object)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    import httpx

    args = _parse_args(argv)
    try:
        if args.command == "start":
            start()
        elif args.command == "stop":
            stop()
        elif args.command == "status":
            pid = running_pid()
            print(f"airflow: running (pid {pid}), UI on {base_url()}" if pid else "airflow: not running")
            return 0 if pid else 3
        else:
            return run_dag(args.dag_id, args.conf)
    except AirflowServiceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except httpx.HTTPError as error:
        print(f"error: the Airflow API at {base_url()} failed: {error!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
