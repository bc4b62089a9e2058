"""Session-wide fixtures: one real Kafka broker for the whole suite, started and stopped here.

The test broker lives in .platform/test-kafka-29092 on 127.0.0.1:29092 (controller 29093), apart
from the one `make run` starts, and starts from empty data each session.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ticket_devstack import airflow_service, kafka_service
from ticket_etl.config import PLATFORM_DIR
from ticket_etl.interval import Interval, iso_utc
from ticket_etl.kafka_io import create_topic

# `make test` sets TEST_KAFKA_PORT (two suites can run side by side; controller on the next port).
_PORT = int(os.environ.get("TEST_KAFKA_PORT") or "0") or pytest.exit("run the suite with `make test`", 2)
TEST_LAYOUT = kafka_service.BrokerLayout(PLATFORM_DIR / f"test-kafka-{_PORT}", _PORT, _PORT + 1)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap servers of a real, empty broker shared by the whole session."""
    kafka_service.stop(TEST_LAYOUT)
    shutil.rmtree(TEST_LAYOUT.root, ignore_errors=True)
    kafka_service.start(TEST_LAYOUT)
    try:
        yield TEST_LAYOUT.bootstrap
    finally:
        kafka_service.stop(TEST_LAYOUT)


@pytest.fixture(scope="session")
def kafka_layout(kafka_bootstrap: str) -> kafka_service.BrokerLayout:
    """Where the session's broker lives (config, data, logs, pid file)."""
    return TEST_LAYOUT


@pytest.fixture
def unique_topic(kafka_bootstrap: str) -> Iterator[str]:
    """A fresh topic name (3 partitions) for one test."""
    name = f"test_{uuid.uuid4().hex[:10]}"
    create_topic(kafka_bootstrap, name, partitions=3)
    yield name


@pytest.fixture(scope="session")
def project_root() -> Path:
    return Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def airflow_env(kafka_bootstrap: str, tmp_path_factory) -> dict[str, str]:
    """Environment for `airflow` subprocesses: the test broker in the Kafka connection, fresh artifacts."""
    env = dict(os.environ)
    env.update(
        {
            "KAFKA_BROKER": kafka_bootstrap,
            "AIRFLOW_CONN_KAFKA_DEFAULT": json.dumps(
                {"conn_type": "kafka", "extra": {"bootstrap.servers": kafka_bootstrap}}
            ),
            "STATS_DIR": str(tmp_path_factory.mktemp("airflow-stats")),
        }
    )
    if "AIRFLOW_HOME" not in env or not env["AIRFLOW_HOME"].endswith("test-airflow"):
        raise RuntimeError("run the suite with `make test` (it sets a test AIRFLOW_HOME and migrates its DB)")
    return env


# Users of the session's Airflow (simple auth manager): `outsider` has no role, so no access to
# any DAG (the UI plugin's tests check it is refused).
AIRFLOW_USERS = "admin:admin,viewer:viewer,outsider:"


@dataclass(frozen=True)
class AirflowStack:
    """The session's running `airflow standalone`: API server (with the plugins), scheduler."""

    env: dict[str, str]
    api: airflow_service.AirflowApi
    base_url: str

    @property
    def stats_dir(self) -> Path:
        return Path(self.env["STATS_DIR"])

    def password(self, user: str) -> str:
        path = Path(self.env["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated"
        return json.loads(path.read_text())[user]


@pytest.fixture(scope="session")
def airflow_stack(airflow_env: dict[str, str], tmp_path_factory) -> Iterator[AirflowStack]:
    """`airflow standalone` on the test broker, started once for the session (end-to-end and UI
    tests), with artifacts of its own: its scheduler also runs the current hour, whose summary would
    become the latest one of the other DAG tests."""
    env = {
        **airflow_env,
        "STATS_DIR": str(tmp_path_factory.mktemp("stack-stats")),
        "BATCH_SIZE": "200",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": AIRFLOW_USERS,
    }
    with pytest.MonkeyPatch.context() as patch:  # the environment `airflow standalone` inherits
        for key, value in env.items():
            patch.setenv(key, value)
        airflow_service.stop()
        airflow_service.start()
        base_url = airflow_service.base_url()
    try:
        client = airflow_service.AirflowApi()
        client.wait_for_dag("ticket_pipeline")
        yield AirflowStack(env, client, base_url)
    finally:
        airflow_service.stop()


@dataclass(frozen=True)
class ProcessedHour:
    """An hour processed by a real run of ``ticket_pipeline`` on the session's Airflow."""

    run_id: str
    interval: Interval


# Hours the UI tests process through Airflow (apart from those of tests/e2e/test_backfill.py).
UI_HOURS = [
    Interval(datetime(2026, 11, 24, h, tzinfo=UTC), datetime(2026, 11, 24, h + 1, tzinfo=UTC)) for h in (8, 9)
]
UI_CONF = {"tickets_per_run": 300, "malformed_share": 0.05, "seed": 5}


@pytest.fixture(scope="session")
def ui_hours(airflow_stack: AirflowStack) -> list[ProcessedHour]:
    """Two hours for the UI tests, each processed by a manual run triggered through the API and run by
    the scheduler (5 % malformed records, so that the quarantine and the dead-letter topic have some)."""
    run_ids = [
        airflow_stack.api.trigger("ticket_pipeline", {**UI_CONF, "interval_start": iso_utc(interval.start)})
        for interval in UI_HOURS
    ]
    for run_id in run_ids:
        run = airflow_stack.api.wait_for_run("ticket_pipeline", run_id, deadline_s=900)
        assert run["state"] == "success", run
    return [ProcessedHour(run_id, interval) for run_id, interval in zip(run_ids, UI_HOURS, strict=True)]
