"""Session-wide fixtures: one real Kafka broker for the whole suite, started and stopped here.

The test broker lives in .platform/test-kafka-29092 on 127.0.0.1:29092 (controller 29093), apart
from the one `make run` starts, and starts from empty data each session.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ticket_devstack import kafka_service
from ticket_etl.config import PLATFORM_DIR
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
def non_loopback_address() -> str:
    """An IPv4 address of this machine other than loopback: what another host would connect to."""
    import socket

    import psutil

    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family == socket.AF_INET and not address.address.startswith("127."):
                return address.address
    pytest.skip("this machine has no non-loopback IPv4 address: nothing to show a port is closed on")


@pytest.fixture(scope="session")
def airflow_env(kafka_bootstrap: str, tmp_path_factory) -> dict[str, str]:
    """Environment for `airflow` subprocesses: the test broker in the Kafka connection, fresh artifacts."""
    import json

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
