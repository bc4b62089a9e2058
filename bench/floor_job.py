"""Floor of the Spark benchmark: read one interval exactly as the real job does, parse, count.

    spark-submit ... bench/floor_job.py <the job's arguments (ticket_etl.job_args)>

Nothing a job can avoid is left out (the same timestamp lookup and filter as
``ticket_analysis.source.read_interval``, the same JSON parsing with the ticket schema), and
nothing else is done: no validation, no enrichment, no output. Prints the count as JSON.
"""

from __future__ import annotations

import json
import sys

from ticket_etl.interval import Interval
from ticket_etl.job_args import JobArguments


def count_interval(spark, bootstrap: str, topic: str, interval: Interval, max_records_per_task: int) -> int:
    """Tickets of the interval whose value parses with the ticket schema (one Kafka read)."""
    from pyspark.sql import functions as F

    from ticket_analysis.source import read_interval
    from ticket_etl import schema

    tickets = read_interval(spark, bootstrap, topic, interval, max_records_per_task).select(
        F.from_json(F.col("value").cast("string"), schema.spark_schema()).alias("ticket")
    )
    return tickets.where(F.col("ticket.ticket_id").isNotNull()).count()


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
