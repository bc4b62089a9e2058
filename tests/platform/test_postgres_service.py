"""The local metadata database: which server is ours, its life cycle on a real PostgreSQL, and that
it lets no one in without its password."""

from __future__ import annotations

import os
import shutil
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from ticket_devstack import postgres_service


def test_server_comes_from_airflow_connection(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv(
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "postgresql+psycopg2://etl@127.0.0.1:16543/meta"
    )
    server = postgres_service.managed_server()
    assert server is not None and (server.port, server.user, server.database) == (16543, "etl", "meta")
    assert server.data_dir.name == "postgres"  # where: see the test of an unreachable home below


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////srv/airflow/airflow.db",
        "postgresql+psycopg2://airflow:secret@db.internal:5432/airflow",
        "",
    ],
)
def test_other_databases_are_not_ours(monkeypatch, url: str) -> None:
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", url)
    assert postgres_service.managed_server() is None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def scratch_home(project_root: Path, monkeypatch) -> Iterator[Path]:
    """An Airflow home of its own, inside the project: as root the server runs as `nobody`,
    which cannot enter pytest's private temporary directories."""
    home = project_root / ".platform" / "test-postgres-scratch"
    shutil.rmtree(home, ignore_errors=True)
    monkeypatch.setenv("AIRFLOW_HOME", str(home))
    monkeypatch.setenv(
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"postgresql+psycopg2://airflow@127.0.0.1:{_free_port()}/meta"
    )
    yield home
    postgres_service.stop()
    shutil.rmtree(home, ignore_errors=True)


@pytest.mark.integration
def test_start_creates_the_database_and_stop_start_keeps_it(scratch_home: Path) -> None:
    server = postgres_service.start()
    assert server is not None and postgres_service.running(server)

    def connect():
        return postgres_service.connect(server, "meta")

    connection = connect()
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE kept (x integer)")
        cursor.execute("INSERT INTO kept VALUES (42)")
    connection.close()
    assert postgres_service.start() == server  # already running: a no-op
    assert postgres_service.stop() is True
    assert not postgres_service.running(server)
    assert postgres_service.stop() is False
    postgres_service.start()
    connection = connect()
    with connection.cursor() as cursor:
        cursor.execute("SELECT x FROM kept")
        assert cursor.fetchall() == [(42,)]
    connection.close()


@pytest.mark.integration
def test_a_home_the_server_user_cannot_reach_keeps_the_server_elsewhere(
    project_root: Path, monkeypatch
) -> None:
    """As root, the server runs as `nobody`; a project it cannot enter (a private /root, say) gets
    its server's programs and data under FALLBACK_ROOT. Not root: the home's own folder."""
    private = project_root / ".platform" / "test-postgres-private"
    shutil.rmtree(private, ignore_errors=True)
    home = private / "airflow"
    home.mkdir(parents=True)
    private.chmod(0o700)
    monkeypatch.setenv("AIRFLOW_HOME", str(home))
    monkeypatch.setenv(
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"postgresql+psycopg2://airflow@127.0.0.1:{_free_port()}/meta"
    )
    server = postgres_service.managed_server()
    assert server is not None
    try:
        if os.geteuid() != 0:
            assert server.data_dir == home / "postgres"
            return
        assert server.data_dir.is_relative_to(postgres_service.FALLBACK_ROOT)
        assert postgres_service.start() == server
        postgres_service.connect(server, "meta").close()
    finally:
        postgres_service.delete()
        shutil.rmtree(private, ignore_errors=True)
    assert not server.data_dir.exists() and not server.data_dir.parent.exists()


def _refused(server: postgres_service.Server, **credentials: str) -> str:
    """The server's answer to a connection as its user with ``credentials`` (none: no password at
    all, not even from a password file)."""
    with pytest.raises(psycopg2.OperationalError) as refused:
        psycopg2.connect(
            host=credentials.pop("host", "127.0.0.1"),
            port=server.port,
            user=server.user,
            dbname="postgres",
            passfile=os.devnull,
            **credentials,
        )
    return str(refused.value)


@pytest.mark.integration
def test_only_the_password_lets_a_client_in(scratch_home: Path, non_loopback_address: str) -> None:
    """scram-sha-256 for every connection, TCP on loopback only, the password in a 0600 file."""
    from ticket_devstack.processes import port_open

    server = postgres_service.start()
    assert server is not None
    assert "no password supplied" in _refused(server)
    assert "password authentication failed" in _refused(server, password="airflow")
    assert "no password supplied" in _refused(server, host=str(server.data_dir))  # its socket too
    assert stat.S_IMODE(server.passfile.stat().st_mode) == 0o600
    assert stat.S_IMODE(server.data_dir.stat().st_mode) == 0o700
    postgres_service.connect(server, "meta").close()
    assert port_open("127.0.0.1", server.port)
    assert not port_open(non_loopback_address, server.port), f"reachable on {non_loopback_address}"


@pytest.mark.integration
def test_a_cluster_that_trusted_everyone_gets_a_password(scratch_home: Path) -> None:
    """A cluster made by an older version (initdb --auth=trust) keeps its data and, on its next
    start, asks for the password of the new password file."""
    server = postgres_service.managed_server()
    assert server is not None
    server.data_dir.mkdir(parents=True)
    server.data_dir.chmod(0o700)
    postgres_service._hand_to_server_user(server.data_dir)
    initdb = [str(server.bin_dir / "initdb"), "-D", str(server.data_dir), "-U", server.user, "--auth=trust"]
    postgres_service._run(initdb, "initdb as older versions ran it")
    postgres_service._pg_ctl_start(server, listen="127.0.0.1")
    connection = postgres_service.connect(server, "postgres", password="")  # trusted: no password
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("CREATE DATABASE meta")
    connection.close()
    with postgres_service.connect(server, "meta", password="") as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE kept AS SELECT 42 AS x")
    connection.close()
    assert not server.passfile.exists()

    assert postgres_service.start() == server  # was running: stopped, switched, started again
    assert "no password supplied" in _refused(server)
    connection = postgres_service.connect(server, "meta")
    with connection.cursor() as cursor:
        cursor.execute("SELECT x FROM kept")
        assert cursor.fetchall() == [(42,)]
    connection.close()


@pytest.mark.integration
def test_airflows_async_driver_reads_the_password_file(scratch_home: Path, monkeypatch) -> None:
    """Airflow's async engine (asyncpg) gets the password from PGPASSFILE, as libpq does: the URL
    carries none."""
    import asyncio

    import asyncpg

    server = postgres_service.start()
    assert server is not None

    async def current_user() -> str:
        connection = await asyncpg.connect(
            host="127.0.0.1", port=server.port, user=server.user, database="meta"
        )
        try:
            return await connection.fetchval("SELECT current_user")
        finally:
            await connection.close()

    monkeypatch.setenv("PGPASSFILE", str(server.passfile))
    assert asyncio.run(current_user()) == server.user
    monkeypatch.setenv("PGPASSFILE", str(scratch_home / "missing.pgpass"))
    with pytest.raises(asyncpg.InvalidPasswordError):
        asyncio.run(current_user())
