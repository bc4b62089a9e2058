"""Floor of the Spark benchmark: read one interval exactly as the real job does, parse, count.

    spark-submit ... bench/floor_job.py --start S --end E --bootstrap-servers B --topic T

Nothing a job can avoid is left out (the same timestamp lookup and filter as
``ticket_analysis.source.read_interval``, the same JSON parsing with the ticket schema), and
nothing else is done: no validation, no enrichment, no output. Prints the count as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys

from ticket_etl.artifacts import Interval


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line: the interval, the broker and the topic."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", required=True, help="interval start, ISO-8601")
    parser.add_argument("--end", required=True, help="interval end (exclusive), ISO-8601")
    parser.add_argument("--bootstrap-servers", required=True)
    parser.add_argument("--topic", required=True)
    return parser.parse_args(argv)


def count_interval(spark, bootstrap: str, topic: str, interval: Interval) -> int:  # spark: SparkSession
    """Tickets of the interval whose value parses with the ticket schema (one Kafka read)."""
    from pyspark.sql import functions as F

    from ticket_analysis.source import read_interval
    from ticket_etl import schema

    tickets = read_interval(spark, bootstrap, topic, interval).select(
        F.from_json(F.col("value").cast("string"), schema.spark_schema()).alias("ticket")
    )
    return tickets.where(F.col("ticket.ticket_id").isNotNull()).count()


def main(argv: list[str] | None = None) -> int:
    """Count the interval and print ``{"interval": ..., "parsed": n}``."""
    args = parse_args(argv)
    interval = Interval.parse(args.start, args.end)
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName(f"bench_floor {interval.token}").getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    try:
        parsed = count_interval(spark, args.bootstrap_servers, args.topic, interval)
    finally:
        spark.stop()
    print(json.dumps({"interval": interval.as_dict(), "parsed": parsed}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
