"""Analyze the support tickets of one hour: land what is new in the source topic, then validate,
enrich, route, count and publish the hour from the landing zone.

    python -m ticket_etl.spark_submit --start 2026-11-28T04:00Z --end 2026-11-28T05:00Z --run-id manual-1

(``ticket_etl.spark_submit`` adds the connector jars, the job's modules and the Spark settings;
the arguments are those of :class:`ticket_etl.job_args.JobArguments`.)

The job writes its run report to ``--report`` (:mod:`ticket_etl.job_contract`: exit codes, the
error line, the report); the DAG's ``analyze`` task reads it.
"""

from __future__ import annotations

import logging
import sys

from ticket_analysis.faults import fault_point
from ticket_etl import config, schema_registry
from ticket_etl.job_args import JobArguments, JobArgumentsError, report_path
from ticket_etl.job_contract import ERROR_PREFIX, ExitCode, RunReport, write_report
from ticket_etl.rules import RulesError, load_rules

log = logging.getLogger("analyze_tickets")


def build_config(args: JobArguments):  # -> JobConfig (Spark imports stay below)
    """Load what the arguments point at; the schema registry is read here, once per run."""
    from ticket_analysis.config import JobConfig
    from ticket_analysis.enrichment import load_stopwords
    from ticket_analysis.validation import Contract

    rules = load_rules(args.rules, args.rules_digest)
    snapshot = schema_registry.snapshot(args.schema_registry, args.schema_subject)
    log.info("schema %s: versions %s", snapshot.subject, {v.version: v.id for v in snapshot.versions})
    fault_point("schemas_read")
    return JobConfig(
        job=args,
        rules=rules,
        stopwords=load_stopwords(config.STOPWORDS_PATH),
        schemas=snapshot,
        contract=Contract.of_snapshot(snapshot),
    )


def describe(error: BaseException) -> str:
    """One line for an unexpected failure: its first line and the root cause Spark or the JVM
    reports (the whole trace is logged at DEBUG)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [repr(error)]
    causes = [line.removeprefix("Caused by: ") for line in lines if line.startswith("Caused by:")]
    if not causes and len(lines) > 1 and lines[1].startswith(": "):  # py4j: the Java exception
        causes = [lines[1].removeprefix(": ")]
    described = f"{type(error).__name__}: {lines[0][:500]}"
    return f"{described} (root cause: {causes[-1][:500]})" if causes else described


def run_job(args: JobArguments) -> RunReport:
    """One run, whatever happens: the report of what it published, or of why it stopped."""
    try:
        job_config = build_config(args)
    except schema_registry.RegistryError as error:
        return RunReport.failed(ExitCode.DATA_ERROR if error.refused else ExitCode.FAILURE, str(error))
    except (RulesError, ValueError) as error:
        return RunReport.failed(ExitCode.DATA_ERROR, str(error))

    from pyspark.sql import SparkSession

    from ticket_analysis.continuity import RecordsLost, SourceReplaced
    from ticket_analysis.job import ShrinkRefused, run
    from ticket_analysis.publication import PublicationError
    from ticket_analysis.rules_versions import RulesVersionConflict
    from ticket_analysis.source import SourceError
    from ticket_analysis.storage import LockedError

    spark = SparkSession.builder.appName(f"analyze_tickets {job_config.interval.token}").getOrCreate()
    spark.sparkContext.setLogLevel("WARN" if config.log_level() != "DEBUG" else "INFO")
    try:
        return RunReport.of_summary(run(spark, job_config), args.artifacts_root)
    except SourceError as error:
        return RunReport.failed(ExitCode.SOURCE_UNREADABLE, str(error))
    except (ShrinkRefused, PublicationError, SourceReplaced, RecordsLost, RulesVersionConflict) as error:
        return RunReport.failed(ExitCode.DATA_ERROR, str(error))
    except LockedError as error:
        message = f"another run is processing the hour {job_config.interval}: {error}"
        return RunReport.failed(ExitCode.BUSY, message)
    except Exception as error:
        log.debug("failure", exc_info=True)
        return RunReport.failed(ExitCode.FAILURE, describe(error))
    finally:
        spark.stop()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=config.log_level(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = JobArguments.parse(argv)
    except JobArgumentsError as error:
        report, report_to = (
            RunReport.failed(ExitCode.DATA_ERROR, f"bad arguments: {error}"),
            report_path(argv),
        )
    else:
        report, report_to = run_job(args), args.report
    if report_to is not None:
        write_report(report_to, report)
    if report.error is not None:
        print(f"{ERROR_PREFIX}{report.error}", file=sys.stderr)
    else:
        log.info("published the hour %s: %s", report.hour, report.totals)
    return int(report.exit_code)


if __name__ == "__main__":
    sys.exit(main())
