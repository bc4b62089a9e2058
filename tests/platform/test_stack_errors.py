"""Bad input at the stack's edges: what `make run` runs, given a setting that cannot work, stops with
one `error:` line that names the setting, exit code 1 (2 for the settings check), and never a
Python traceback. Each command runs as `make run` runs it, in a process of its own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ticket_devstack import jars

pytestmark = pytest.mark.integration


def _run(module: str, *args: str, **settings: str) -> subprocess.CompletedProcess:
    """``python -m <module> <args>`` with ``settings`` added to the environment."""
    env = {**os.environ, **settings}
    return subprocess.run(
        [sys.executable, "-m", module, *args], env=env, capture_output=True, text=True, timeout=120
    )


def _error_line(result: subprocess.CompletedProcess, exit_code: int = 1) -> str:
    """The one line the user sees, once it is checked to be that and nothing else."""
    assert result.returncode == exit_code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port another program listens on."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        yield squatter.getsockname()[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KAFKA_BROKER", "nonsense"),
        ("KAFKA_BROKERS", "two"),
        ("SPARK_DRIVER_MEMORY", "lots"),
        ("BATCH_SIZE", "-3"),
        ("AIRFLOW__API__PORT", "eighty"),
        ("SPARK_MASTER_WEBUI_PORT", "99999"),
        ("SPARK_WORKER_MEMORY", "lots"),
    ],
)
def test_the_settings_check_names_a_bad_value(name: str, value: str) -> None:
    """`make setup` (and so `make run`) runs the check before anything starts."""
    line = _error_line(_run("ticket_etl.config", "check", **{name: value}), exit_code=2)
    assert line.startswith(f"error: {name}={value!r}: expected")


def test_a_broker_elsewhere_that_does_not_answer(tmp_path: Path) -> None:
    """KAFKA_BROKER names brokers on another machine: nothing local starts, and they must answer."""
    result = _run(
        "ticket_devstack.kafka_service", "start", "--root", str(tmp_path), KAFKA_BROKER="10.255.255.1:9092"
    )
    assert _error_line(result).startswith(
        "error: KAFKA_BROKER=10.255.255.1:9092: no Kafka broker answers there"
    )
    assert not any(tmp_path.iterdir())


def test_a_broker_on_a_non_loopback_address_of_this_machine(
    tmp_path: Path, non_loopback_address: str
) -> None:
    """The stack's brokers listen on loopback only: an address of the machine's network is not one
    the stack starts, and nothing answers there."""
    broker = f"{non_loopback_address}:{_free_port()}"
    result = _run("ticket_devstack.kafka_service", "start", "--root", str(tmp_path), KAFKA_BROKER=broker)
    assert _error_line(result).startswith(f"error: KAFKA_BROKER={broker}: no Kafka broker answers there")


@pytest.mark.parametrize(
    ("brokers", "bootstrap", "message"),
    [
        (
            "2",
            "localhost:19092,localhost:19094",
            "error: KAFKA_BROKERS=2: the local stack runs 1 or 3 brokers",
        ),
        ("3", "localhost:19092", "error: KAFKA_BROKER=localhost:19092 names 1 broker(s) but KAFKA_BROKERS=3"),
        (
            "1",
            "localhost:19092,kafka.example.com:9092",
            "error: KAFKA_BROKER=localhost:19092,kafka.example.com:9092 mixes",
        ),
    ],
)
def test_a_cluster_the_stack_cannot_run(tmp_path: Path, brokers: str, bootstrap: str, message: str) -> None:
    result = _run(
        "ticket_devstack.kafka_service",
        "start",
        "--root",
        str(tmp_path),
        KAFKA_BROKERS=brokers,
        KAFKA_BROKER=bootstrap,
    )
    assert _error_line(result).startswith(message)


def test_a_kafka_port_taken(tmp_path: Path, taken_port: int) -> None:
    result = _run(
        "ticket_devstack.kafka_service",
        "start",
        "--root",
        str(tmp_path),
        KAFKA_BROKER=f"localhost:{taken_port}",
    )
    line = _error_line(result)
    assert line.startswith(
        f"error: port {taken_port} is already in use by another program; stop it or set KAFKA_BROKER"
    )


def test_an_airflow_port_taken(tmp_path: Path, taken_port: int) -> None:
    result = _run(
        "ticket_devstack.airflow_service",
        "start",
        AIRFLOW_HOME=str(tmp_path),
        AIRFLOW__API__PORT=str(taken_port),
    )
    assert _error_line(result).startswith(
        f"error: port {taken_port} is already in use by another program; stop it or set AIRFLOW__API__PORT"
    )


def test_a_database_port_taken(project_root: Path, taken_port: int) -> None:
    home = project_root / ".platform" / "test-postgres-port-taken"  # as root the server would run as nobody
    url = f"postgresql+psycopg2://airflow@127.0.0.1:{taken_port}/airflow"
    result = _run(
        "ticket_devstack.postgres_service",
        "start",
        AIRFLOW_HOME=str(home),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=url,
    )
    assert _error_line(result).startswith(
        f"error: port {taken_port} is already in use by another program; stop it or set AIRFLOW_DB_PORT"
    )
    assert not home.exists()  # refused before anything was made


@pytest.mark.parametrize("which", ["master", "web UI"])
def test_a_spark_port_taken(tmp_path: Path, taken_port: int, which: str) -> None:
    master_port, ui_port = (taken_port, _free_port()) if which == "master" else (_free_port(), taken_port)
    result = _run(
        "ticket_devstack.spark_service",
        "start",
        "--root",
        str(tmp_path),
        SPARK_MASTER=f"spark://127.0.0.1:{master_port}",
        SPARK_MASTER_WEBUI_PORT=str(ui_port),
    )
    setting = "SPARK_MASTER" if which == "master" else "SPARK_MASTER_WEBUI_PORT"
    assert _error_line(result).startswith(
        f"error: port {taken_port} is already in use by another program; stop it or set {setting}"
    )


@pytest.mark.parametrize(
    ("module", "args", "settings"),
    [
        ("ticket_devstack.kafka_service", ("start",), {"KAFKA_BROKER": "localhost:{port}"}),
        ("ticket_devstack.spark_service", ("start",), {"SPARK_MASTER": "spark://127.0.0.1:{port}"}),
        ("ticket_devstack.spark_cds", (), {}),
    ],
)
def test_no_java(tmp_path: Path, module: str, args: tuple[str, ...], settings: dict[str, str]) -> None:
    """JAVA_HOME names no Java (or there is none on PATH): the broker, the Spark cluster and the
    class-data sharing step of `make setup` say what to install."""
    port = str(_free_port())
    filled = {name: value.format(port=port) for name, value in settings.items()}
    root = () if module.endswith("spark_cds") else ("--root", str(tmp_path))
    result = _run(
        module,
        *args,
        *root,
        JAVA_HOME=str(tmp_path / "no-java"),
        SPARK_MASTER_WEBUI_PORT=str(_free_port()),
        **filled,
    )
    assert (
        _error_line(result)
        == "error: java not found: install Java 17 or set JAVA_HOME (see README, Prerequisites)"
    )


def test_no_maven(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """Jars not fetched yet and no `mvn` on PATH: `make setup` stops with the fix, no traceback."""
    monkeypatch.setitem(jars.MAVEN_PROJECTS, "kafka-broker", tmp_path / "kafka")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SystemExit) as stopped:
        jars.main(["kafka-broker"])
    assert stopped.value.code == "Maven (mvn) is not on PATH: install Maven 3.8+ (see README, Prerequisites)."


def test_password_prints_the_password_alone(tmp_path: Path) -> None:
    """`make password` prints admin's password, and names the file while Airflow never started."""
    missing = _run("ticket_devstack.airflow_service", "password", AIRFLOW_HOME=str(tmp_path))
    assert _error_line(missing) == (
        f"error: no admin password in {tmp_path / 'simple_auth_manager_passwords.json.generated'} "
        "(is Airflow started?)"
    )
    (tmp_path / "simple_auth_manager_passwords.json.generated").write_text('{"admin": "s3cret"}')
    result = _run("ticket_devstack.airflow_service", "password", AIRFLOW_HOME=str(tmp_path))
    assert (result.returncode, result.stdout) == (0, "s3cret\n")


def test_run_dag_without_airflow(tmp_path: Path) -> None:
    """`make run`'s last step against an API that does not answer."""
    (tmp_path / "simple_auth_manager_passwords.json.generated").write_text('{"admin": "x"}')
    result = _run(
        "ticket_devstack.airflow_service",
        "run-dag",
        "ticket_pipeline",
        AIRFLOW_HOME=str(tmp_path),
        AIRFLOW__API__PORT=str(_free_port()),
    )
    assert _error_line(result).startswith("error: the Airflow API at http://localhost:")
