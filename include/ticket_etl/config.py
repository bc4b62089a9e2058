"""Configuration at the edge: settings from the environment, paths, and topic definitions.

Every other module reads settings from here; nothing else reads ``os.environ`` for these names.
Defaults live in ``include/defaults.env`` (one place, also read by ``include/env.sh``); each
setting is checked when it is read, and a bad value raises :class:`SettingError` naming the
setting (``python -m ticket_etl.config check`` checks them all, as ``make run`` does first).
Topic names, partitions and retention are defined once, in :func:`topic_specs`.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

# TICKETS_ROOT wins when set: a copy of this module outside the project (the job's --py-files
# archive) cannot find include/ from its own location.
PROJECT_ROOT = Path(os.environ.get("TICKETS_ROOT") or Path(__file__).resolve().parents[2])
INCLUDE_DIR = PROJECT_ROOT / "include"
DEFAULTS_PATH = INCLUDE_DIR / "defaults.env"
PLATFORM_DIR = PROJECT_ROOT / ".platform"  # generated state, git-ignored
JARS_DIR = PLATFORM_DIR / "jars"
KAFKA_JARS_DIR = JARS_DIR / "kafka"
SPARK_KAFKA_JARS_DIR = JARS_DIR / "spark-kafka"

ROUTING_RULES_PATH = INCLUDE_DIR / "routing_rules.yaml"
STOPWORDS_PATH = INCLUDE_DIR / "stopwords.txt"
SPARK_DEFAULTS_PATH = INCLUDE_DIR / "spark-defaults.conf"
SPARK_LOG4J_PATH = INCLUDE_DIR / "spark-log4j2.properties"
SPARK_JOBS_DIR = PROJECT_ROOT / "spark_jobs"
ANALYZE_JOB_PATH = SPARK_JOBS_DIR / "analyze_tickets.py"

DAY_MS = 24 * 3600 * 1000
MAX_BATCH_SIZE = 5_000_000  # also the maximum of the DAG's tickets_per_run param
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

_HOST_PORT = r"[A-Za-z0-9._-]+:\d{1,5}"
_SPARK_MASTER = re.compile(
    rf"local(\[(\*|\d+)(,\d+)?\])?|spark://{_HOST_PORT}(,{_HOST_PORT})*|yarn|k8s://\S+"
)
_JVM_SIZE = re.compile(r"\d+[kmgt]?b?", re.IGNORECASE)
_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")


class SettingError(ValueError):
    """A setting has a value that cannot work; the message names the setting and what it takes."""


@dataclass(frozen=True)
class Setting:
    """One line of ``include/defaults.env``: a setting, its default and what it means."""

    name: str
    default: str
    meaning: str


@cache
def defaults() -> dict[str, Setting]:
    """The settings of ``include/defaults.env``, in file order."""
    settings: dict[str, Setting] = {}
    comments: list[str] = []
    for line in DEFAULTS_PATH.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            comments.append(line.lstrip("# ").strip())
        elif "=" in line:
            name, _, value = line.partition("=")
            settings[name.strip()] = Setting(name.strip(), value.strip(), " ".join(comments))
            comments = []
        else:
            comments = []
    return settings


def setting(name: str) -> str:
    """The value of a setting: the environment's when set and not empty, else its default."""
    return os.environ.get(name) or defaults()[name].default


def _checked(name: str, valid: bool, expected: str) -> str:
    value = setting(name)
    if not valid:
        raise SettingError(f"{name}={value!r}: expected {expected}")
    return value


def kafka_broker() -> str:
    """Bootstrap servers (``KAFKA_BROKER``)."""
    value = setting("KAFKA_BROKER")
    valid = all(
        re.fullmatch(_HOST_PORT, part) and 0 < int(part.rsplit(":", 1)[1]) < 65536
        for part in value.split(",")
    )
    return _checked(
        "KAFKA_BROKER", valid, "host:port, or several separated by commas (e.g. broker-1:9092,broker-2:9092)"
    )


def source_topic() -> str:
    """Topic the tickets arrive on (``TOPIC_NAME``)."""
    valid = bool(_TOPIC.fullmatch(setting("TOPIC_NAME")))
    return _checked("TOPIC_NAME", valid, "a Kafka topic name (letters, digits, '.', '_', '-')")


def batch_size() -> int:
    """Default number of tickets generated per interval (``BATCH_SIZE``)."""
    raw = setting("BATCH_SIZE")
    valid = raw.isdigit() and int(raw) <= MAX_BATCH_SIZE
    return int(_checked("BATCH_SIZE", valid, f"a whole number from 0 to {MAX_BATCH_SIZE:,}"))


def spark_master() -> str:
    """Spark master URL (``SPARK_MASTER``)."""
    valid = bool(_SPARK_MASTER.fullmatch(setting("SPARK_MASTER")))
    return _checked("SPARK_MASTER", valid, "local[*], local[N], spark://host:port, yarn or k8s://...")


def spark_driver_memory() -> str:
    """Spark driver memory (``SPARK_DRIVER_MEMORY``)."""
    valid = bool(_JVM_SIZE.fullmatch(setting("SPARK_DRIVER_MEMORY")))
    return _checked("SPARK_DRIVER_MEMORY", valid, "a JVM memory size such as 512m or 2g")


def log_level() -> str:
    """Log level of the producer and the Spark job (``LOG_LEVEL``)."""
    valid = setting("LOG_LEVEL").upper() in LOG_LEVELS
    return _checked("LOG_LEVEL", valid, f"one of {', '.join(LOG_LEVELS)}").upper()


def artifacts_root(location: str) -> str:
    """An artifacts root as the code uses it: a URI as given (``file:///mnt/shared/stats``,
    ``hdfs://...``, ``s3a://...``), a path made absolute (a relative one is relative to the
    project folder)."""
    if "://" in location:
        return location.rstrip("/")
    return str((PROJECT_ROOT / location).resolve())


def stats_dir() -> str:
    """Root of the artifacts (``STATS_DIR``): a path or a URI, see :func:`artifacts_root`."""
    return artifacts_root(setting("STATS_DIR"))


def source_retention_days() -> int:
    """How long the source topic keeps records (``SOURCE_RETENTION_DAYS``)."""
    raw = setting("SOURCE_RETENTION_DAYS")
    return int(
        _checked("SOURCE_RETENTION_DAYS", raw.isdigit() and int(raw) >= 1, "a whole number of days >= 1")
    )


CHECKS = (
    kafka_broker,
    source_topic,
    batch_size,
    spark_master,
    spark_driver_memory,
    log_level,
    stats_dir,
    source_retention_days,
)


def check_all() -> list[str]:
    """The message of every setting that is wrong (empty when all are fine)."""
    problems = []
    for check in CHECKS:
        try:
            check()
        except SettingError as error:
            problems.append(str(error))
    return problems


DOCS_HEADER = """# Configuration

<!-- Generated from include/defaults.env by `make docs`; tests/platform/test_settings.py checks it. -->

Set these in the environment before `make run`, for example `BATCH_SIZE=5000 make run`. Their
defaults are written once, in `include/defaults.env`; the code reads them through
`ticket_etl.config`, which checks each value and names the setting when one is wrong
(`make run` checks them all first).

"""


def markdown_docs() -> str:
    """``docs/configuration.md``: the settings as a Markdown table."""
    rows = [f"| `{s.name}` | `{s.default}` | {s.meaning} |" for s in defaults().values()]
    return DOCS_HEADER + "\n".join(["| variable | default | meaning |", "|---|---|---|", *rows]) + "\n"


@dataclass(frozen=True)
class TopicSpec:
    """A topic and how it is created: partitions, replicas of each, configuration."""

    name: str
    partitions: int
    replication_factor: int
    config: dict[str, str] = field(default_factory=dict)


TEAM_INCIDENT = "tickets_equipe_incident"
TEAM_SUPPORT_GENERAL = "tickets_equipe_support_general"
TEAM_PRODUIT = "tickets_equipe_produit"
TEAM_TOPICS = (TEAM_INCIDENT, TEAM_SUPPORT_GENERAL, TEAM_PRODUIT)
# Support teams, as named in the routing rules, and the topic each one reads.
TEAMS: dict[str, str] = {
    "incident": TEAM_INCIDENT,
    "support_general": TEAM_SUPPORT_GENERAL,
    "produit": TEAM_PRODUIT,
}
DEAD_LETTER_TOPIC = "client_tickets_dlq"


def source_retention_days() -> int:
    """How long the source topic keeps records (``SOURCE_RETENTION_DAYS``)."""
    raw = setting("SOURCE_RETENTION_DAYS")
    return int(
        _checked("SOURCE_RETENTION_DAYS", raw.isdigit() and int(raw) >= 1, "a whole number of days >= 1")
    )


def _source_config() -> dict[str, str]:
    """The source topic is the transport, not the system of record: every run lands what is new
    in it (the landing zone ``raw_tickets``), and reprocessing reads the landing zone. So it keeps
    records for a time (``SOURCE_RETENTION_DAYS``), no size cap. Records carry CreateTime = ticket
    creation time and time retention compares with a segment's newest record, so records of a
    backfilled hour may be deleted soon after they are written: the run that produces them lands
    them first."""
    return {
        "retention.ms": str(source_retention_days() * DAY_MS),
        "retention.bytes": "-1",
        "compression.type": "producer",
    }


# Team topics: timestamps are the routing time; compaction keeps the latest
# version of each ticket_id once an interval is reprocessed.
_TEAM_CONFIG = {
    "cleanup.policy": "compact,delete",
    "retention.ms": str(30 * DAY_MS),
    "min.compaction.lag.ms": str(3600 * 1000),
}
_DLQ_CONFIG = {"retention.ms": str(30 * DAY_MS)}


def topic_specs(brokers: int | None = None) -> tuple[TopicSpec, ...]:
    """Every topic the pipeline uses, with its partitions, replication and configuration.
    ``brokers``: the size of the cluster (``KAFKA_BROKERS`` by default); each partition gets
    :func:`replication_factor` replicas, and :func:`min_insync_replicas` of them must hold a record
    before the producer's ``acks=all`` succeeds."""
    replication = replication_factor(brokers)
    durability = {"min.insync.replicas": str(min_insync_replicas(replication))}
    return (
        TopicSpec(source_topic(), 3, replication, {**_source_config(), **durability}),
        *(TopicSpec(name, 3, replication, {**_TEAM_CONFIG, **durability}) for name in TEAM_TOPICS),
        TopicSpec(DEAD_LETTER_TOPIC, 1, replication, {**_DLQ_CONFIG, **durability}),
    )


# Settings of the local stack's services, added with its security (the Airflow API's address)
# and its clusters (Kafka's size, the Spark standalone workers); checked with the others.
_PORT = re.compile(r"\d{1,5}")
_HOST = re.compile(r"[A-Za-z0-9.:_-]+")
MAX_REPLICATION_FACTOR = 3


def _port(name: str) -> int:
    raw = setting(name)
    valid = bool(_PORT.fullmatch(raw)) and 0 < int(raw) < 65536
    return int(_checked(name, valid, "a TCP port number (1 to 65535)"))


def airflow_api_host() -> str:
    """Address the local Airflow API server listens on (``AIRFLOW__API__HOST``)."""
    valid = bool(_HOST.fullmatch(setting("AIRFLOW__API__HOST")))
    return _checked("AIRFLOW__API__HOST", valid, "an IP address or host name (127.0.0.1, 0.0.0.0, ...)")


def airflow_api_port() -> int:
    """Port of the local Airflow UI and API (``AIRFLOW__API__PORT``)."""
    return _port("AIRFLOW__API__PORT")


def airflow_db_port() -> int:
    """Port of the local PostgreSQL of Airflow's metadata (``AIRFLOW_DB_PORT``)."""
    return _port("AIRFLOW_DB_PORT")


def kafka_brokers() -> int:
    """Size of the Kafka cluster (``KAFKA_BROKERS``): how many brokers ``make run`` starts on this
    machine, and what the topics' replication follows (:func:`replication_factor`)."""
    raw = setting("KAFKA_BROKERS")
    valid = raw.isdigit() and int(raw) >= 1
    return int(
        _checked(
            "KAFKA_BROKERS", valid, "a whole number of brokers, at least 1 (the local stack runs 1 or 3)"
        )
    )


def replication_factor(brokers: int | None = None) -> int:
    """Replicas of each partition in a cluster of ``brokers`` (``KAFKA_BROKERS`` by default):
    one per broker, at most 3."""
    return min(MAX_REPLICATION_FACTOR, kafka_brokers() if brokers is None else brokers)


def min_insync_replicas(replication: int) -> int:
    """Replicas that must hold a record before ``acks=all`` succeeds: 2 of 3 (one broker can be
    down without stopping producers or losing an acknowledged record), else 1."""
    return 2 if replication >= MAX_REPLICATION_FACTOR else 1


def spark_master_webui_port() -> int:
    """Port of the local Spark master's web UI (``SPARK_MASTER_WEBUI_PORT``); its workers' UIs
    take the ports after it."""
    return _port("SPARK_MASTER_WEBUI_PORT")


def spark_worker_cores() -> int:
    """Cores each local Spark worker offers executors (``SPARK_WORKER_CORES``)."""
    raw = setting("SPARK_WORKER_CORES")
    valid = raw.isdigit() and int(raw) >= 1
    return int(_checked("SPARK_WORKER_CORES", valid, "a whole number of cores, at least 1"))


def spark_worker_memory() -> str:
    """Memory each local Spark worker offers executors (``SPARK_WORKER_MEMORY``)."""
    valid = bool(_JVM_SIZE.fullmatch(setting("SPARK_WORKER_MEMORY")))
    return _checked("SPARK_WORKER_MEMORY", valid, "a JVM memory size such as 1g or 2048m")


CHECKS = (
    *CHECKS,
    airflow_api_host,
    airflow_api_port,
    airflow_db_port,
    kafka_brokers,
    spark_master_webui_port,
    spark_worker_cores,
    spark_worker_memory,
)


def main(argv: list[str] | None = None) -> int:
    """``python -m ticket_etl.config check``: one line per bad setting, exit 2 if any;
    ``python -m ticket_etl.config docs``: ``docs/configuration.md``."""
    command = (sys.argv[1:] if argv is None else argv) or ["check"]
    if command == ["docs"]:
        print(markdown_docs(), end="")
        return 0
    problems = check_all()
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 2 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
