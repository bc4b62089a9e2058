"""Analyze the support tickets of one interval: validate, enrich, route, count, publish.

    python -m ticket_etl.spark_submit --start 2026-11-28T04:00Z --end 2026-11-28T05:00Z --run-id manual-1

(``ticket_etl.spark_submit`` adds the connector jars, the job's modules and the Spark settings;
the arguments are those of :class:`ticket_etl.job_args.JobArguments`.)

Exit codes: 0 success; 1 anything else (broker unreachable, Spark failure: may be transient);
2 bad arguments or bad rules file (a data error: retrying cannot help); 3 the source topic
cannot be read (it does not exist, or the broker does not answer).
"""

from __future__ import annotations

import json
import logging
import sys

from ticket_etl import config
from ticket_etl.job_args import JobArguments
from ticket_etl.rules import RulesError, load_rules

EXIT_DATA_ERROR = 2
EXIT_SOURCE_ERROR = 3


def build_config(args: JobArguments):  # -> JobConfig (Spark imports stay below)
    from ticket_analysis.enrichment import load_stopwords
    from ticket_analysis.job import JobConfig

    return JobConfig(
        interval=args.interval,
        bootstrap=args.bootstrap,
        source_topic=args.topic,
        dead_letter_topic=args.dead_letter_topic,
        output=args.output,
        run_id=args.run_id,
        rules=load_rules(args.rules),
        stopwords=load_stopwords(config.STOPWORDS_PATH),
        top_n=args.top_n,
        max_records_per_task=args.max_records_per_task,
        publish_to_kafka=args.publish_to_kafka,
        promote=args.promote,
    )


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=config.log_level(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = JobArguments.parse(argv)
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
