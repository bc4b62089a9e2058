"""Analyze the support tickets of one hour: land what is new in the source topic, then validate,
enrich, route, count and publish the hour from the landing zone.

    python -m ticket_etl.spark_submit --start 2026-11-28T04:00Z --end 2026-11-28T05:00Z --run-id manual-1

(``ticket_etl.spark_submit`` adds the connector jars, the job's modules and the Spark settings;
the arguments are those of :class:`ticket_etl.job_args.JobArguments`.)

The last line of its output is a JSON digest of the run (the DAG's ``analyze`` task returns it).

Exit codes: 0 success; 1 anything else (a Spark or broker failure: may be transient);
2 a data error that retrying cannot help: bad arguments, a bad rules file, an hour that has not
ended, outputs that do not reconcile, an hour that would shrink; 3 the source topic cannot be
read (it does not exist, or the broker does not answer); 4 another run is processing the same
hour (retry later).
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from ticket_etl import config
from ticket_etl.job_args import JobArguments
from ticket_etl.rules import RulesError, load_rules

EXIT_DATA_ERROR = 2
EXIT_SOURCE_ERROR = 3
EXIT_BUSY = 4
ERROR_PREFIX = "analyze_tickets: error: "


def build_config(args: JobArguments):  # -> JobConfig (Spark imports stay below)
    from ticket_analysis.config import JobConfig
    from ticket_analysis.enrichment import load_stopwords

    return JobConfig(
        job=args,
        rules=load_rules(args.rules, args.rules_digest),
        stopwords=load_stopwords(config.STOPWORDS_PATH),
    )


def digest(summary: dict[str, Any], output: str) -> dict[str, Any]:
    """What the run's last output line says (the asset events' figures)."""
    return {
        "interval": summary["interval"],
        "run_id": summary["run"]["run_id"],
        "location": output,
        "rules_version": summary["rules_version"],
        "totals": summary["totals"],
        "reconciliation": summary["reconciliation"],
        "published": summary["published"],
        "ingest": summary["ingest"],
        **({"shrunk_from": summary["shrunk_from"]} if "shrunk_from" in summary else {}),
    }


def fail(message: object, code: int) -> int:
    print(f"{ERROR_PREFIX}{message}", file=sys.stderr)
    return code


def describe(error: BaseException) -> str:
    """One line for an unexpected failure: its first line and the root cause Spark or the JVM
    reports (the whole trace is logged at DEBUG)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [repr(error)]
    causes = [line.removeprefix("Caused by: ") for line in lines if line.startswith("Caused by:")]
    if not causes and len(lines) > 1 and lines[1].startswith(": "):  # py4j: the Java exception
        causes = [lines[1].removeprefix(": ")]
    described = f"{type(error).__name__}: {lines[0][:500]}"
    return f"{described} (root cause: {causes[-1][:500]})" if causes else described


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=config.log_level(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = JobArguments.parse(argv)
    try:
        job_config = build_config(args)
    except (RulesError, ValueError) as error:
        return fail(error, EXIT_DATA_ERROR)

    from pyspark.sql import SparkSession

    from ticket_analysis.job import ShrinkRefused, run
    from ticket_analysis.publication import PublicationError
    from ticket_analysis.source import SourceError
    from ticket_analysis.storage import LockedError

    spark = SparkSession.builder.appName(f"analyze_tickets {job_config.interval.token}").getOrCreate()
    spark.sparkContext.setLogLevel("WARN" if config.log_level() != "DEBUG" else "INFO")
    try:
        summary = run(spark, job_config)
    except SourceError as error:
        return fail(error, EXIT_SOURCE_ERROR)
    except (ShrinkRefused, PublicationError) as error:
        return fail(error, EXIT_DATA_ERROR)
    except LockedError as error:
        return fail(f"another run is processing the hour {job_config.interval}: {error}", EXIT_BUSY)
    except Exception as error:
        logging.getLogger("analyze_tickets").debug("failure", exc_info=True)
        return fail(describe(error), 1)
    finally:
        spark.stop()
    print(json.dumps(digest(summary, job_config.job.output)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
