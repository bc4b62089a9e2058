"""The pipeline's topics, defined once: names, teams, partitions, replication and retention."""

from __future__ import annotations

from dataclasses import dataclass, field

from ticket_etl.config import kafka_brokers, source_retention_days, source_topic

DAY_MS = 24 * 3600 * 1000
MAX_REPLICATION_FACTOR = 3


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
# Spike alerts of the keyword analysis, keyed "<hour>|<kind>|<term>" (docs/keywords.md).
ALERTS_TOPIC = "ticket_alerts"


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
# Alerts: a re-run of an hour sends the same keys again; compaction keeps one per hour and term.
_ALERTS_CONFIG = {"cleanup.policy": "compact,delete", "retention.ms": str(30 * DAY_MS)}


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
        TopicSpec(ALERTS_TOPIC, 1, replication, {**_ALERTS_CONFIG, **durability}),
    )


def replication_factor(brokers: int | None = None) -> int:
    """Replicas of each partition in a cluster of ``brokers`` (``KAFKA_BROKERS`` by default):
    one per broker, at most 3."""
    return min(MAX_REPLICATION_FACTOR, kafka_brokers() if brokers is None else brokers)


def min_insync_replicas(replication: int) -> int:
    """Replicas that must hold a record before ``acks=all`` succeeds: 2 of 3 (one broker can be
    down without stopping producers or losing an acknowledged record), else 1."""
    return 2 if replication >= MAX_REPLICATION_FACTOR else 1
