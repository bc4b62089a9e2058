"""The source topic, as the job first sees it: it must exist and answer; its identity (Kafka's
topic id) and offsets tell whether it is the topic the landing zone was landed from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from py4j.protocol import Py4JJavaError
from pyspark.sql import SparkSession


class SourceError(RuntimeError):
    """The source topic cannot be read: it does not exist, or the broker does not answer."""


@dataclass(frozen=True)
class TopicState:
    """A topic now: its id (new with every creation of the topic) and, per partition, the first
    offset the broker still holds and the next offset it will write."""

    topic_id: str
    earliest: dict[int, int]
    latest: dict[int, int]


def latest_offsets(spark: SparkSession, bootstrap: str, topic: str) -> dict[int, int]:
    """The end offset of every partition of ``topic`` now (see :func:`topic_state`)."""
    return topic_state(spark, bootstrap, topic).latest


def topic_state(spark: SparkSession, bootstrap: str, topic: str) -> TopicState:
    """``topic``'s id and offsets, asked through the Kafka client of the driver's JVM (the
    connector's own kafka-clients, so this works wherever the job runs), or :class:`SourceError`
    naming the topic and the broker when it cannot be read. The job asks it first, before any
    lock or file is touched."""
    jvm = spark.sparkContext._jvm
    properties = jvm.java.util.Properties()
    properties.put("bootstrap.servers", bootstrap)
    admin = jvm.org.apache.kafka.clients.admin.Admin.create(properties)
    try:
        return _state(jvm, admin, topic)
    except Py4JJavaError as error:
        cause = error.java_exception.getCause() or error.java_exception
        raise SourceError(f"cannot read the end offsets of topic {topic!r} on {bootstrap}: {cause}") from None
    finally:
        admin.close()


def _state(jvm: Any, admin: Any, topic: str) -> TopicState:
    """The :class:`TopicState` through a JVM Kafka ``Admin`` (py4j objects)."""
    kafka = jvm.org.apache.kafka
    description = admin.describeTopics(jvm.java.util.Collections.singletonList(topic)).allTopicNames().get()
    description = description.get(topic)
    partitions = [kafka.common.TopicPartition(topic, p.partition()) for p in description.partitions()]

    def offsets(spec: Any) -> dict[int, int]:
        specs = jvm.java.util.HashMap()
        for partition in partitions:
            specs.put(partition, spec)
        listed = admin.listOffsets(specs).all().get()
        return {entry.getKey().partition(): entry.getValue().offset() for entry in listed.entrySet()}

    return TopicState(
        topic_id=description.topicId().toString(),
        earliest=offsets(kafka.clients.admin.OffsetSpec.earliest()),
        latest=offsets(kafka.clients.admin.OffsetSpec.latest()),
    )
