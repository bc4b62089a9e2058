"""The source topic, as the job first sees it: it must exist and answer."""

from __future__ import annotations

from typing import Any

from py4j.protocol import Py4JJavaError
from pyspark.sql import SparkSession


class SourceError(RuntimeError):
    """The source topic cannot be read: it does not exist, or the broker does not answer."""


def latest_offsets(spark: SparkSession, bootstrap: str, topic: str) -> dict[int, int]:
    """The end offset of every partition of ``topic`` now, asked through the Kafka client of the
    driver's JVM (the connector's own kafka-clients, so this works wherever the job runs), or
    :class:`SourceError` naming the topic and the broker when it cannot be read. The job asks it
    first, before any lock or file is touched.
    """
    jvm = spark.sparkContext._jvm
    kafka = jvm.org.apache.kafka
    properties = jvm.java.util.Properties()
    properties.put("bootstrap.servers", bootstrap)
    admin = kafka.clients.admin.Admin.create(properties)
    try:
        return _end_offsets(jvm, admin, topic)
    except Py4JJavaError as error:
        cause = error.java_exception.getCause() or error.java_exception
        raise SourceError(f"cannot read the end offsets of topic {topic!r} on {bootstrap}: {cause}") from None
    finally:
        admin.close()


def _end_offsets(jvm: Any, admin: Any, topic: str) -> dict[int, int]:
    """``{partition: end offset}`` through a JVM Kafka ``Admin`` (py4j objects)."""
    kafka = jvm.org.apache.kafka
    topics = admin.describeTopics(jvm.java.util.Collections.singletonList(topic)).allTopicNames().get()
    specs = jvm.java.util.HashMap()
    for partition in topics.get(topic).partitions():
        specs.put(
            kafka.common.TopicPartition(topic, partition.partition()),
            kafka.clients.admin.OffsetSpec.latest(),
        )
    listed = admin.listOffsets(specs).all().get()
    return {entry.getKey().partition(): entry.getValue().offset() for entry in listed.entrySet()}
