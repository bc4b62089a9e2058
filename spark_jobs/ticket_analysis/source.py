"""The source topic, as the job first sees it: it must exist and answer; its identity (Kafka's
topic id) and offsets tell whether it is the topic the landing zone was landed from."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from py4j.protocol import Py4JJavaError
from pyspark.sql import SparkSession

T = TypeVar("T")


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
    return _with_admin(
        spark, bootstrap, topic, lambda jvm, admin: _offsets(jvm, admin, [topic], "latest")[topic]
    )


def topic_state(spark: SparkSession, bootstrap: str, topic: str) -> TopicState:
    """``topic``'s id and offsets, asked through the Kafka client of the driver's JVM (the
    connector's own kafka-clients, so this works wherever the job runs), or :class:`SourceError`
    naming the topic and the broker when it cannot be read. The job asks it first, before any
    lock or file is touched."""
    return _with_admin(spark, bootstrap, topic, lambda jvm, admin: _state(jvm, admin, topic))


def end_offsets(spark: SparkSession, bootstrap: str, topics: Iterable[str]) -> dict[str, int]:
    """Per topic, the sum of its partitions' end offsets (one admin client, two requests for all)."""
    topics = list(topics)
    return _with_admin(
        spark,
        bootstrap,
        ", ".join(topics),
        lambda jvm, admin: {
            topic: sum(offsets.values()) for topic, offsets in _offsets(jvm, admin, topics, "latest").items()
        },
    )


def _with_admin(spark: SparkSession, bootstrap: str, what: str, ask: Callable[[Any, Any], T]) -> T:
    """``ask(jvm, admin)`` with a JVM Kafka ``Admin`` of ``bootstrap``, closed after;
    :class:`SourceError` naming ``what`` and the broker when the broker cannot answer."""
    jvm = spark.sparkContext._jvm
    properties = jvm.java.util.Properties()
    properties.put("bootstrap.servers", bootstrap)
    admin = jvm.org.apache.kafka.clients.admin.Admin.create(properties)
    try:
        return ask(jvm, admin)
    except Py4JJavaError as error:
        cause = error.java_exception.getCause() or error.java_exception
        raise SourceError(f"cannot read the end offsets of topic {what!r} on {bootstrap}: {cause}") from None
    finally:
        admin.close()


def _offsets(
    jvm: Any, admin: Any, topics: list[str], which: str, described: dict[str, Any] | None = None
) -> dict[str, dict[int, int]]:
    """``{topic: {partition: offset}}`` of ``topics``, ``which`` being ``"earliest"`` or
    ``"latest"``: one request for all (and one to describe them, unless ``described``)."""
    if not topics:
        return {}
    kafka = jvm.org.apache.kafka
    described = described or _describe(jvm, admin, topics)
    spec = getattr(kafka.clients.admin.OffsetSpec, which)()
    specs = jvm.java.util.HashMap()
    for topic in topics:
        for partition in described[topic].partitions():
            specs.put(kafka.common.TopicPartition(topic, partition.partition()), spec)
    offsets: dict[str, dict[int, int]] = {topic: {} for topic in topics}
    for entry in admin.listOffsets(specs).all().get().entrySet():
        position = entry.getKey()
        offsets[position.topic()][position.partition()] = entry.getValue().offset()
    return offsets


def _describe(jvm: Any, admin: Any, topics: list[str]) -> dict[str, Any]:
    """The JVM ``TopicDescription`` of each of ``topics`` (one request)."""
    names = jvm.java.util.ArrayList()
    for topic in topics:
        names.add(topic)
    described = admin.describeTopics(names).allTopicNames().get()
    return {topic: described.get(topic) for topic in topics}


def _state(jvm: Any, admin: Any, topic: str) -> TopicState:
    """The :class:`TopicState` through a JVM Kafka ``Admin`` (py4j objects)."""
    described = _describe(jvm, admin, [topic])
    return TopicState(
        topic_id=described[topic].topicId().toString(),
        earliest=_offsets(jvm, admin, [topic], "earliest", described)[topic],
        latest=_offsets(jvm, admin, [topic], "latest", described)[topic],
    )
