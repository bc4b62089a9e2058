"""Create the pipeline's topics idempotently, as ``topology.topic_specs()`` defines them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ticket_etl.topology import TopicSpec, topic_specs

if TYPE_CHECKING:
    from confluent_kafka.admin import AdminClient

log = logging.getLogger(__name__)
ADMIN_TIMEOUT_S = 30.0


def ensure_topics(admin: AdminClient, specs: tuple[TopicSpec, ...] | None = None) -> list[str]:
    """Create missing topics and align the configuration of existing ones.

    Returns the names of the topics that were created. Raises when a topic
    cannot be created or configured, or has fewer partitions or replicas than
    specified.
    """
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import (
        AlterConfigOpType,
        ConfigEntry,
        ConfigResource,
        NewTopic,
        ResourceType,
    )

    specs = specs if specs is not None else topic_specs()
    existing = admin.list_topics(timeout=ADMIN_TIMEOUT_S).topics
    missing = [spec for spec in specs if spec.name not in existing]
    if missing:
        futures = admin.create_topics(
            [
                NewTopic(
                    s.name,
                    num_partitions=s.partitions,
                    replication_factor=s.replication_factor,
                    config=s.config,
                )
                for s in missing
            ],
            operation_timeout=ADMIN_TIMEOUT_S,
        )
        for name, future in futures.items():
            try:
                future.result()
            except KafkaException as error:
                if error.args[0].name() != "TOPIC_ALREADY_EXISTS":
                    raise RuntimeError(f"could not create topic {name}: {error}") from error
            log.info("created topic %s", name)
    for spec in specs:
        if spec.name in existing:
            _check_partitions(spec, len(existing[spec.name].partitions))
            _check_replication(spec, existing[spec.name].partitions)
    present = [spec for spec in specs if spec.name in existing and spec.config]
    if present:
        resources = [
            ConfigResource(
                ResourceType.TOPIC,
                spec.name,
                incremental_configs=[
                    ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)
                    for key, value in spec.config.items()
                ],
            )
            for spec in present
        ]
        for resource, future in admin.incremental_alter_configs(resources).items():
            future.result()
            log.debug("configured topic %s", resource.name)
    return [spec.name for spec in missing]


def _check_partitions(spec: TopicSpec, actual: int) -> None:
    if actual < spec.partitions:
        raise RuntimeError(
            f"topic {spec.name} has {actual} partitions, {spec.partitions} expected: "
            "recreate it or add partitions"
        )


def _check_replication(spec: TopicSpec, partitions: dict) -> None:
    """Replicas cannot be added by a configuration change: an existing topic with fewer than the
    spec's (created on a smaller cluster) is an error to fix by hand."""
    actual = min((len(partition.replicas) for partition in partitions.values()), default=0)
    if actual < spec.replication_factor:
        raise RuntimeError(
            f"topic {spec.name} has {actual} replica(s) per partition, {spec.replication_factor} expected: "
            "recreate it or reassign its partitions (kafka-reassign-partitions)"
        )
