"""The running stack lets no one in: the API on loopback only, every generated secret in a file only
its owner can read, Airflow's tokens signed with the secret of that file, and no secret in what
`make` prints or in the logs."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from datetime import timedelta
from pathlib import Path

import psutil
import pytest
from timeline import RECENT_DAY

from ticket_devstack import airflow_service, postgres_service
from ticket_devstack.processes import port_open
from ticket_etl.config import PROJECT_ROOT
from ticket_etl.interval import iso_utc

pytestmark = pytest.mark.integration

DAG_ID = "ticket_pipeline"
SMALL_RUN = {"tickets_per_run": 20, "seed": 5, "interval_start": iso_utc(RECENT_DAY + timedelta(hours=18))}


def _jwt_secret_file() -> Path:
    return Path(os.environ["AIRFLOW_JWT_SECRET_FILE"])


def _secrets() -> dict[str, str]:
    """Every secret of the running stack, by name."""
    server = postgres_service.managed_server()
    assert server is not None
    return {
        "admin password": airflow_service.admin_password(),
        "JWT secret": _jwt_secret_file().read_text().strip(),
        "database password": postgres_service.password(server),
    }


def test_the_api_listens_on_loopback_only(airflow_stack, non_loopback_address: str) -> None:
    port = airflow_service.api_port()
    assert port_open("127.0.0.1", port)
    assert not port_open(non_loopback_address, port), f"the API answers on {non_loopback_address}:{port}"
    listening = {
        connection.laddr.ip
        for connection in psutil.net_connections("tcp")
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port
    }
    assert listening == {"127.0.0.1"}


def test_no_airflow_process_listens_beyond_loopback(airflow_stack) -> None:
    """Every port a process of the stack's Airflow listens on is on loopback: `airflow standalone`
    would start a log server in the scheduler and in the triggerer on every interface (8793, 8794)."""
    pid = airflow_service.running_pid()
    assert pid is not None
    root = psutil.Process(pid)
    ours = {root.pid, *(child.pid for child in root.children(recursive=True))}
    listening = {
        (connection.laddr.ip, connection.laddr.port)
        for connection in psutil.net_connections("tcp")
        if connection.status == psutil.CONN_LISTEN and connection.pid in ours
    }
    assert (("127.0.0.1", airflow_service.api_port())) in listening
    assert {ip for ip, _ in listening} == {"127.0.0.1"}, listening


def test_every_generated_secret_is_a_private_file(airflow_stack) -> None:
    server = postgres_service.managed_server()
    assert server is not None
    home = airflow_service.airflow_home()
    files = [airflow_service.passwords_file(), _jwt_secret_file(), server.passfile, home / "airflow.cfg"]
    modes = {str(path): oct(stat.S_IMODE(path.stat().st_mode)) for path in files}
    assert modes == {str(path): "0o600" for path in files}
    assert not _jwt_secret_file().resolve().is_relative_to(PROJECT_ROOT.resolve()), "inside the repository"


def test_airflow_signs_its_tokens_with_the_secret_of_the_file(airflow_stack) -> None:
    """Airflow reads its JWT secret through AIRFLOW__API_AUTH__JWT_SECRET_CMD (the secret itself is
    in no environment variable): a token it issues verifies with the file's secret, not another."""
    import httpx
    import jwt

    assert "AIRFLOW__API_AUTH__JWT_SECRET" not in os.environ
    response = httpx.post(
        f"{airflow_service.base_url()}/auth/token",
        json={"username": airflow_service.ADMIN_USER, "password": airflow_service.admin_password()},
        timeout=60,
    )
    token = response.json()["access_token"]
    algorithm = jwt.get_unverified_header(token)["alg"]
    options = {"verify_aud": False}
    claims = jwt.decode(
        token, _jwt_secret_file().read_text().strip(), algorithms=[algorithm], options=options
    )
    assert claims["sub"]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            token, "another secret of the same length".ljust(64, "-"), algorithms=[algorithm], options=options
        )


def test_no_secret_in_make_output_nor_in_the_logs(airflow_stack, capfd) -> None:
    """A run as `make run` triggers it, then `make status`: their output, the stack's log and every
    task log hold none of the secrets."""
    assert airflow_service.main(["run-dag", DAG_ID, "--conf", json.dumps(SMALL_RUN)]) == 0
    status = subprocess.run(
        ["make", "status"], cwd=PROJECT_ROOT, env=airflow_stack.env, capture_output=True, text=True
    )
    captured = capfd.readouterr()
    output = captured.out + captured.err + status.stdout + status.stderr
    assert "airflow: running" in output
    home = airflow_service.airflow_home()
    logs = [home / "airflow.log", *(path for path in (home / "logs").rglob("*") if path.is_file())]
    assert any("analyze" in str(path) for path in logs), "no task log to look into"
    for name, secret in _secrets().items():
        assert secret not in output, f"{name} printed"
        leaks = [str(path) for path in logs if secret in path.read_text(errors="replace")]
        assert not leaks, f"{name} in {leaks}"
