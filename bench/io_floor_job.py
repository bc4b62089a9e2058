"""Floor (c) of the Spark benchmark: the I/O any correct job of this design must do (issue 25).

    spark-submit ... bench/io_floor_job.py <the job's arguments (ticket_etl.job_args)>

Reads the hour exactly as floor (b) does (``read_interval`` of ``bench/floor_job.py``), writes the raw
records as Parquet, reads them back, parses them with the ticket schema, writes the parsed tickets
as Parquet, and sends each parsed ticket once to one Kafka topic keyed by ``ticket_id`` (the
topic the ``--dead-letter-topic`` argument names: the benchmark gives each run a fresh one), with
the job's producer settings. No validation, de-duplication, enrichment or statistics. Writes under
``--output``; prints the count as JSON.
"""

from __future__ import annotations

import json
import sys

from floor_job import read_interval  # beside this file: spark-submit puts its folder on the path
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from ticket_analysis.sinks import PRODUCER_OPTIONS
from ticket_etl import schema
from ticket_etl.job_args import JobArguments


def io_floor(spark: SparkSession, args: JobArguments) -> int:
    """The floor's I/O for ``args.interval``; returns the tickets sent."""
    root = str(args.artifacts_root).rstrip("/")
    raw, parsed = f"{root}/io_floor/raw", f"{root}/io_floor/tickets"
    read = read_interval(spark, args.bootstrap, args.topic, args.interval, args.max_records_per_task)
    read.write.mode("overwrite").parquet(raw)
    ticket = F.from_json(F.col("value").cast("string"), schema.spark_schema()).alias("ticket")
    tickets = spark.read.parquet(raw).select(ticket).select("ticket.*").where(F.col("ticket_id").isNotNull())
    tickets.write.mode("overwrite").parquet(parsed)
    written = spark.read.parquet(parsed)
    records = written.select(
        F.col("ticket_id").cast("binary").alias("key"), F.to_json(F.struct(*written.columns)).alias("value")
    )
    writer = records.write.format("kafka").option("kafka.bootstrap.servers", args.bootstrap)
    for key, value in PRODUCER_OPTIONS.items():
        writer = writer.option(key, value)
    writer.option("topic", args.dead_letter_topic).save()
    return spark.read.parquet(parsed).count()


def main(argv: list[str] | None = None) -> int:
    """Run the floor and print ``{"interval": ..., "sent": n}``."""
    args = JobArguments.parse(argv)
    spark = SparkSession.builder.appName(f"bench_io_floor {args.interval.token}").getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    try:
        sent = io_floor(spark, args)
    finally:
        spark.stop()
    print(json.dumps({"interval": args.interval.as_dict(), "sent": sent}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
