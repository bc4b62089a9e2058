"""Exact read of one interval from the source topic."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ticket_etl.artifacts import Interval

SOURCE_COLUMNS = ("key", "value", "headers", "partition", "offset", "timestamp")


def read_interval(spark: SparkSession, bootstrap: str, topic: str, interval: Interval) -> DataFrame:
    """Records whose Kafka timestamp lies in [start, end), whatever order they were produced in.

    Per partition, the timestamp lookup gives the earliest offset whose timestamp is >= start,
    so every record of the interval is at or after it; reading from there to the latest offsets
    and filtering on the timestamp is exact (reading up to an *ending timestamp* is not: a record
    of the interval written after the first one >= end would be missed). Partitions with no
    record >= start start at their end ("latest") instead of failing the read.
    """
    records = (
        spark.read.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("subscribe", topic)
        .option("startingTimestamp", str(interval.start_ms))
        .option("startingOffsetsByTimestampStrategy", "latest")
        .option("endingOffsets", "latest")
        .option("includeHeaders", "true")
        .option("failOnDataLoss", "true")
        .load()
    )
    in_interval = (F.unix_millis("timestamp") >= F.lit(interval.start_ms)) & (
        F.unix_millis("timestamp") < F.lit(interval.end_ms)
    )
    return records.where(in_interval).select(*SOURCE_COLUMNS)
