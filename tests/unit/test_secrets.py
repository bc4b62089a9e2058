"""The secrets of the local stack are files only their owner can read, never environment values."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from ticket_devstack import postgres_service
from ticket_etl.config import INCLUDE_DIR, PROJECT_ROOT


def _sourced(env: dict[str, str], *names: str) -> list[str]:
    script = f"source {INCLUDE_DIR / 'env.sh'}; " + "; ".join(f'echo "${name}"' for name in names)
    result = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, check=True)
    return result.stdout.splitlines()


def test_the_jwt_secret_is_made_once_outside_the_repository(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AIRFLOW_HOME": str(tmp_path / "airflow")}
    (path,) = _sourced(env, "AIRFLOW_JWT_SECRET_FILE")
    secret_file = Path(path)
    first = secret_file.read_text()
    assert len(first) >= 32
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(secret_file.parent.stat().st_mode) == 0o700
    assert secret_file.is_relative_to(tmp_path / ".config") and not secret_file.is_relative_to(PROJECT_ROOT)
    (command,) = _sourced(env, "AIRFLOW__API_AUTH__JWT_SECRET_CMD")
    assert command == f"cat '{secret_file}'"
    assert _sourced(env, "AIRFLOW_JWT_SECRET_FILE") == [path] and secret_file.read_text() == first
    other_home = {**env, "AIRFLOW_HOME": str(tmp_path / "other")}
    assert _sourced(other_home, "AIRFLOW_JWT_SECRET_FILE") != [path]  # the test stack has its own


def test_the_environment_holds_no_secret() -> None:
    """env.sh exports where the secrets are (PGPASSFILE, a command), never a secret itself."""
    server = postgres_service.managed_server()
    assert server is not None and server.passfile.is_file(), "make test starts the test database"
    script = f"source {INCLUDE_DIR / 'env.sh'}; env"
    environment = subprocess.run(["bash", "-c", script], env=dict(os.environ), capture_output=True, text=True)
    secrets = [
        postgres_service.password(server),
        Path(os.environ["AIRFLOW_JWT_SECRET_FILE"]).read_text().strip(),
    ]
    assert all(secret not in environment.stdout for secret in secrets)
    assert os.environ["PGPASSFILE"] == str(server.passfile)  # env.sh and postgres_service agree


def test_airflow_secrets_are_private_files_and_no_log_keeps_a_password(tmp_path: Path, monkeypatch) -> None:
    """Before Airflow starts: the admin's password is made (Airflow then neither makes nor prints
    one), a JWT secret file of an older version is narrowed to 0600, and a password that an older
    version let Airflow print into its log is removed from it."""
    from ticket_devstack import airflow_service

    jwt_secret = tmp_path / "jwt_secret"
    jwt_secret.write_text("older\n")
    jwt_secret.chmod(0o644)
    log = tmp_path / "standalone.log"
    log.write_text("Simple auth manager | Password for user 'admin': s3cretPassw0rd\nAirflow is ready\n")
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW_JWT_SECRET_FILE", str(jwt_secret))
    airflow_service.ensure_secrets()
    password = airflow_service.admin_password()
    assert len(password) == airflow_service.PASSWORD_LENGTH
    for path in (airflow_service.passwords_file(), jwt_secret, log):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert "s3cretPassw0rd" not in log.read_text() and "Airflow is ready" in log.read_text()
    airflow_service.ensure_secrets()
    assert airflow_service.admin_password() == password  # made once
