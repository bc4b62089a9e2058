"""Small, reusable Kafka client helpers (confluent-kafka) for tests, benchmarks and tasks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from confluent_kafka import Message


def create_topic(
    bootstrap: str, name: str, partitions: int = 3, config: dict[str, str] | None = None
) -> None:
    """Create one topic and wait for it (the admin client must outlive the future)."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, partitions, 1, config=config or {})])
    futures[name].result(30)


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
