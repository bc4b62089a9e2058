"""docker-compose.yml and its image stay true to the facts they restate.

This machine has no Docker engine, so the containers are not started here (README, Running with
Docker Compose). What can drift is checked: image tags against the pinned versions, the broker
settings against the template the tests' broker runs with, the pipeline's settings and
connections against ``ticket_etl.config``, the files the image is built from; and that secrets come
only from ``.env`` and ports are published on the host's loopback only.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest
import yaml

from ticket_airflow import tasks
from ticket_devstack import jars, kafka_service
from ticket_etl import config
from ticket_etl.config import INCLUDE_DIR, PROJECT_ROOT

COMPOSE_PATH = PROJECT_ROOT / "docker-compose.yml"
DOCKERFILE_PATH = INCLUDE_DIR / "docker" / "Dockerfile"
DOCKERIGNORE_PATH = INCLUDE_DIR / "docker" / "Dockerfile.dockerignore"
PIPELINE_SETTINGS = (
    "KAFKA_BROKER",
    "TOPIC_NAME",
    "SPARK_MASTER",
    "SPARK_DRIVER_MEMORY",
    "LOG_LEVEL",
    "BATCH_SIZE",
)
# Broker keys that differ on purpose: the container has its own listeners and quorum address.
CONTAINER_SPECIFIC = {
    "listeners",
    "advertised.listeners",
    "controller.quorum.bootstrap.servers",
    "inter.broker.listener.name",
    "listener.security.protocol.map",
    "log.dirs",
}


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_PATH.read_text())


def service_env(service: str) -> dict[str, str]:
    """A service's environment with compose's ``${VAR:-default}`` replaced by the default."""
    environment = compose()["services"][service]["environment"]
    return {key: re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value)) for key, value in environment.items()}


def pinned(requirement: str) -> str:
    text = (PROJECT_ROOT / "requirements.txt").read_text()
    return re.search(rf"^{re.escape(requirement)}==(\S+)$", text, re.MULTILINE).group(1)


def broker_template_settings(node_id: int = 1, brokers: int = 1) -> dict[str, str]:
    """The settings of node ``node_id`` of a local cluster of ``brokers``, rendered from the
    template as the local stack renders them (ticket_devstack.kafka_service)."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as scratch:
        cluster = kafka_service.KafkaCluster.on_ports(Path(scratch), [20000 + 2 * i for i in range(brokers)])
        broker = cluster.brokers[node_id - 1]
        kafka_service.render_config(broker, cluster)
        lines = broker.config_file.read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if "=" in line and not line.startswith("#")]
    return {key.strip(): value.strip() for key, value in pairs}


def kafka_image_env_name(key: str) -> str:
    """The apache/kafka image's variable for a broker setting (``_`` doubled, ``.`` to ``_``)."""
    return "KAFKA_" + key.replace("_", "__").replace(".", "_").upper()


def test_airflow_image_follows_the_pinned_airflow() -> None:
    base = re.search(r"^FROM apache/airflow:(\S+)-python", DOCKERFILE_PATH.read_text(), re.MULTILINE)
    assert base.group(1) == pinned("apache-airflow")


def test_kafka_image_follows_the_broker_pom() -> None:
    pom = (INCLUDE_DIR / "maven" / "kafka-broker" / "pom.xml").read_text()
    version = re.search(r"<kafka.version>(.+)</kafka.version>", pom).group(1)
    assert compose()["services"]["kafka"]["image"] == f"apache/kafka:{version}"


def test_kafka_container_has_the_brokers_settings() -> None:
    env = service_env("kafka")
    expected = {
        kafka_image_env_name(key): value
        for key, value in broker_template_settings().items()
        if key not in CONTAINER_SPECIFIC
    }
    assert {name: env.get(name) for name in expected} == expected


def test_host_reaches_kafka_at_the_default_broker() -> None:
    default_broker = config.defaults()["KAFKA_BROKER"].default
    host_port = default_broker.rsplit(":", 1)[1]
    assert f"127.0.0.1:{host_port}:{host_port}" in compose()["services"]["kafka"]["ports"]
    assert f"EXTERNAL://{default_broker}" in service_env("kafka")["KAFKA_ADVERTISED_LISTENERS"]


def test_airflow_services_get_the_pipeline_settings_and_connections() -> None:
    airflow_services = [name for name in compose()["services"] if name.startswith("airflow-")]
    assert {"airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor"} <= set(
        airflow_services
    )
    for service in airflow_services:
        raw = compose()["services"][service]["environment"]
        assert set(PIPELINE_SETTINGS) <= set(raw), service
        assert service_env("kafka")["KAFKA_ADVERTISED_LISTENERS"].count(f"//{raw['KAFKA_BROKER']}") == 1
        for name in set(PIPELINE_SETTINGS) - {"KAFKA_BROKER"}:
            # No default restated: an unset setting stays empty, and the container's settings.sh
            # gives it the default of include/defaults.env.
            assert raw[name] == f"${{{name}:-}}", (service, name)
        # The connections are built from the settings by the entry point, not written here.
        assert not {
            f"AIRFLOW_CONN_{tasks.KAFKA_CONN_ID.upper()}",
            f"AIRFLOW_CONN_{tasks.SPARK_CONN_ID.upper()}",
        } & set(raw)


def test_image_entry_point_applies_the_settings(tmp_path) -> None:
    """The image's entry point sources include/settings.sh, which gives every unset setting its
    default and builds the Airflow connections from the settings (run here with bash)."""
    import subprocess

    entrypoint = (INCLUDE_DIR / "docker" / "entrypoint.sh").read_text()
    assert "source /opt/tickets/include/settings.sh" in entrypoint
    assert '"/opt/tickets/include/docker/entrypoint.sh"' in DOCKERFILE_PATH.read_text()
    script = (
        f'source {INCLUDE_DIR / "settings.sh"}; echo "$TOPIC_NAME|$KAFKA_BROKER|$AIRFLOW_CONN_KAFKA_DEFAULT"'
    )
    env = {"PATH": "/usr/bin:/bin", "KAFKA_BROKER": "kafka:9092", "TOPIC_NAME": ""}
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, check=True).stdout
    topic, broker, connection = out.strip().split("|")
    assert topic == config.defaults()["TOPIC_NAME"].default
    assert broker == "kafka:9092"
    assert json.loads(connection)["extra"]["bootstrap.servers"] == "kafka:9092"


def test_image_is_built_from_files_that_exist_and_are_sent() -> None:
    dockerfile = DOCKERFILE_PATH.read_text()
    copied = re.findall(r"^COPY (?:--\S+ )*(\S+) ", dockerfile, re.MULTILINE)
    assert copied, "the Dockerfile copies nothing"
    allowed = {
        line[1:].rstrip("/") for line in DOCKERIGNORE_PATH.read_text().splitlines() if line.startswith("!")
    }
    for source in copied:
        assert (PROJECT_ROOT / source).exists(), source
        assert source in allowed, f"{source} is excluded from the build context"
    build = compose()["x-airflow-common"]["build"]
    assert (PROJECT_ROOT / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE_PATH


def test_image_fetches_only_the_connector_jars(capsys) -> None:
    """The Dockerfile's ``python -m ticket_devstack.jars spark-kafka``: a known project is
    accepted (already fetched by ``make test``, so nothing is downloaded), an unknown one refused."""

    assert re.search(r"python -m ticket_devstack\.jars spark-kafka\b", DOCKERFILE_PATH.read_text())
    jars.main(["spark-kafka"])
    assert "jars: already present" in capsys.readouterr().out
    with pytest.raises(SystemExit) as refused:
        jars.main(["no-such-project"])
    assert refused.value.code == 2
    assert "unknown project no-such-project" in capsys.readouterr().err


# Settings that carry a secret: their value must come from .env, required, with no default here.
SECRET_SETTING = re.compile(r"PASSWORD|SECRET|SQL_ALCHEMY_CONN")
# What a user reaches from the host, and nothing else: the UI and the broker's external listener.
PUBLISHED = {"airflow-apiserver", "kafka"}


def environments() -> dict[str, dict[str, str]]:
    """Every environment block of the file, by service (and the shared Airflow one), as written."""
    blocks = {"x-airflow-common": compose()["x-airflow-common"]["environment"]}
    blocks |= {name: service.get("environment", {}) for name, service in compose()["services"].items()}
    return {name: {key: str(value) for key, value in block.items()} for name, block in blocks.items()}


def test_secrets_come_only_from_the_env_file() -> None:
    """A secret is written nowhere in the file: its setting names a variable of .env that compose
    requires (``${NAME:?message}``), never one with a default (``${NAME:-default}``)."""
    secrets = {
        (block, key): value
        for block, environment in environments().items()
        for key, value in environment.items()
        if SECRET_SETTING.search(key)
    }
    assert {key for _, key in secrets} >= {
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "POSTGRES_PASSWORD",
    }
    for where, value in secrets.items():
        references = re.findall(r"\$\{(\w+)(:\?|:-|-|\?)?", value)
        assert references, (where, "a literal secret")
        assert all(operator == ":?" for _, operator in references), (where, value)
    assert "SIMPLE_AUTH_MANAGER_USERS" not in COMPOSE_PATH.read_text()  # Airflow's own default: admin


def test_ports_are_published_on_loopback_only() -> None:
    published = {
        name: service["ports"] for name, service in compose()["services"].items() if "ports" in service
    }
    assert set(published) == PUBLISHED
    for name, ports in published.items():
        assert all(str(port).startswith("127.0.0.1:") for port in ports), (name, ports)
