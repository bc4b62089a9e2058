"""Session-wide fixtures: real services for the whole suite, started here once and stopped at the end
(``make test`` gives their ports; ``make unit`` runs the tests of tests/unit, which need none).

- the test broker: .platform/test-kafka-<port>, on 127.0.0.1:TEST_KAFKA_PORT (controller on the next
  port), apart from the one `make run` starts; empty each session;
- a three-broker cluster (one controller quorum of three) on TEST_KAFKA_PORT + 10, + 12, + 14, in
  .platform/test-kafka3-<port>, for the tests that need replication; started when first asked for;
- a Spark standalone master and its two workers on TEST_SPARK_PORT (web UIs on the next three
  ports), in .platform/test-spark-<port>; started when first asked for.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rules_change import rules_copy

from ticket_devstack import kafka_service, spark_service
from ticket_etl import config, schema_registry
from ticket_etl.config import PLATFORM_DIR
from ticket_etl.kafka_io import create_topic

# The suite's Spark drivers compile with C1 only: its hours hold at most tens of thousands of
# records, and a run of 1,000 takes about 15% less time than with C2 (which a million-ticket hour
# needs; docs/testing.md). The JIT changes no result. Set the variable to test with other options.
TEST_DRIVER_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1"
os.environ["SPARK_DRIVER_JAVA_OPTIONS"] = (
    os.environ.get("SPARK_DRIVER_JAVA_OPTIONS") or TEST_DRIVER_JAVA_OPTIONS
)

# `make test` sets TEST_KAFKA_PORT and TEST_SPARK_PORT (two suites can run side by side).
_PORT = int(os.environ.get("TEST_KAFKA_PORT") or "0")
TEST_RETRY_DELAY_S = 3  # TASK_RETRY_DELAY_SECONDS of the tests' Airflow
_SPARK_PORT = int(os.environ.get("TEST_SPARK_PORT") or "0")
TEST_LAYOUT = kafka_service.BrokerLayout(PLATFORM_DIR / f"test-kafka-{_PORT}", _PORT, _PORT + 1)
TEST_CLUSTER = kafka_service.KafkaCluster.on_ports(
    PLATFORM_DIR / f"test-kafka3-{_PORT}", [_PORT + 10, _PORT + 12, _PORT + 14]
)


# The folders of tests/ this run takes (comma-separated; all when unset): `make test` runs the
# suite on two stacks side by side, each with some of the folders (tests/run_stacks.py).
_FOLDERS = tuple(folder for folder in os.environ.get("TEST_FOLDERS", "").split(",") if folder)
_TESTS_DIR = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the tests outside TEST_FOLDERS (another stack runs them)."""
    if not _FOLDERS:
        return
    kept, deselected = [], []
    for item in items:
        folder = item.path.relative_to(_TESTS_DIR).parts[0]
        (kept if folder in _FOLDERS else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def _require_stack() -> None:
    """The service fixtures' ports come from `make test`; without them, say so instead of guessing."""
    if not (_PORT and _SPARK_PORT):
        pytest.fail("this test needs the test stack: run it with `make test PYTEST_ARGS=...`", pytrace=False)


@functools.cache
def _register_ticket_contract() -> schema_registry.Registered:
    """The ticket schema registered in the session's schema registry (`make test` starts it), as
    the DAG's register_schema task does: the producer names its id, the job reads its versions."""
    return schema_registry.register_contract()


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap servers of a real, empty broker shared by the whole session (the ticket contract
    registered: whatever produces tickets needs it)."""
    _require_stack()
    _register_ticket_contract()
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


@pytest.fixture(scope="session")
def kafka_cluster() -> Iterator[kafka_service.KafkaCluster]:
    """A real, empty cluster of three brokers that are also its three controllers (the ticket
    contract registered, as for :func:`kafka_bootstrap`)."""
    _require_stack()
    _register_ticket_contract()
    kafka_service.stop(TEST_CLUSTER)
    shutil.rmtree(TEST_CLUSTER.root, ignore_errors=True)
    kafka_service.start(TEST_CLUSTER)
    try:
        yield TEST_CLUSTER
    finally:
        kafka_service.stop(TEST_CLUSTER)


@pytest.fixture(scope="session")
def spark_cluster() -> Iterator[spark_service.SparkCluster]:
    """A real Spark standalone master with two workers, as `make run` starts them."""
    _require_stack()
    with spark_service.fresh_cluster(PLATFORM_DIR / f"test-spark-{_SPARK_PORT}", _SPARK_PORT) as cluster:
        yield cluster


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


def _stack_environment(base: dict[str, str], **settings: str) -> dict[str, str]:
    """The environment include/env.sh makes of ``base`` with ``settings`` changed: what the stack's
    processes see, the Airflow connections built from the settings included."""
    script = f"source {config.INCLUDE_DIR / 'env.sh'} && env -0"
    result = subprocess.run(["bash", "-c", script], env={**base, **settings}, capture_output=True, check=True)
    return dict(item.split("=", 1) for item in result.stdout.decode().split("\0") if item)


@pytest.fixture(scope="session")
def stack_environment() -> Callable[..., dict[str, str]]:
    """``stack_environment(base, SETTING=value, ...)``: the environment include/env.sh makes of
    ``base`` with those settings (connections included)."""
    return _stack_environment


@pytest.fixture(scope="session")
def airflow_env(kafka_bootstrap: str, tmp_path_factory) -> dict[str, str]:
    """Environment for `airflow` subprocesses: the test broker in the Kafka connection, fresh artifacts."""
    if not re.fullmatch(r"test\d*-airflow", Path(os.environ.get("AIRFLOW_HOME", "")).name):
        raise RuntimeError("run the suite with `make test` (it sets a test AIRFLOW_HOME and migrates its DB)")
    stats = str(tmp_path_factory.mktemp("airflow-stats"))
    rules = rules_copy(tmp_path_factory.mktemp("rules"))  # tests edit it, never the checkout's
    return _stack_environment(
        dict(os.environ),
        KAFKA_BROKER=kafka_bootstrap,
        STATS_DIR=stats,
        ROUTING_RULES=str(rules),
        # The fault tests wait for retries: 3-6 s for the first one, not 30-60 s (the behaviour is
        # the same; the suite spends minutes less waiting).
        TASK_RETRY_DELAY_SECONDS=str(TEST_RETRY_DELAY_S),
    )
