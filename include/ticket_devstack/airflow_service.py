"""Run Airflow in the background, stop it, and trigger DAG runs through its REST API.

    python -m ticket_devstack.airflow_service start|stop|status
    python -m ticket_devstack.airflow_service run-dag ticket_pipeline [--conf JSON]

`start` also creates the pool the DAG's `analyze` task runs in (one analysis at a time, see
:func:`ensure_analysis_pool`), or sets its slots back if it exists.

Airflow is the components of `airflow standalone` without its log servers
(:mod:`ticket_devstack.airflow_components`), their output in ``$AIRFLOW_HOME/airflow.log``.
Expects the environment of ``include/env.sh`` (AIRFLOW_HOME, DAGs folder, connections). The API
server listens on AIRFLOW__API__HOST (127.0.0.1 unless you expose it); the admin's password and
the JWT signing secret are files only their owner can read (see :func:`ensure_secrets`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import sys
import time
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any

from ticket_devstack import postgres_service
from ticket_devstack.service import (
    Command,
    Daemon,
    ServiceError,
    check_port_free,
    lifecycle_commands,
    make_private,
    pids_text,
    run_cli,
    stop_daemons,
    wait_until_ready,
    write_private,
)
from ticket_etl import config
from ticket_etl.pools import ANALYSIS_POOL, ANALYSIS_POOL_DESCRIPTION, ANALYSIS_POOL_SLOTS

# The module that runs Airflow's components (its command line marks our Airflow's process).
COMPONENTS_MODULE = "ticket_devstack.airflow_components"
STARTUP_DEADLINE_S = 240.0
STOP_DEADLINE_S = 60.0
HEALTH_POLL_S = 2.0
DAG_APPEAR_DEADLINE_S = 300.0
RUN_DEADLINE_S = 3600.0
TERMINAL_STATES = {"success", "failed"}
# A request that gets no answer in time is sent again (each one is idempotent, see AirflowApi.trigger).
REQUEST_TIMEOUT_S = 60.0
REQUEST_ATTEMPTS = 3
ADMIN_USER = "admin"
# Where Airflow's simple auth manager keeps its users' passwords (in the Airflow home), and the
# alphabet it draws them from (no look-alike characters).
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"
PASSWORD_ALPHABET = "abcdefghkmnpqrstuvwxyzABCDEFGHKMNPQRSTUVWXYZ23456789"
PASSWORD_LENGTH = 16
# The log of older versions of this stack, which ran `airflow standalone`.
STANDALONE_LOG = "standalone.log"
PRINTED_PASSWORD = re.compile(r"(Password for user '[^']*': )\S+")


class AirflowServiceError(ServiceError):
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
    return config.airflow_api_port()


def base_url() -> str:
    return f"http://localhost:{api_port()}"


def daemon() -> Daemon:
    """The Airflow of this Airflow home: the process of its components."""
    home = airflow_home()
    return Daemon("airflow", home / "airflow.pid", home / "airflow.log", (COMPONENTS_MODULE,))


def running_pid() -> int | None:
    """Pid of our Airflow (the parent of its components) if it is alive; a stale pid file is
    removed."""
    return daemon().pid()


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


def passwords_file() -> Path:
    return airflow_home() / PASSWORDS_FILE


def ensure_secrets() -> None:
    """The secrets Airflow reads, each in a file only its owner can read (0600): the admin's
    password, made here before Airflow would (Airflow then neither generates one nor prints it
    into its log), and the JWT signing secret that include/env.sh made outside the repository."""
    path = passwords_file()
    if path.is_file():
        make_private(path)
    else:
        password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))
        write_private(path, json.dumps({ADMIN_USER: password}) + "\n")
    for log in (daemon().log_file, airflow_home() / STANDALONE_LOG):
        _remove_printed_passwords(log)
    jwt_secret = os.environ.get("AIRFLOW_JWT_SECRET_FILE")
    if not jwt_secret or not Path(jwt_secret).is_file():
        raise AirflowServiceError(
            "no JWT secret file (AIRFLOW_JWT_SECRET_FILE): source include/env.sh or use make"
        )
    make_private(Path(jwt_secret))


def _remove_printed_passwords(log: Path) -> None:
    """Airflow prints a password it generates into its log; older versions of this stack let it (the
    log of such an installation still holds the admin's password): remove it."""
    if not log.is_file():
        return
    text = log.read_text(errors="replace")
    cleaned = PRINTED_PASSWORD.sub(r"\1(removed: `make password` prints it)", text)
    if cleaned != text:
        write_private(log, cleaned)


def start(deadline_s: float = STARTUP_DEADLINE_S) -> int:
    """Start Airflow's components and wait until the API and the scheduler are healthy."""
    airflow = daemon()
    pid = airflow.pid()
    if pid is not None:
        print(f"airflow: already running (pid {pid}), UI on {base_url()}")
        _ensure_pool()  # it may have been started before the pool existed
        return pid
    check_port_free(api_port(), "AIRFLOW__API__PORT")
    airflow_home().mkdir(parents=True, exist_ok=True)
    ensure_secrets()
    postgres_service.start()  # the metadata database, when it is ours (a no-op if running)
    process = airflow.spawn([sys.executable, "-m", COMPONENTS_MODULE])
    wait_until_ready({airflow: process}, _healthy, deadline_s, "become healthy", HEALTH_POLL_S)
    print(f"airflow: started (pid {process.pid}), UI on {base_url()}")
    _ensure_pool()
    return process.pid


def _ensure_pool() -> None:
    import httpx

    try:
        ensure_analysis_pool(AirflowApi())
    except httpx.HTTPError as error:
        raise AirflowServiceError(f"the Airflow API at {base_url()} failed: {error!r}") from None


def ensure_analysis_pool(api: AirflowApi) -> None:
    """The pool of the DAG's `analyze` task, with its one slot: a task whose pool does not exist is
    never queued (it waits until its run times out), and more slots would let analyses run side by
    side."""
    outcome = api.set_pool(ANALYSIS_POOL, ANALYSIS_POOL_SLOTS, ANALYSIS_POOL_DESCRIPTION)
    print(f"airflow: pool {ANALYSIS_POOL} {outcome} ({ANALYSIS_POOL_SLOTS} slot)")


def _standalone_daemon() -> Daemon:
    """The `airflow standalone` an older version of this stack started (still running after an
    update: `make stop` stops it too)."""
    home = airflow_home()
    return Daemon("airflow", home / "standalone.pid", home / STANDALONE_LOG, ("standalone",))


def stop(deadline_s: float = STOP_DEADLINE_S) -> bool:
    """Stop Airflow's components and every process they started. Returns True if it ran."""
    stopped = stop_daemons([daemon(), _standalone_daemon()], deadline_s, with_children=True)
    if not stopped:
        print("airflow: not running")
        return False
    for pids in stopped.values():
        print(
            f"airflow: stopped (pid {pids[0]} and {len(pids) - 1} child processes)"
            if pids
            else "airflow: stopped"
        )
    return True


def admin_password() -> str:
    """Password of the `admin` user of the simple auth manager."""
    path = passwords_file()
    try:
        return json.loads(path.read_text())[ADMIN_USER]
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

    def set_pool(self, name: str, slots: int, description: str) -> str:
        """Set the pool's slots and description, creating it if missing; returns "updated" or
        "created". Idempotent: a create that finds the pool made meanwhile updates it."""
        # Airflow 3.3's PATCH validates the whole pool: it needs the name and include_deferred too.
        body = {"name": name, "slots": slots, "description": description, "include_deferred": False}
        try:
            self.request("PATCH", f"/pools/{name}", json=body)
            return "updated"
        except AirflowServiceError as error:
            if error.status_code != HTTPStatus.NOT_FOUND:
                raise
        try:
            self.request("POST", "/pools", json=body)
            return "created"
        except AirflowServiceError as error:
            if error.status_code != HTTPStatus.CONFLICT:
                raise
        self.request("PATCH", f"/pools/{name}", json=body)
        return "updated"

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
    states = api.task_states(dag_id, run_id)
    width = max(map(len, states), default=0)
    for task_id, state in states.items():
        print(f"  {task_id:<{width}}  {state}")
    print(f"airflow: run {run_id} finished: {run['state']}")
    return 0 if run["state"] == "success" else 1


def _run_dag_command(args: argparse.Namespace) -> int:
    import httpx

    try:
        return run_dag(args.dag_id, args.conf)
    except httpx.HTTPError as error:
        raise AirflowServiceError(f"the Airflow API at {base_url()} failed: {error!r}") from None


def _run_dag_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dag_id")
    parser.add_argument("--conf", type=json.loads, default={}, help="run configuration (JSON object)")


def status_line() -> str | None:
    """``running (pid N), UI on <url>``, or None."""
    pid = running_pid()
    return f"running ({pids_text([pid])}), UI on {base_url()}" if pid else None


COMMANDS = {
    **lifecycle_commands(
        "airflow",
        lambda _: start(),
        lambda _: stop(),
        lambda _: status_line(),
        "start Airflow (scheduler, DAG processor, triggerer, API server) and wait until it is healthy",
    ),
    "password": Command(lambda _: print(admin_password()), "print the UI password of user admin"),
    "run-dag": Command(
        _run_dag_command, "trigger one run of a DAG and wait for it", _run_dag_arguments, gives_exit_code=True
    ),
}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    return run_cli(__doc__.splitlines()[0], COMMANDS, argv)


if __name__ == "__main__":
    raise SystemExit(main())
