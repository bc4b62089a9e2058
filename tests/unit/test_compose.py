"""docker-compose.yml and its image stay true to the facts they restate.

This machine has no Docker engine, so the containers are not started here (docs/docker-compose.md).
What can drift is checked: image tags against the pinned versions, the settings of every broker
(the single one and the three of the kafka3 profile) against the template as the local stack
renders it, the pipeline's settings and connections against ``ticket_etl.config``, the Spark
services against the image and the driver, the console against the pipeline's brokers, the files
the image is built from; and that secrets come only from ``.env`` and ports are published on the
host's loopback only. And that the file is a valid Compose file: it is validated against the
Compose Specification's own JSON schema, vendored as compose-spec.json (its source in
compose-spec.README), after mutated copies show the schema refuses the mistakes that matter here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pyspark
import pytest
import yaml
from airflow.providers.apache.kafka.hooks.base import KafkaBaseHook
from airflow.providers.apache.spark.hooks.spark_submit import SparkSubmitHook
from jsonschema import Draft7Validator, ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

from ticket_devstack import jars, kafka_service
from ticket_etl import config
from ticket_etl.config import INCLUDE_DIR, PROJECT_ROOT

COMPOSE_PATH = PROJECT_ROOT / "docker-compose.yml"
DOCKERFILE_PATH = INCLUDE_DIR / "docker" / "Dockerfile"
DOCKERIGNORE_PATH = INCLUDE_DIR / "docker" / "Dockerfile.dockerignore"
COMPOSE_SCHEMA_PATH = Path(__file__).with_name("compose-spec.json")
DEPENDS_ON_CONDITIONS = ("service_started", "service_healthy", "service_completed_successfully")
PIPELINE_SETTINGS = (
    "KAFKA_BROKER",
    "KAFKA_BROKERS",
    "TOPIC_NAME",
    "SPARK_MASTER",
    "SPARK_DRIVER_MEMORY",
    "LOG_LEVEL",
    "BATCH_SIZE",
)
# The cluster of three of the kafka3 profile: its nodes by node id.
KAFKA3 = {1: "kafka-1", 2: "kafka-2", 3: "kafka-3"}
SPARK_WORKERS = ("spark-worker-1", "spark-worker-2")
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


def test_kafka_images_follow_the_broker_pom() -> None:
    pom = (INCLUDE_DIR / "maven" / "kafka-broker" / "pom.xml").read_text()
    version = re.search(r"<kafka.version>(.+)</kafka.version>", pom).group(1)
    for service in ("kafka", *KAFKA3.values()):
        assert compose()["services"][service]["image"] == f"apache/kafka:{version}", service


def test_the_schema_registry_is_the_stacks_version_on_the_metadata_server() -> None:
    """The registry image is the version the local stack runs; its schemas live in the postgres
    service's database ``registry`` (made by the init script), the Airflow services reach it."""
    from ticket_devstack.registry_service import DATABASE, VERSION

    registry = compose()["services"]["schema-registry"]
    assert registry["image"] == f"apicurio/apicurio-registry:{VERSION}"
    assert registry["environment"]["APICURIO_DATASOURCE_URL"] == f"jdbc:postgresql://postgres:5432/{DATABASE}"
    init = next(v for v in compose()["services"]["postgres"]["volumes"] if "docker-entrypoint-initdb.d" in v)
    script = PROJECT_ROOT / init.split(":")[0]
    assert f"CREATE DATABASE {DATABASE};" in script.read_text()
    for service in ("airflow-apiserver", "airflow-scheduler"):
        assert (
            compose()["services"][service]["environment"]["SCHEMA_REGISTRY_URL"]
            == "http://schema-registry:8080"
        )


@pytest.mark.parametrize(
    ("service", "node_id", "brokers"), [("kafka", 1, 1), *((s, n, 3) for n, s in KAFKA3.items())]
)
def test_kafka_containers_have_the_brokers_settings(service: str, node_id: int, brokers: int) -> None:
    """Each broker container has the settings the local stack renders for the same node of a
    cluster of the same size (node id, replication and min in sync included)."""
    env = service_env(service)
    expected = {
        kafka_image_env_name(key): value
        for key, value in broker_template_settings(node_id, brokers).items()
        if key not in CONTAINER_SPECIFIC
    }
    assert {name: env.get(name) for name in expected} == expected


def test_the_three_brokers_are_one_quorum_of_their_own() -> None:
    voters = {f"{n}@{service}:9093" for n, service in KAFKA3.items()}
    for service in KAFKA3.values():
        env, spec = service_env(service), compose()["services"][service]
        assert set(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == voters, service
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"INTERNAL://{service}:9092"
        assert spec["profiles"] == ["kafka3"] and "ports" not in spec
    assert len({service_env(service)["CLUSTER_ID"] for service in KAFKA3.values()}) == 1


def test_host_reaches_kafka_at_the_default_broker() -> None:
    default_broker = config.defaults()["KAFKA_BROKER"].default
    host_port = default_broker.rsplit(":", 1)[1]
    assert f"127.0.0.1:{host_port}:{host_port}" in compose()["services"]["kafka"]["ports"]
    assert f"EXTERNAL://{default_broker}" in service_env("kafka")["KAFKA_ADVERTISED_LISTENERS"]


def pipeline_brokers() -> tuple[str, str]:
    """(the .env variable that names the pipeline's brokers in the containers, its default)."""
    raw = compose()["x-airflow-common"]["environment"]["KAFKA_BROKER"]
    variable, default = re.fullmatch(r"\$\{(\w+):-([^}]+)\}", raw).groups()
    return variable, default


def test_the_pipeline_uses_the_single_broker_unless_env_names_the_three() -> None:
    """By default the containers reach the single broker at its INTERNAL listener; the kafka3
    profile's brokers are what docs/docker-compose.md tells .env to name instead."""
    variable, default = pipeline_brokers()
    assert f"INTERNAL://{default}" in service_env("kafka")["KAFKA_ADVERTISED_LISTENERS"].split(",")
    three = ",".join(f"{service}:9092" for service in KAFKA3.values())
    guide = (PROJECT_ROOT / "docs" / "docker-compose.md").read_text()
    assert (
        f"{variable}={three}" in guide and "KAFKA_BROKERS=3" in guide and "COMPOSE_PROFILES=kafka3" in guide
    )
    for service in KAFKA3.values():  # waited for when the profile is on, ignored when it is off
        assert compose()["x-airflow-common"]["depends_on"][service] == {
            "condition": "service_healthy",
            "required": False,
        }


def test_airflow_services_get_the_pipeline_settings_and_connections() -> None:
    airflow_services = [name for name in compose()["services"] if name.startswith("airflow-")]
    assert {"airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor"} <= set(
        airflow_services
    )
    variable, default = pipeline_brokers()
    for service in airflow_services:
        raw = compose()["services"][service]["environment"]
        assert set(PIPELINE_SETTINGS) <= set(raw), service
        assert raw["KAFKA_BROKER"] == f"${{{variable}:-{default}}}", service
        for name in set(PIPELINE_SETTINGS) - {"KAFKA_BROKER"}:
            # No default restated: an unset setting stays empty, and the container's settings.sh
            # gives it the default of include/defaults.env.
            assert raw[name] == f"${{{name}:-}}", (service, name)
        # The connections are built from the settings by the entry point, not written here.
        assert not {
            f"AIRFLOW_CONN_{KafkaBaseHook.default_conn_name.upper()}",
            f"AIRFLOW_CONN_{SparkSubmitHook.default_conn_name.upper()}",
        } & set(raw)


def test_image_entry_point_applies_the_settings(tmp_path) -> None:
    """The image's entry point sources include/settings.sh, which gives every unset setting its
    default and builds the Airflow connections from the settings (run here with bash)."""
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
# What a user reaches from the host, and nothing else: the UI, the single broker's external
# listener, the topics' console and the Spark master's UI.
PUBLISHED = {"airflow-apiserver", "kafka", "kafka-console", "schema-registry", "spark-master"}


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


def test_spark_services_run_the_drivers_spark() -> None:
    """The master and the workers run from the Airflow image (its pyspark wheel: the driver's Spark,
    Python and Java), in the spark profile; the workers register with the master, and write the
    artifacts to the same ./stats as the driver."""
    services = compose()["services"]
    master = services["spark-master"]
    airflow_image = compose()["x-airflow-common"]["image"]
    assert master["command"][0] == "org.apache.spark.deploy.master.Master"
    port = master["command"][master["command"].index("--port") + 1]
    master_url = f"spark://spark-master:{port}"
    assert f"SPARK_MASTER={master_url}" in (PROJECT_ROOT / "docs" / "docker-compose.md").read_text()
    for name in ("spark-master", *SPARK_WORKERS):
        service = services[name]
        assert (
            service["image"] == airflow_image and service["build"] == compose()["x-airflow-common"]["build"]
        )
        assert service["profiles"] == ["spark"]
        assert service["entrypoint"][-1] == "/opt/tickets/include/docker/spark-daemon.sh"
        assert service_env(name)["SPARK_LOCAL_IP"] == name  # reachable by the other containers
    for name in SPARK_WORKERS:
        command = services[name]["command"]
        assert command[0] == "org.apache.spark.deploy.worker.Worker" and command[-1] == master_url
        assert "./stats:/opt/tickets/stats" in services[name]["volumes"]
        worker_env = services[name]["environment"]
        assert {key: worker_env[key] for key in ("SPARK_WORKER_CORES", "SPARK_WORKER_MEMORY")} == {
            "SPARK_WORKER_CORES": "${SPARK_WORKER_CORES:-}",
            "SPARK_WORKER_MEMORY": "${SPARK_WORKER_MEMORY:-}",
        }
    scheduler = service_env("airflow-scheduler")
    assert scheduler["SPARK_LOCAL_IP"] == scheduler["SPARK_LOCAL_HOSTNAME"] == "airflow-scheduler"


def test_spark_daemon_entry_point_runs_spark_class_from_the_wheel(tmp_path) -> None:
    """include/docker/spark-daemon.sh finds spark-class in the installed pyspark (run here with a
    stand-in for /opt/tickets, printing what it would execute)."""
    script = (INCLUDE_DIR / "docker" / "spark-daemon.sh").read_text()
    assert os.access(INCLUDE_DIR / "docker" / "spark-daemon.sh", os.X_OK)
    runnable = script.replace("/opt/tickets/include", str(INCLUDE_DIR)).replace(
        'exec "$SPARK_HOME', 'echo "$SPARK_HOME'
    )
    (tmp_path / "daemon.sh").write_text(runnable)
    env = {"PATH": f"{PROJECT_ROOT / '.venv' / 'bin'}:/usr/bin:/bin"}
    result = subprocess.run(
        ["bash", str(tmp_path / "daemon.sh"), "org.apache.spark.deploy.master.Master"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    spark_class, main_class = result.stdout.split()
    assert Path(spark_class) == Path(pyspark.__file__).parent / "bin" / "spark-class"
    assert Path(spark_class).is_file() and main_class == "org.apache.spark.deploy.master.Master"


def test_the_console_shows_the_pipelines_brokers_read_only() -> None:
    console = compose()["services"]["kafka-console"]
    assert console["image"].startswith("ghcr.io/kafbat/kafka-ui:v")
    env = console["environment"]
    assert (
        env["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"]
        == compose()["x-airflow-common"]["environment"]["KAFKA_BROKER"]
    )
    assert env["KAFKA_CLUSTERS_0_READONLY"] == "true"
    assert console["depends_on"] == {
        name: value
        for name, value in compose()["x-airflow-common"]["depends_on"].items()
        if name.startswith("kafka")
    }


@cache
def compose_schema() -> dict[str, Any]:
    """The Compose Specification's JSON schema, as vendored (compose-spec.README)."""
    return json.loads(COMPOSE_SCHEMA_PATH.read_text())


def compose_validator() -> Validator:
    """A validator of the schema for its own draft, the schema checked against that draft first.

    The schema names draft-07 by a URI jsonschema does not know, so Draft7Validator is the default:
    without it validator_for falls back to the latest draft with only a DeprecationWarning, which
    the pytest settings ignore."""
    schema = compose_schema()
    validator_class = validator_for(schema, default=Draft7Validator)
    validator_class.check_schema(schema)
    return validator_class(schema)


def compose_copy() -> dict[str, Any]:
    """A deep copy of docker-compose.yml to mutate: through JSON, so that no part is shared (YAML
    aliases and merge keys make safe_load reuse the same dict in several places)."""
    return json.loads(json.dumps(compose()))


def with_sub_errors(errors: Iterable[ValidationError]) -> Iterator[ValidationError]:
    """The errors and, recursively, those of the branches of their ``oneOf``/``anyOf``."""
    for error in errors:
        yield error
        yield from with_sub_errors(error.context or ())


def describe(error: ValidationError) -> str:
    """One error as its JSON path and message; for a ``oneOf``/``anyOf``, each branch's errors
    instead of the message (which restates the whole value)."""
    if not error.context:
        return f"{error.json_path}: {error.message}"
    branches = "".join(f"\n    {sub.json_path}: {sub.message}" for sub in with_sub_errors(error.context))
    return f"{error.json_path}: valid under no branch of its {error.validator}:{branches}"


def schema_errors(document: dict[str, Any]) -> list[ValidationError]:
    return sorted(compose_validator().iter_errors(document), key=lambda error: error.json_path)


def test_compose_schema_is_draft_07_and_knows_profiles_and_depends_on_conditions() -> None:
    """The checks below rely on the schema's draft and on what it says of ``profiles`` and of the
    long form of ``depends_on`` (a condition, ``required``)."""
    schema = compose_schema()
    assert "draft-07" in schema["$schema"]
    assert type(compose_validator()) is Draft7Validator
    definitions = schema["definitions"]
    service = definitions["service"]
    assert service["additionalProperties"] is False and schema["additionalProperties"] is False
    assert service["properties"]["profiles"]["$ref"] == "#/definitions/list_of_strings"
    assert definitions["list_of_strings"]["items"]["type"] == "string"
    (long_form,) = [
        branch["patternProperties"]
        for branch in service["properties"]["depends_on"]["oneOf"]
        if "patternProperties" in branch
    ]
    (dependency,) = long_form.values()
    assert dependency["required"] == ["condition"]
    assert tuple(dependency["properties"]["condition"]["enum"]) == DEPENDS_ON_CONDITIONS
    assert dependency["properties"]["required"]["type"] == "boolean"


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    errors = schema_errors(compose())
    assert not errors, "docker-compose.yml breaks the Compose Specification:\n" + "\n".join(
        map(describe, errors)
    )


def rename(mapping: dict[str, Any], old: str, new: str) -> None:
    mapping[new] = mapping.pop(old)


def services(document: dict[str, Any]) -> dict[str, Any]:
    return document["services"]


# Mistakes the schema must refuse: (the mutation, the JSON path it is reported at, a part of its message).
REFUSED: dict[str, tuple[Callable[[dict[str, Any]], None], str, str]] = {
    "top-level key typo": (
        lambda doc: rename(doc, "services", "servcies"),
        "$",
        "'servcies' does not match any of the regexes",
    ),
    "unknown service key": (
        lambda doc: rename(services(doc)["kafka"], "image", "imagee"),
        "$.services.kafka",
        "'imagee' does not match any of the regexes",
    ),
    "depends_on condition typo": (
        lambda doc: services(doc)["kafka-console"]["depends_on"]["kafka"].update(condition="service_startd"),
        "$.services['kafka-console'].depends_on.kafka.condition",
        "'service_startd' is not one of",
    ),
    "depends_on long form without a condition": (
        lambda doc: services(doc)["kafka-console"]["depends_on"]["kafka-1"].pop("condition"),
        "$.services['kafka-console'].depends_on['kafka-1']",
        "'condition' is a required property",
    ),
    "profiles a string": (
        lambda doc: services(doc)["spark-master"].update(profiles="spark"),
        "$.services['spark-master'].profiles",
        "is not of type 'array'",
    ),
    "profiles with a number": (
        lambda doc: services(doc)["spark-master"].update(profiles=["spark", 7]),
        "$.services['spark-master'].profiles[1]",
        "7 is not of type 'string'",
    ),
}


@pytest.mark.parametrize(("mutate", "path", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_compose_schema_refuses_a_broken_compose_file(
    mutate: Callable[[dict[str, Any]], None], path: str, message: str
) -> None:
    """A copy of docker-compose.yml with one mistake is refused, the mistake reported where it is:
    what shows the validation above checks these keys."""
    document = compose_copy()
    mutate(document)
    reported = [(error.json_path, error.message) for error in with_sub_errors(schema_errors(document))]
    assert any(where == path and message in text for where, text in reported), reported


@pytest.mark.parametrize("condition", DEPENDS_ON_CONDITIONS)
def test_compose_schema_accepts_every_depends_on_condition(condition: str) -> None:
    """The refusals above are not of everything: each condition of the long form is accepted, with
    ``required``, as are several profiles."""
    document = compose_copy()
    services(document)["kafka-console"]["depends_on"]["kafka"] = {"condition": condition, "required": True}
    services(document)["spark-master"]["profiles"] = ["spark", "spark-ui"]
    assert not schema_errors(document)
