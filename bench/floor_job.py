"""Floor of the Spark benchmark: read one hour's records from Kafka, parse them, count them.

    spark-submit ... bench/floor_job.py <the job's arguments (ticket_etl.job_args)>

The least a job must do for an hour: read its records by timestamp (:func:`read_interval`) and
parse them with the ticket schema. The real job does more with the same records (it lands what is
new in the topic, then reads the hour from the landing zone); this floor writes nothing.
Prints the count as JSON.
"""

from __future__ import annotations

import json
import sys

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ticket_analysis.landing import SOURCE_COLUMNS
from ticket_analysis.source import latest_offsets
from ticket_etl.interval import Interval
from ticket_etl.job_args import JobArguments


def count_interval(spark, bootstrap: str, topic: str, interval: Interval, max_records_per_task: int) -> int:
    """Tickets of the interval whose value parses with the ticket schema (one Kafka read)."""
    from pyspark.sql import functions as F

    from ticket_etl import schema

    tickets = read_interval(spark, bootstrap, topic, interval, max_records_per_task).select(
        F.from_json(F.col("value").cast("string"), schema.spark_schema()).alias("ticket")
    )
    return tickets.where(F.col("ticket.ticket_id").isNotNull()).count()


def read_interval(
    spark: SparkSession,
    bootstrap: str,
    topic: str,
    interval: Interval,
    max_records_per_task: int,
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


def main(argv: list[str] | None = None) -> int:
    """Count the interval and print ``{"interval": ..., "parsed": n}`` (the job's arguments that
    say what to read are used; the others are ignored)."""
    args = JobArguments.parse(argv)
    interval = args.interval
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName(f"bench_floor {interval.token}").getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    try:
        parsed = count_interval(spark, args.bootstrap, args.topic, interval, args.max_records_per_task)
    finally:
        spark.stop()
    print(json.dumps({"interval": interval.as_dict(), "parsed": parsed}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
