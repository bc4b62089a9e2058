"""Small, reusable Kafka client helpers (confluent-kafka) for tests, benchmarks and tasks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from confluent_kafka import Message


# NewTopic's replication factor that means "the broker's default.replication.factor" (the local
# brokers' is the cluster's replication, see include/kafka/server.properties.template).
BROKER_DEFAULT_REPLICATION = -1


TOPIC_READY_DEADLINE_S = 30.0


def create_topic(
    bootstrap: str, name: str, partitions: int = 3, config: dict[str, str] | None = None
) -> None:
    """Create one topic, replicated as the cluster's brokers replicate by default, and wait for
    it: until the controller has it (the admin client must outlive the future), then until every
    partition's leader answers for it (brokers learn of a new topic a moment later; a read of its
    offsets before then fails with NOT_LEADER_FOR_PARTITION)."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics(
        [NewTopic(name, partitions, BROKER_DEFAULT_REPLICATION, config=config or {})]
    )
    futures[name].result(TOPIC_READY_DEADLINE_S)
    wait_for_leaders(bootstrap, name, partitions)


def wait_for_leaders(bootstrap: str, topic: str, partitions: int) -> None:
    """Until the leader of each partition of ``topic`` returns its offsets."""
    import time

    from confluent_kafka import Consumer, KafkaException, TopicPartition

    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"ready-{uuid.uuid4().hex}", "log_level": 0}
    )
    deadline = time.monotonic() + TOPIC_READY_DEADLINE_S
    try:
        pending = set(range(partitions))
        while pending:
            for partition in sorted(pending):
                try:
                    consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=5, cached=False)
                    pending.discard(partition)
                except KafkaException:
                    if time.monotonic() > deadline:
                        raise
            time.sleep(0.1 if pending else 0)
    finally:
        consumer.close()


def consume_all(bootstrap: str, topic: str, idle_timeout_s: float = 5.0) -> Iterator[Message]:
    """Every record of ``topic`` from the earliest offset, until the end of all partitions."""
    from confluent_kafka import Consumer, KafkaError, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
            "log_level": 3,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=30).topics[topic]
        partitions = [TopicPartition(topic, p, 0) for p in metadata.partitions]
        ends = {tp.partition: consumer.get_watermark_offsets(tp, timeout=30)[1] for tp in partitions}
        pending = {p for p, end in ends.items() if end > 0}
        consumer.assign(partitions)
        while pending:
            message = consumer.poll(idle_timeout_s)
            if message is None:
                raise TimeoutError(f"no record from {topic} within {idle_timeout_s}s; missing {pending}")
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    pending.discard(message.partition())
                    continue
                raise RuntimeError(f"consumer error on {topic}: {message.error()}")
            yield message
            if message.offset() + 1 >= ends[message.partition()]:
                pending.discard(message.partition())
    finally:
        consumer.close()


def end_offsets(bootstrap: str, topics: list[str]) -> dict[tuple[str, int], int]:
    """The end offset of every partition of ``topics`` (what a reader compares to see that nothing
    was written)."""
    from confluent_kafka import TopicPartition
    from confluent_kafka.admin import AdminClient, OffsetSpec

    admin = AdminClient({"bootstrap.servers": bootstrap})
    metadata = admin.list_topics(timeout=30).topics
    partitions = {TopicPartition(t, p): OffsetSpec.latest() for t in topics for p in metadata[t].partitions}
    return {(tp.topic, tp.partition): f.result().offset for tp, f in admin.list_offsets(partitions).items()}
