"""Analyze the support tickets of one interval: validate, enrich, route, count, publish.

    spark-submit --properties-file include/spark-defaults.conf \
        --jars <connector jars> spark_jobs/analyze_tickets.py \
        --start 2026-11-28T04:00Z --end 2026-11-28T05:00Z --run-id manual-1

Exit codes: 0 success, 2 bad arguments or bad rules file (a data error: retrying cannot
help), 1 anything else (broker unreachable, Spark failure: may be transient).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from ticket_etl import config
from ticket_etl.artifacts import Interval
from ticket_etl.rules import RulesError, load_rules

EXIT_DATA_ERROR = 2
EXIT_SOURCE_ERROR = 3


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Analyze the support tickets of one interval [start, end).")
    parser.add_argument("--start", required=True, help="interval start, ISO-8601 (UTC if no offset)")
    parser.add_argument("--end", required=True, help="interval end (exclusive), ISO-8601")
    parser.add_argument("--bootstrap-servers", default=config.kafka_broker(), help="default: KAFKA_BROKER")
    parser.add_argument("--topic", default=config.source_topic(), help="source topic, default: TOPIC_NAME")
    parser.add_argument("--dead-letter-topic", default=config.DEAD_LETTER_TOPIC)
    parser.add_argument(
        "--output", type=Path, default=config.stats_dir(), help="artifacts root (default stats/)"
    )
    parser.add_argument("--rules", type=Path, default=config.ROUTING_RULES_PATH, help="routing rules YAML")
    parser.add_argument("--run-id", required=True, help="identifies this run in artifacts and headers")
    parser.add_argument("--top-n", type=int, default=20, help="keywords kept per scope in word_frequency")
    parser.add_argument(
        "--max-records-per-task",
        type=int,
        help="Kafka records per Spark task, bounds a task's memory (default: 100000)",
    )
    parser.add_argument(
        "--no-kafka-output",
        dest="publish_to_kafka",
        action="store_false",
        help="do not write team topics and the dead-letter topic",
    )
    parser.add_argument(
        "--no-promote",
        dest="promote",
        action="store_false",
        help="leave the outputs staged (the DAG promotes them after validation)",
    )
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace):  # -> JobConfig (Spark imports stay below)
    from ticket_analysis.enrichment import load_stopwords
    from ticket_analysis.job import JobConfig
    from ticket_analysis.source import DEFAULT_MAX_RECORDS_PER_TASK

    if args.top_n < 1:
        raise ValueError("--top-n must be >= 1")
    max_records_per_task = (
        DEFAULT_MAX_RECORDS_PER_TASK if args.max_records_per_task is None else args.max_records_per_task
    )
    if max_records_per_task < 1:
        raise ValueError("--max-records-per-task must be >= 1")
    return JobConfig(
        interval=Interval.parse(args.start, args.end),
        bootstrap=args.bootstrap_servers,
        source_topic=args.topic,
        dead_letter_topic=args.dead_letter_topic,
        output=args.output.resolve(),
        run_id=args.run_id,
        rules=load_rules(args.rules),
        stopwords=load_stopwords(config.STOPWORDS_PATH),
        top_n=args.top_n,
        max_records_per_task=max_records_per_task,
        publish_to_kafka=args.publish_to_kafka,
        promote=args.promote,
    )


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=config.log_level(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    try:
        job_config = build_config(args)
    except (RulesError, ValueError) as error:
        print(f"analyze_tickets: error: {error}", file=sys.stderr)
        return EXIT_DATA_ERROR

    from pyspark.sql import SparkSession

    from ticket_analysis.job import run
    from ticket_analysis.source import SourceError

    spark = SparkSession.builder.appName(f"analyze_tickets {job_config.interval.token}").getOrCreate()
    spark.sparkContext.setLogLevel("WARN" if config.log_level() != "DEBUG" else "INFO")
    try:
        summary = run(spark, job_config)
    except SourceError as error:
        print(f"analyze_tickets: error: {error}", file=sys.stderr)
        return EXIT_SOURCE_ERROR
    finally:
        spark.stop()
    print(
        json.dumps(
            {
                "interval": summary["interval"],
                "totals": summary["totals"],
                "reconciliation": summary["reconciliation"],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
