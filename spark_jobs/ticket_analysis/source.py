"""Exact read of one interval from the source topic."""

from __future__ import annotations

import json
from typing import Any

from py4j.protocol import Py4JJavaError
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ticket_etl.interval import Interval
from ticket_etl.job_args import DEFAULT_MAX_RECORDS_PER_TASK

SOURCE_COLUMNS = ("key", "value", "headers", "partition", "offset", "timestamp")


class SourceError(RuntimeError):
    """The source topic cannot be read: it does not exist, or the broker does not answer."""


def latest_offsets(spark: SparkSession, bootstrap: str, topic: str) -> dict[int, int]:
    """The end offset of every partition of ``topic`` now, asked through the Kafka client of the
    driver's JVM (the connector's own kafka-clients, so this works wherever the job runs).

    Reading up to explicit offsets rather than ``latest`` pins the records of the run at one
    moment and lets the connector split large partitions into tasks (it cannot size a range
    whose end is still ``latest``).
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


def read_interval(
    spark: SparkSession,
    bootstrap: str,
    topic: str,
    interval: Interval,
    max_records_per_task: int = DEFAULT_MAX_RECORDS_PER_TASK,
) -> DataFrame:
    """Records whose Kafka timestamp lies in [start, end), whatever order they were produced in.

    Per partition, the timestamp lookup gives the earliest offset whose timestamp is >= start,
    so every record of the interval is at or after it; reading from there to the latest offsets
    and filtering on the timestamp is exact (reading up to an *ending timestamp* is not: a record
    of the interval written after the first one >= end would be missed). Partitions with no
    record >= start start at their end ("latest") instead of failing the read.

    The end offsets are read once, when the job starts (:func:`latest_offsets`); the offset
    ranges are split into tasks of at most ``max_records_per_task`` records, and into at least
    as many tasks as there are cores.
    """
    ends = {str(partition): offset for partition, offset in latest_offsets(spark, bootstrap, topic).items()}
    records = (
        spark.read.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("subscribe", topic)
        .option("startingTimestamp", str(interval.start_ms))
        .option("startingOffsetsByTimestampStrategy", "latest")
        .option("endingOffsets", json.dumps({topic: ends}))
        .option("includeHeaders", "true")
        .option("failOnDataLoss", "true")
        .option("minPartitions", str(spark.sparkContext.defaultParallelism))
        .option("maxRecordsPerPartition", str(max_records_per_task))
        .load()
    )
    in_interval = (F.unix_millis("timestamp") >= F.lit(interval.start_ms)) & (
        F.unix_millis("timestamp") < F.lit(interval.end_ms)
    )
    return records.where(in_interval).select(*SOURCE_COLUMNS)
