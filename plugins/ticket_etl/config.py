"""Configuration at the edge: environment variables, paths and topic definitions.

Every other module reads settings from here; nothing else reads ``os.environ``
for these names. Topic names, partitions and retention are defined once, in
``TOPICS``, and used by the broker setup, the producer, the Spark job and the DAG.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

# TICKETS_ROOT (set by include/env.sh) wins: when this module is imported from the job's
# --py-files archive, its own location says nothing about where include/ is.
PROJECT_ROOT = Path(os.environ.get("TICKETS_ROOT") or Path(__file__).resolve().parents[2])
INCLUDE_DIR = PROJECT_ROOT / "include"
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

DEFAULT_KAFKA_BROKER = "localhost:19092"
DEFAULT_SOURCE_TOPIC = "client_tickets"

DAY_MS = 24 * 3600 * 1000


def env(name: str, default: str) -> str:
    """Value of an environment variable, or ``default`` when unset or empty."""
    return os.environ.get(name) or default


def kafka_broker() -> str:
    """Bootstrap servers (``KAFKA_BROKER``)."""
    return env("KAFKA_BROKER", DEFAULT_KAFKA_BROKER)


def source_topic() -> str:
    """Topic the tickets arrive on (``TOPIC_NAME``)."""
    return env("TOPIC_NAME", DEFAULT_SOURCE_TOPIC)


def batch_size() -> int:
    """Default number of tickets generated per interval (``BATCH_SIZE``)."""
    raw = env("BATCH_SIZE", "1000")
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"BATCH_SIZE must be an integer, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"BATCH_SIZE must be >= 0, got {value}")
    return value


def spark_master() -> str:
    """Spark master URL (``SPARK_MASTER``)."""
    return env("SPARK_MASTER", "local[*]")


def spark_driver_memory() -> str:
    """Spark driver memory (``SPARK_DRIVER_MEMORY``)."""
    return env("SPARK_DRIVER_MEMORY", "2g")


def log_level() -> str:
    """Log level of the producer and the Spark job (``LOG_LEVEL``)."""
    return env("LOG_LEVEL", "INFO").upper()


def stats_dir() -> Path:
    """Root of the published artifacts (``STATS_DIR``, default ``stats/``)."""
    return Path(env("STATS_DIR", str(PROJECT_ROOT / "stats")))


@dataclass(frozen=True)
class TopicSpec:
    """A topic and the configuration it is created with."""

    name: str
    partitions: int
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

# Source records carry CreateTime = ticket creation time, so a backfill writes
# records with old timestamps; time-based retention would delete them within
# minutes. The source topic is the system of record for reprocessing: no time
# limit, a size cap per partition instead.
_SOURCE_CONFIG = {
    "retention.ms": "-1",
    "retention.bytes": str(2 * 1024**3),
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


def topic_specs() -> tuple[TopicSpec, ...]:
    """Every topic the pipeline uses, with its partitions and configuration."""
    return (
        TopicSpec(source_topic(), 3, _SOURCE_CONFIG),
        *(TopicSpec(name, 3, _TEAM_CONFIG) for name in TEAM_TOPICS),
        TopicSpec(DEAD_LETTER_TOPIC, 1, _DLQ_CONFIG),
    )
